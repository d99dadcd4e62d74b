package audit

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"
)

// KeySize is the size of the MAC key.
const KeySize = 32

// Limits Append applies to the fields a caller takes from the outside, so a
// huge command line cannot make a record too large to write.
const (
	maxArgs     = 64   // argv elements kept; the rest are summarised
	maxArgLen   = 1024 // bytes kept of each argv element
	maxFieldLen = 1024 // bytes kept of Context.Command and Detail
)

// Errors callers branch on.
var (
	// ErrUnavailable is wrapped by every error of Append and Open that
	// means the record could not be made durable: the caller must not
	// release the secret.
	ErrUnavailable = errors.New("audit unavailable")
	// ErrInvalidRecord is wrapped when a record given to Append is not
	// valid (unknown event, via or result, or too large).
	ErrInvalidRecord = errors.New("invalid audit record")
)

// errBadKey is returned for a MAC key that is not KeySize bytes.
var errBadKey = errors.New("audit key must be 32 bytes")

// Options tune a Log.
type Options struct {
	// Now is the clock for records given without a time; time.Now when nil.
	Now func() time.Time
	// SyncDelay, when positive, turns on group commit: Append returns once
	// its line is written (one write(2) on the O_APPEND descriptor, so the
	// record outlives the process at once), and a single fsync, at most
	// SyncDelay later, makes every line written meanwhile durable. Sync
	// forces it. After a failed fsync every Append fails with
	// ErrUnavailable until an fsync succeeds again. Zero means that each
	// Append fsyncs before it returns.
	SyncDelay time.Duration
}

// Log appends records to an audit log file. Its methods are safe for
// concurrent use, and several processes may append to the same file.
type Log struct {
	path      string
	key       []byte
	now       func() time.Time
	syncDelay time.Duration

	mu     sync.Mutex
	f      *os.File // nil after a failure: the next Append reopens the path
	closed bool
	tail   tail // the end of the file after this Log's last append

	// Group commit state: lines written by this Log, lines known durable,
	// the error of the last failed fsync, the pending background fsync.
	written, synced uint64
	syncErr         error
	timer           *time.Timer

	fsync func(*os.File) error // syncFile; tests inject failures
	mac   hash.Hash            // HMAC-SHA256 under key, reused under mu
	buf   []byte               // the lines of the last batch, reused under mu

	memo parseMemo
}

// parseMemo remembers records prepare parsed back, keyed by their line
// without the values of time and mac (the parts that change between the
// records of one caller), so a caller that appends alike records (the
// agent, once per signature) pays for the strict parse once.
type parseMemo struct {
	mu sync.Mutex
	m  map[string]Record
}

// memoSize bounds the records a parseMemo keeps.
const memoSize = 64

// tail remembers where this Log's last append left the file, so the next
// append, finding the file as it was left (same file, same size), chains
// from it without reading the file again.
type tail struct {
	fi   os.FileInfo // nil: unknown
	size int64
	seq  uint64
	hash string
}

// Open opens (creating it 0600, and its directory 0700, if missing) the
// audit log at path. key is the 32-byte MAC key.
func Open(path string, key []byte) (*Log, error) {
	return OpenWith(path, key, Options{})
}

// OpenWith is Open with options.
func OpenWith(path string, key []byte, opts Options) (*Log, error) {
	if len(key) != KeySize {
		return nil, errBadKey
	}
	l := &Log{path: path, key: bytes.Clone(key), now: opts.Now, syncDelay: opts.SyncDelay, fsync: syncFile}
	if l.now == nil {
		l.now = time.Now
	}
	f, err := openFile(path)
	if err != nil {
		return nil, err
	}
	l.f = f
	return l, nil
}

// Path returns the path of the log file.
func (l *Log) Path() string { return l.path }

// Close makes the records appended so far durable and closes the file.
// Append fails after Close.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	if l.timer != nil {
		l.timer.Stop()
		l.timer = nil
	}
	err := l.syncLocked()
	if l.f != nil {
		if cerr := l.f.Close(); err == nil {
			err = cerr
		}
		l.f = nil
	}
	clear(l.key)
	l.mac, l.buf = nil, nil
	return err
}

// Sync makes every record this Log appended durable, with one fsync for
// all of them. Without group commit, Append already did.
func (l *Log) Sync() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	return l.syncLocked()
}

// syncLocked fsyncs the open file when lines are pending or the last
// fsync failed; l.mu is held.
func (l *Log) syncLocked() error {
	if l.written == l.synced && l.syncErr == nil {
		return nil
	}
	if l.f == nil {
		f, err := openFile(l.path)
		if err != nil {
			return err
		}
		l.f = f
	}
	if err := l.fsync(l.f); err != nil {
		l.syncErr = fmt.Errorf("%w: sync %s: %w", ErrUnavailable, l.path, err)
		return l.syncErr
	}
	l.synced, l.syncErr = l.written, nil
	return nil
}

// backgroundSync is group commit's fsync, run by a timer after the first
// append that found none pending. It fsyncs without holding l.mu, so
// appends go on meanwhile; the lines written before it started are then
// durable.
func (l *Log) backgroundSync() {
	l.mu.Lock()
	l.timer = nil
	f, target := l.f, l.written
	if l.closed || f == nil || target == l.synced {
		l.mu.Unlock()
		return
	}
	l.mu.Unlock()
	err := l.fsync(f) // the descriptor stays open meanwhile, see syncFile
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		if l.syncErr == nil {
			l.syncErr = fmt.Errorf("%w: sync %s: %w", ErrUnavailable, l.path, err)
		}
		return
	}
	if target > l.synced {
		l.synced = target
	}
}

// Append writes r as the next record and returns it as written. It fills
// Seq, Prev and MAC, and Time from the clock when r.Time is zero; times are
// stored in UTC. Argv elements past 64 and bytes past 1 KiB in an argv
// element, in Context.Command or in Detail are cut (marked "..."). The
// caller must already have masked secret values (MaskArgv). An error
// wrapping ErrUnavailable means nothing was recorded: do not release the
// secret.
func (l *Log) Append(r Record) (Record, error) {
	out, err := l.AppendAll([]Record{r})
	if err != nil {
		return Record{}, err
	}
	return out[0], nil
}

// AppendAll appends rs in order, as Append appends each, under one lock
// of the file and with one write(2) (and, without group commit, one
// fsync) for them all. On an error none of rs is appended. A process
// killed inside that write(2) (the kernel may stop a large one part way)
// leaves the records of rs written whole before the cut: they stay in the
// log, recording uses that may not have happened, and the next append
// chains from the last of them.
//
// The records given without a time get one time, the batch's. A record
// that differs from the one before it only in its secret's name (the
// records of one use) is prepared from that one's encoding; the records
// returned may then share their Process and Context.
func (l *Log) AppendAll(rs []Record) ([]Record, error) {
	ps := make([]prepared, len(rs))
	var now time.Time
	for i, r := range rs {
		if r.Time.IsZero() {
			if now.IsZero() {
				now = l.now()
			}
			r.Time = now
		}
		if i > 0 {
			if p, ok := ps[i-1].rename(r); ok {
				ps[i] = p
				continue
			}
		}
		var err error
		if ps[i], err = l.prepare(r); err != nil {
			return nil, err
		}
		ps[i].in = r
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, fmt.Errorf("%w: %s: %w", ErrUnavailable, l.path, os.ErrClosed)
	}
	if l.syncErr != nil {
		// The last fsync failed: no new record until one succeeds.
		if err := l.syncLocked(); err != nil {
			return nil, err
		}
	}
	f, fi, err := l.acquire()
	if err != nil {
		return nil, err
	}
	out, err := l.appendLocked(f, fi, ps, l.syncDelay <= 0)
	funlock(f)
	if err != nil {
		l.drop() // syncs what was written before
		return nil, err
	}
	if l.syncDelay > 0 {
		l.written += uint64(len(out))
		if l.timer == nil {
			l.timer = time.AfterFunc(l.syncDelay, l.backgroundSync)
		}
	}
	return out, nil
}

// prepared is a record ready to append: the record, as a reader will
// parse it back, and its encoding with mac "" for the longest seq and a
// prev of full length (probeSeq, probePrev), into which appendLocked puts
// the real seq and prev.
type prepared struct {
	in, seen Record // as given (with its time), as parsed back
	tmpl     []byte
}

// rename returns the record next prepared, when next is the record p was
// prepared from with another secret's name: p with that name in its
// encoding and its parsed-back record. Names of letters, digits and
// _ (every secret's) are written by JSON as they are, and read back so.
func (p prepared) rename(next Record) (prepared, bool) {
	if !plainName(p.in.Secret) || !plainName(next.Secret) || !alike(p.in, next) {
		return prepared{}, false
	}
	t, err := next.Time.Round(0).UTC().MarshalJSON()
	if err != nil {
		return prepared{}, false
	}
	head := make([]byte, 0, 128)
	head = append(head, tmplHead...)
	head = append(head, `"time":`...)
	head = append(head, t...)
	head = append(head, `,"event":"`...)
	head = append(head, next.Event...)
	head = append(head, `","secret":"`...)
	old := append(append(head, p.in.Secret...), `",`...)
	if !bytes.HasPrefix(p.tmpl, old) {
		return prepared{}, false
	}
	tmpl := make([]byte, 0, len(p.tmpl)-len(p.in.Secret)+len(next.Secret))
	tmpl = append(tmpl, head...)
	tmpl = append(tmpl, next.Secret...)
	tmpl = append(tmpl, p.tmpl[len(old)-2:]...)
	seen := p.seen
	seen.Secret = next.Secret
	return prepared{in: next, seen: seen, tmpl: tmpl}, true
}

// alike reports whether a and b are the same record but for the secret:
// every field compared, those Process and Context point to included.
func alike(a, b Record) bool {
	a.Secret = b.Secret
	return reflect.DeepEqual(a, b)
}

// The seq and prev a record is prepared with: if its line fits, the real
// one does.
const probeSeq = uint64(math.MaxUint64)

var (
	probePrev = strings.Repeat("0", 64)
	tmplHead  = []byte(`{"seq":18446744073709551615,`)
	tmplTail  = []byte(`,"prev":"` + probePrev + `","mac":""}`)
)

// prepare copies r (its time set by AppendAll) so the caller's Process and Context are not shared,
// shortens over-long fields and checks what the caller chose. It also
// finds the record as a reader will parse it back (encoding/json
// replaces invalid UTF-8), from a line that differs from the one Append
// writes only in seq, prev and mac: a line the strict parser refuses is
// never written, and this costly check is done before taking the lock.
func (l *Log) prepare(r Record) (prepared, error) {
	r.Time = r.Time.Round(0).UTC()
	r.Seq, r.Prev, r.MAC = 1, "", ""
	if r.Process != nil {
		p := *r.Process
		p.Argv = clampArgv(p.Argv)
		r.Process = &p
	}
	if r.Context != nil {
		c := *r.Context
		c.Command = clamp(c.Command, maxFieldLen)
		r.Context = &c
	}
	r.Detail = clamp(r.Detail, maxFieldLen)
	if err := validate(r); err != nil {
		return prepared{}, fmt.Errorf("%w: %w", ErrInvalidRecord, err)
	}
	probe := r
	probe.Seq, probe.Prev = probeSeq, probePrev
	b, err := marshal(&probe)
	if err != nil {
		return prepared{}, err
	}
	if !bytes.HasPrefix(b, tmplHead) || !bytes.HasSuffix(b, tmplTail) {
		return prepared{}, fmt.Errorf("%w: encoding does not start with seq or end with prev and mac", ErrInvalidRecord)
	}
	// The line with a MAC of the right shape: parsing it back does not
	// depend on the MAC's value, which appendLocked computes.
	probe.MAC = probePrev
	line := make([]byte, 0, len(b)+len(probe.MAC)+1)
	line = append(line, b[:len(b)-2]...)
	line = append(line, probe.MAC...)
	line = append(line, "\"}\n"...)
	seen, err := l.parseBack(line, probe)
	if err != nil {
		return prepared{}, fmt.Errorf("%w: %w", ErrInvalidRecord, err)
	}
	return prepared{seen: seen, tmpl: b}, nil
}

// parseBack parses line (of record probe) as a reader will, or takes the
// answer from the memo when a line equal but for time and mac was parsed
// before: then the record differs from that one in Time and MAC only.
func (l *Log) parseBack(line []byte, probe Record) (Record, error) {
	key, ok := memoKey(line, probe)
	if ok {
		l.memo.mu.Lock()
		rec, hit := l.memo.m[key]
		l.memo.mu.Unlock()
		if hit {
			rec = cloneRecord(rec)
			rec.Time, rec.MAC = probe.Time, probe.MAC
			if plainName(probe.Secret) {
				rec.Secret = probe.Secret
			}
			return rec, nil
		}
	}
	rec, err := ParseRecord(line[:len(line)-1])
	if err != nil {
		return Record{}, err
	}
	if ok {
		l.memo.mu.Lock()
		if l.memo.m == nil || len(l.memo.m) >= memoSize {
			l.memo.m = make(map[string]Record, memoSize)
		}
		l.memo.m[key] = cloneRecord(rec)
		l.memo.mu.Unlock()
	}
	return rec, nil
}

// memoKey is line without the values of time and mac, and without the
// secret's name when it is plainName, which JSON writes and reads back
// as it is: the records of one use of many secrets are parsed once.
func memoKey(line []byte, probe Record) (string, bool) {
	const timeKey = `,"time":"`
	i := bytes.Index(line, []byte(timeKey))
	if i < 0 {
		return "", false
	}
	start := i + len(timeKey)
	n := bytes.IndexByte(line[start:], '"')
	macStart := len(line) - len("\"}\n") - 64
	if n < 0 || start+n > macStart || !bytes.HasSuffix(line[:macStart], []byte(macField)) {
		return "", false
	}
	rest := line[start+n : macStart]
	if plainName(probe.Secret) {
		head := `","event":"` + string(probe.Event) + `","secret":"`
		if named := head + probe.Secret + `"`; bytes.HasPrefix(rest, []byte(named)) {
			return string(line[:start]) + head + `"` + string(rest[len(named):]), true
		}
	}
	return string(line[:start]) + string(rest), true
}

// plainName says s is a name of letters, digits and _ (as every secret's
// name is), which JSON writes and reads back unchanged.
func plainName(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '_' && (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// cloneRecord copies r and what its pointers hold.
func cloneRecord(r Record) Record {
	if r.Process != nil {
		p := *r.Process
		p.Argv = append([]string(nil), p.Argv...)
		r.Process = &p
	}
	if r.Context != nil {
		c := *r.Context
		r.Context = &c
	}
	return r
}

func clampArgv(argv []string) []string {
	if argv == nil {
		return nil
	}
	n := min(len(argv), maxArgs)
	out := make([]string, 0, n)
	for i := range n {
		if i == maxArgs-1 && len(argv) > maxArgs {
			out = append(out, fmt.Sprintf("... (%d more)", len(argv)-i))
			break
		}
		out = append(out, clamp(argv[i], maxArgLen))
	}
	return out
}

// clamp cuts s to at most n bytes on a rune boundary, ending it with "...".
func clamp(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - 3
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// acquire returns the open log file, locked, after checking that the path
// still names it, and the file's stat taken under the lock; it reopens
// the path when the file was moved or removed.
func (l *Log) acquire() (*os.File, os.FileInfo, error) {
	for range 3 {
		if l.f == nil {
			f, err := openFile(l.path)
			if err != nil {
				return nil, nil, err
			}
			l.f = f
		}
		if err := flock(l.f, unix.LOCK_EX); err != nil {
			l.drop()
			return nil, nil, fmt.Errorf("%w: lock %s: %w", ErrUnavailable, l.path, err)
		}
		fi, err := l.current()
		if err != nil {
			funlock(l.f)
			l.drop()
			return nil, nil, err
		}
		if fi != nil {
			return l.f, fi, nil
		}
		funlock(l.f)
		l.drop()
	}
	return nil, nil, fmt.Errorf("%w: %s keeps being replaced", ErrUnavailable, l.path)
}

// current returns the open file's stat when the path still names it (nil
// when it does not), and checks the file's type, owner and mode again.
func (l *Log) current() (os.FileInfo, error) {
	fi, err := l.f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%w: stat %s: %w", ErrUnavailable, l.path, err)
	}
	if err := checkFile(l.path, fi); err != nil {
		return nil, err
	}
	pi, err := os.Lstat(l.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: stat %s: %w", ErrUnavailable, l.path, err)
	}
	if !os.SameFile(fi, pi) {
		return nil, nil
	}
	return fi, nil
}

// drop closes the open file, so the next Append opens the path again.
// Lines written to it that are not yet durable are synced first.
func (l *Log) drop() {
	l.tail = tail{}
	if l.f == nil {
		return
	}
	if l.written != l.synced {
		if err := l.fsync(l.f); err != nil {
			if l.syncErr == nil {
				l.syncErr = fmt.Errorf("%w: sync %s: %w", ErrUnavailable, l.path, err)
			}
		} else {
			l.synced = l.written
		}
	}
	l.f.Close()
	l.f = nil
}

// appendLocked does the work of AppendAll with the file locked: it
// chains ps after the file's last record, writes their lines with one
// write(2), and fsyncs them when sync is set. fi is f's stat taken under
// the lock.
func (l *Log) appendLocked(f *os.File, fi os.FileInfo, ps []prepared, sync bool) ([]Record, error) {
	size := fi.Size()
	end := size
	newline := false // the kept last record needs its "\n" before ours
	var seq uint64
	var prev string
	if t := l.tail; t.fi != nil && t.size == size && os.SameFile(t.fi, fi) {
		// Nobody appended since our last record.
		seq, prev = t.seq, t.hash
	} else {
		var last []byte
		var err error
		end, last, err = readTail(f, size)
		if err != nil {
			return nil, fmt.Errorf("%w: read %s: %w", ErrUnavailable, l.path, err)
		}
		if last != nil {
			lr, err := ParseRecord(last)
			if err != nil {
				return nil, fmt.Errorf("%w: %s: last record is unreadable: %w", ErrUnavailable, l.path, err)
			}
			seq = lr.Seq
			prev = lineHash(last)
		}
		if end < size && size-end <= MaxLineSize {
			// A last line without its "\n": an interrupted append. If it is
			// a whole record that chains on, only the "\n" is missing:
			// keep it, end it, and chain from it.
			partial, err := readAt(f, end, size)
			if err != nil {
				return nil, fmt.Errorf("%w: read %s: %w", ErrUnavailable, l.path, err)
			}
			if pr, ok := l.wholeRecord(partial, seq, prev); ok {
				seq, prev = pr.Seq, lineHash(partial)
				end, newline = size, true
			}
		}
	}
	if seq > math.MaxUint64-uint64(len(ps)) {
		return nil, fmt.Errorf("%w: %s: seq exhausted", ErrUnavailable, l.path)
	}
	l.tail = tail{}
	n := len(ps) * (len(`,"mac":"`+probePrev+"\"}\n") + 1)
	for i := range ps {
		n += len(ps[i].tmpl)
	}
	buf := l.buf[:0]
	if cap(buf) < n {
		buf = make([]byte, 0, n)
	}
	if n <= keptBuf {
		// The lines hold no value (callers mask them): the buffer is
		// kept for the next batch, so appends touch no fresh memory.
		l.buf = buf
	}
	if newline {
		buf = append(buf, '\n')
	}
	out := make([]Record, len(ps))
	for i := range ps {
		seq++
		start := len(buf)
		var mac string
		buf, mac = l.appendLine(buf, ps[i].tmpl, seq, prev)
		w := ps[i].seen
		w.Seq, w.Prev, w.MAC = seq, prev, mac
		out[i] = w
		prev = lineHash(buf[start : len(buf)-1])
	}
	if end < size {
		// A partial last line from an interrupted append: drop it.
		if err := f.Truncate(end); err != nil {
			return nil, fmt.Errorf("%w: truncate partial record in %s: %w", ErrUnavailable, l.path, err)
		}
	}
	if err := writeLine(f, buf); err != nil {
		f.Truncate(end) // best effort: leave no partial line behind
		return nil, fmt.Errorf("%w: write %s: %w", ErrUnavailable, l.path, err)
	}
	if sync {
		if err := l.fsync(f); err != nil {
			f.Truncate(end) // the records are not durable: they must not count
			return nil, fmt.Errorf("%w: sync %s: %w", ErrUnavailable, l.path, err)
		}
	}
	l.tail = tail{fi: fi, size: end + int64(len(buf)), seq: seq, hash: prev}
	return out, nil
}

// keptBuf bounds the buffer a Log keeps for its lines.
const keptBuf = 64 << 10

// appendLine appends to buf the line, with its "\n", of the record whose
// template prepare made, with seq and prev in place of the probe's, and
// returns it with the record's MAC. The line is the bytes encode writes
// for that record: seq and prev are a number and hex digits, which JSON
// writes as they are. l.mu is held.
func (l *Log) appendLine(buf, tmpl []byte, seq uint64, prev string) ([]byte, string) {
	start := len(buf)
	buf = append(buf, `{"seq":`...)
	buf = strconv.AppendUint(buf, seq, 10)
	buf = append(buf, tmpl[len(tmplHead)-1:len(tmpl)-len(tmplTail)]...)
	buf = append(buf, `,"prev":"`...)
	buf = append(buf, prev...)
	buf = append(buf, `","mac":""}`...)
	if l.mac == nil {
		l.mac = hmac.New(sha256.New, l.key)
	}
	l.mac.Reset()
	l.mac.Write(buf[start:])
	var sum [sha256.Size]byte
	mac := hex.EncodeToString(l.mac.Sum(sum[:0]))
	buf = append(buf[:len(buf)-2], mac...)
	buf = append(buf, "\"}\n"...)
	return buf, mac
}

// wholeRecord reports whether partial, the bytes after the last "\n", is
// a complete record missing only its "\n": it parses, its MAC is ours,
// and it follows the record with seq and hash prev.
func (l *Log) wholeRecord(partial []byte, seq uint64, prev string) (Record, bool) {
	if len(partial) > MaxLineSize {
		return Record{}, false
	}
	pr, err := ParseRecord(partial)
	if err != nil {
		return Record{}, false
	}
	if p, _ := checkMAC(l.key, partial, pr.MAC); p != "" {
		return Record{}, false
	}
	return pr, pr.Seq == seq+1 && pr.Prev == prev
}

// readAt reads the bytes of f from off to end.
func readAt(f *os.File, off, end int64) ([]byte, error) {
	b := make([]byte, end-off)
	if _, err := f.ReadAt(b, off); err != nil {
		return nil, err
	}
	return b, nil
}

// macField is how the last key of every line starts.
const macField = `,"mac":"`

// marshal returns the encoding of r with mac "", checking that it ends
// with the mac field and that with the MAC it fits in a line.
func marshal(r *Record) ([]byte, error) {
	r.MAC = ""
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("%w: encode: %w", ErrInvalidRecord, err)
	}
	if !bytes.HasSuffix(b, []byte(macField+`"}`)) {
		return nil, fmt.Errorf("%w: encoding does not end with the mac field", ErrInvalidRecord)
	}
	if len(b)+64 > MaxLineSize {
		return nil, fmt.Errorf("%w: record of %d bytes exceeds %d", ErrInvalidRecord, len(b)+64, MaxLineSize)
	}
	return b, nil
}

// lineHash is the Prev of the record after line.
func lineHash(line []byte) string {
	sum := sha256.Sum256(line)
	return hex.EncodeToString(sum[:])
}

// writeLine writes line with one write(2) on the O_APPEND descriptor, so
// the line lands whole at the end of the file.
func writeLine(f *os.File, line []byte) error {
	for {
		n, err := unix.Write(int(f.Fd()), line)
		if err == unix.EINTR && n <= 0 {
			continue
		}
		if err != nil {
			return err
		}
		if n != len(line) {
			return io.ErrShortWrite
		}
		return nil
	}
}

// syncFile makes the written lines durable. It goes through the file's
// SyscallConn, which holds the descriptor open until the call returns, so
// a Close in another goroutine cannot make it sync a reused descriptor.
func syncFile(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		for {
			serr = unix.Fdatasync(int(fd))
			if serr != unix.EINTR {
				return
			}
		}
	}); err != nil {
		return err
	}
	return serr
}

// readTail finds the end of the last complete line in the first size bytes
// of f (just past its "\n"; 0 when there is none) and returns that line
// without its "\n" (nil when there is none).
func readTail(f *os.File, size int64) (end int64, last []byte, err error) {
	n := int64(4096)
	for {
		n = min(n, size)
		pos := size - n
		buf := make([]byte, n)
		if _, err := f.ReadAt(buf, pos); err != nil {
			return 0, nil, err
		}
		i := bytes.LastIndexByte(buf, '\n')
		if i < 0 {
			if pos == 0 {
				return 0, nil, nil
			}
			if n > 2*(MaxLineSize+1) {
				return 0, nil, fmt.Errorf("%w: no line end in the last %d bytes", errMalformed, n)
			}
			n *= 2
			continue
		}
		j := bytes.LastIndexByte(buf[:i], '\n')
		if j < 0 && pos > 0 {
			if n > 2*(MaxLineSize+1) {
				return 0, nil, fmt.Errorf("%w: last line longer than %d bytes", errMalformed, MaxLineSize)
			}
			n *= 2
			continue
		}
		return pos + int64(i) + 1, buf[j+1 : i], nil
	}
}

// openFile opens the log for appending, creating it and its directory.
func openFile(path string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("%w: create directory: %w", ErrUnavailable, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%w: open %s: %w", ErrUnavailable, path, err)
	}
	fi, err := f.Stat()
	if err == nil {
		err = checkFile(path, fi)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// checkFile refuses a log that is not a regular file of ours, closed to
// group and others.
func checkFile(path string, fi os.FileInfo) error {
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%w: %s is not a regular file", ErrUnavailable, path)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("%w: %s is owned by uid %d, not %d", ErrUnavailable, path, st.Uid, os.Geteuid())
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("%w: %s has mode %04o, want 0600", ErrUnavailable, path, perm)
	}
	return nil
}

func flock(f *os.File, how int) error {
	for {
		err := unix.Flock(int(f.Fd()), how)
		if err != unix.EINTR {
			return err
		}
	}
}

func funlock(f *os.File) { flock(f, unix.LOCK_UN) }
