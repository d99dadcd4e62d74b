// Package audit keeps wsx's append-only, hash-chained audit log: one
// [Record] per event (a secret created, used, denied, the store locked...),
// saying which secret, which process and which file or repository, and
// never a value or a hash of a value.
//
// # File format
//
// The log is a file of JSON lines, one record per line, each line ended by
// "\n" and at most [MaxLineSize] bytes. A line is the encoding/json encoding
// of a Record, with its fields in the struct's order, so "mac" is the last
// key and every line ends with
//
//	,"mac":"<64 lowercase hex digits>"}
//
// Records are numbered from 1 by Seq, without gaps. Two values chain and
// seal them:
//
//   - Prev is the lowercase hex SHA-256 of the previous line's bytes,
//     without its "\n"; "" for the first record.
//   - MAC is the lowercase hex HMAC-SHA256, keyed by the 32-byte audit key
//     of the store, of the line's bytes with the 64 hex digits of the mac
//     value removed: the line as it reads with MAC set to "" (ending
//     `"mac":""}`), without its "\n". Append computes it over exactly those
//     bytes and splices the digits in; Verify recomputes it from the line
//     read, never from a re-encoding, so any changed byte shows.
//
// The MAC stops someone who can write the file but does not hold the key
// from forging or editing records; the chain (Seq and Prev) shows a
// deleted, reordered or duplicated record. Truncating the end of the log
// cannot be detected from the file alone.
//
// # Appending
//
// [Log.Append] is safe from several goroutines and several processes at
// once. Under an exclusive flock(2) on the file it reads the tail to find
// the last complete record (its Seq, and the hash of its line for Prev),
// writes the new line with a single write(2) on the O_APPEND descriptor,
// fsyncs, and unlocks. Each Append checks that the path still names the
// open file, and reopens it if the log was moved or removed, so records
// never go to an unlinked file.
//
// An Append that finds the file as its Log's last append left it (same
// file, same size) chains from what it remembers instead of reading the
// tail again. Every line is parsed back with the strict parser before it
// is written (so no line a reader would refuse is ever written, and Append
// returns the record as a reader reads it); that happens before the lock
// is taken, and once for records that differ only in their time.
//
// Group commit (Options.SyncDelay, used by the daemon, which signs at a
// rate no disk could fsync at) splits the two steps: Append returns once
// its line is written, which is before the secret is released, and one
// background fsync at most SyncDelay later covers every line written
// meanwhile; [Log.Sync] forces it. A crash of the process loses nothing
// written; a crash of the machine may lose the last SyncDelay of records.
// A failed fsync fails every later Append until an fsync succeeds.
//
// Append fails closed: when the record cannot be written and synced it
// returns an error wrapping [ErrUnavailable] ("audit unavailable: ..."),
// removes what it may have written, and callers must then not release the
// secret. A later Append succeeds again once the file is writable.
//
// A process killed during an append can leave a last line without "\n".
// [Verify] reports that as Incomplete, which is not tampering, and
// [ReadRecords] skips it; the next Append truncates the partial line (under
// the lock) and chains from the last complete record. A batch
// ([Log.AppendAll]) cut so keeps the records it wrote whole, and a last
// record that lacks only its "\n" is whole: it is kept, and the next
// Append adds the "\n".
//
// # Context capture
//
// [ProcessInfo] reads the caller's pid, ppid, executable, argv, cwd and
// start time from /proc; [MaskArgv] masks secret values in argv before it
// is recorded; [GitContext] finds the git repository, origin remote (with
// credentials removed), branch and commit of a directory.
package audit
