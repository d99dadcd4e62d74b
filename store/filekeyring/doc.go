// Package filekeyring is wsx's default persistence backend: a directory of
// files behind the github.com/99designs/keyring Keyring interface.
//
// # Model
//
// A Keyring is a directory that only its owner may enter (mode 0700, owned by
// the effective uid, not a symbolic link). Each item is one regular file,
// <dir>/<key>.wsx, mode 0600, whose bytes are exactly Item.Data. The package
// stores opaque bytes and does no cryptography: package store seals every
// item before it reaches Set. Only Key and Data are persisted; Label and
// Description are not, and GetMetadata reports the key and the file's
// modification time.
//
// Key names match [A-Za-z0-9_][A-Za-z0-9_.-]* and are at most MaxKeyLen bytes,
// so a key can never name a path outside the directory, a hidden file, or a
// temporary file. Items are at most MaxItemSize bytes and never empty, so
// memory is bounded on read and an empty file is recognisably damaged.
//
// # Writes
//
// Set writes a temporary file in the same directory (created with O_EXCL,
// mode 0600, named ".tmp-" followed by random hex), holds an exclusive flock
// on it while writing, fsyncs it, renames it over the item and fsyncs the
// directory. A reader therefore sees the old value or the new one, never a
// torn or empty file, and a failed write (disk full, read-only file system)
// removes its temporary file and leaves the old value in place. Remove unlinks
// the item and fsyncs the directory.
//
// A writer killed mid-write leaves its temporary file behind. Open removes
// such files, but only those whose flock it can take without waiting: the
// temporary file of a live writer, in this process or another, is locked and
// is left alone.
//
// # Reads and foreign files
//
// Every operation reopens the directory with O_NOFOLLOW and checks its owner
// and mode again, then works relative to that descriptor. Get and GetMetadata
// refuse an item that is a symbolic link, not a regular file, owned by another
// uid, or open to group or other, with an error that names the file and the
// fix; they never open a FIFO or device. Keys lists only regular files owned by
// the effective uid whose names are valid keys with the .wsx suffix, and
// silently ignores everything else (README files, subdirectories, links,
// FIFOs, temporary files) without opening it.
//
// Errors wrap ErrUnsafe, ErrTooLarge or ErrEmpty where callers
// may branch, and keyring.ErrKeyNotFound for a missing item. They name keys
// and paths, never item contents.
package filekeyring
