package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func testKey(seed string) []byte {
	k := sha256.Sum256([]byte("audit test key " + seed))
	return k[:]
}

// fakeClock returns a clock that starts at a fixed instant and moves one
// second per call.
func fakeClock() func() time.Time {
	var mu sync.Mutex
	t := time.Date(2024, 6, 12, 14, 31, 0, 0, time.UTC)
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t = t.Add(time.Second)
		return t
	}
}

func openTest(t testing.TB, path string) *Log {
	t.Helper()
	l, err := OpenWith(path, testKey("a"), Options{Now: fakeClock()})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func usedRecord(name string) Record {
	return Record{
		Event:   EventUsed,
		Secret:  name,
		Actor:   Actor{UID: 1000, User: "dev"},
		Via:     ViaExec,
		Process: &Process{PID: 4242, PPID: 1, Exe: "/usr/bin/node", Argv: []string{"node", "app.js"}, Cwd: "/src", Start: 99},
		Context: &Context{Command: "node app.js", File: "app.js", Line: 12},
		Result:  ResultOK,
	}
}

func appendN(t testing.TB, l *Log, n int) []Record {
	t.Helper()
	var out []Record
	for i := range n {
		r, err := l.Append(usedRecord(fmt.Sprintf("SECRET_%d", i)))
		if err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
		out = append(out, r)
	}
	return out
}

func readLines(t testing.TB, path string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.SplitAfter(b, []byte("\n"))
}

func verifyFile(t testing.TB, path string, key []byte) VerifyResult {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := Verify(f, key)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	return res
}

func readFileRecords(t testing.TB, path string) []Record {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := ReadRecords(f)
	if err != nil {
		t.Fatalf("read records: %v", err)
	}
	return recs
}

func TestAppendChain(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "dir")
	path := filepath.Join(dir, "audit.log")
	l := openTest(t, path)
	got := appendN(t, l, 3)

	for i, r := range got {
		if r.Seq != uint64(i+1) {
			t.Errorf("record %d: seq %d", i, r.Seq)
		}
		if !isHex64(r.MAC) {
			t.Errorf("record %d: mac %q is not hex", i, r.MAC)
		}
		if r.Time.Location() != time.UTC {
			t.Errorf("record %d: time not in UTC", i)
		}
	}
	lines := readLines(t, path)
	if len(lines) != 4 || len(lines[3]) != 0 {
		t.Fatalf("file has %d line pieces, want 3 lines", len(lines))
	}
	if got[0].Prev != "" {
		t.Errorf("first prev %q, want empty", got[0].Prev)
	}
	for i := 1; i < 3; i++ {
		want := lineHash(bytes.TrimSuffix(lines[i-1], []byte("\n")))
		if got[i].Prev != want {
			t.Errorf("record %d: prev does not hash line %d", i+1, i)
		}
	}
	if recs := readFileRecords(t, path); !reflect.DeepEqual(recs, got) {
		rb, _ := json.Marshal(recs)
		gb, _ := json.Marshal(got)
		t.Errorf("read back records differ from appended:\n got %s\nwant %s", rb, gb)
	}
	res := verifyFile(t, path, testKey("a"))
	if !res.OK || res.Records != 3 || res.Incomplete {
		t.Errorf("verify = %+v, want OK with 3 records", res)
	}

	for p, want := range map[string]os.FileMode{path: 0o600, dir: 0o700} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %04o, want %04o", p, fi.Mode().Perm(), want)
		}
	}
}

func TestAppendTime(t *testing.T) {
	l := openTest(t, filepath.Join(t.TempDir(), "audit.log"))
	r, err := l.Append(usedRecord("A"))
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2024, 6, 12, 14, 31, 1, 0, time.UTC); !r.Time.Equal(want) {
		t.Errorf("time from clock = %v, want %v", r.Time, want)
	}
	in := usedRecord("B")
	in.Time = time.Date(2020, 1, 2, 3, 4, 5, 6, time.FixedZone("X", 3600))
	r, err = l.Append(in)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Time.Equal(in.Time) || r.Time.Location() != time.UTC {
		t.Errorf("given time stored as %v, want %v in UTC", r.Time, in.Time)
	}
}

func TestAppendIgnoresCallerChainFields(t *testing.T) {
	l := openTest(t, filepath.Join(t.TempDir(), "audit.log"))
	in := usedRecord("A")
	in.Seq, in.Prev, in.MAC = 77, strings.Repeat("a", 64), strings.Repeat("b", 64)
	r, err := l.Append(in)
	if err != nil {
		t.Fatal(err)
	}
	if r.Seq != 1 || r.Prev != "" || r.MAC == in.MAC {
		t.Errorf("append kept caller's seq/prev/mac: seq %d prev %q", r.Seq, r.Prev)
	}
}

func TestAppendCopiesAndClamps(t *testing.T) {
	l := openTest(t, filepath.Join(t.TempDir(), "audit.log"))
	in := usedRecord("A")
	long := strings.Repeat("é", 2000) // 4000 bytes
	argv := []string{"prog", long}
	for i := range 100 {
		argv = append(argv, strconv.Itoa(i))
	}
	in.Process.Argv = argv
	in.Context.Command = long
	in.Detail = long
	r, err := l.Append(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Process.Argv) != 102 || in.Process.Argv[1] != long || in.Context.Command != long {
		t.Fatal("append modified the caller's process or context")
	}
	a := r.Process.Argv
	if len(a) != maxArgs {
		t.Fatalf("argv kept %d elements, want %d", len(a), maxArgs)
	}
	if a[len(a)-1] != "... (39 more)" {
		t.Errorf("last argv element %q, want a summary of 39 more", a[len(a)-1])
	}
	for name, s := range map[string]string{"argv[1]": a[1], "command": r.Context.Command, "detail": r.Detail} {
		if len(s) > maxArgLen || !strings.HasSuffix(s, "...") || !strings.HasPrefix(s, "éé") {
			t.Errorf("%s: not cut to %d bytes with a marker (len %d)", name, maxArgLen, len(s))
		}
		if !utf8ValidString(s) {
			t.Errorf("%s: cut inside a rune", name)
		}
	}
	if res := verifyFile(t, l.Path(), testKey("a")); !res.OK {
		t.Errorf("verify: %+v", res)
	}
}

func utf8ValidString(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

func TestAppendRejectsInvalid(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	l := openTest(t, path)
	for name, mod := range map[string]func(*Record){
		"unknown event":  func(r *Record) { r.Event = "exploded" },
		"unknown via":    func(r *Record) { r.Via = "" },
		"unknown result": func(r *Record) { r.Result = "" },
		"huge":           func(r *Record) { r.Context.File = strings.Repeat("x", MaxLineSize) },
	} {
		r := usedRecord("A")
		mod(&r)
		if _, err := l.Append(r); !errors.Is(err, ErrInvalidRecord) {
			t.Errorf("%s: err = %v, want ErrInvalidRecord", name, err)
		}
	}
	if b, _ := os.ReadFile(path); len(b) != 0 {
		t.Errorf("rejected records left %d bytes in the log", len(b))
	}
	if _, err := l.Append(usedRecord("A")); err != nil {
		t.Errorf("append after rejections: %v", err)
	}
}

func TestOpenBadKey(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33, 64} {
		if _, err := Open(filepath.Join(t.TempDir(), "audit.log"), make([]byte, n)); !errors.Is(err, errBadKey) {
			t.Errorf("key of %d bytes: err = %v, want errBadKey", n, err)
		}
		if _, err := Verify(strings.NewReader(""), make([]byte, n)); !errors.Is(err, errBadKey) {
			t.Errorf("verify with key of %d bytes: err = %v, want errBadKey", n, err)
		}
	}
}

func TestAppendAfterClose(t *testing.T) {
	l := openTest(t, filepath.Join(t.TempDir(), "audit.log"))
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(usedRecord("A")); !errors.Is(err, ErrUnavailable) {
		t.Errorf("append after close: err = %v, want ErrUnavailable", err)
	}
}

// SECURITY.md 55: a process killed during an append leaves a last line
// without "\n"; Verify reports it as incomplete (not tampering) and the next
// append replaces it, chaining from the last complete record.
func TestIncompleteLastRecord(t *testing.T) {
	for _, tc := range []struct {
		name     string
		complete int // complete records before the partial line
		cut      func(line []byte) []byte
	}{
		{"half a line", 3, func(b []byte) []byte { return b[:len(b)/2] }},
		{"all but the closing brace and newline", 3, func(b []byte) []byte { return b[:len(b)-2] }},
		{"one byte", 2, func(b []byte) []byte { return b[:1] }},
		{"partial first record", 0, func(b []byte) []byte { return b[:len(b)/3] }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "audit.log")
			l := openTest(t, path)
			appendN(t, l, tc.complete)

			// A real record line, as the next append would write it.
			scratch := filepath.Join(dir, "scratch.log")
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(scratch, b, 0o600); err != nil {
				t.Fatal(err)
			}
			sl := openTest(t, scratch)
			next, err := sl.Append(usedRecord("INTERRUPTED"))
			if err != nil {
				t.Fatal(err)
			}
			lines := readLines(t, scratch)
			partial := tc.cut(lines[next.Seq-1])
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.Write(partial); err != nil {
				t.Fatal(err)
			}
			f.Close()

			res := verifyFile(t, path, testKey("a"))
			if !res.OK || !res.Incomplete || res.Records != tc.complete || res.Problem != "" {
				t.Errorf("verify = %+v, want OK, Incomplete, %d records", res, tc.complete)
			}
			if recs := readFileRecords(t, path); len(recs) != tc.complete {
				t.Errorf("ReadRecords gave %d records, want the %d complete ones", len(recs), tc.complete)
			}

			r, err := l.Append(usedRecord("AFTER"))
			if err != nil {
				t.Fatalf("append after partial line: %v", err)
			}
			if r.Seq != uint64(tc.complete+1) || r.Prev != next.Prev {
				t.Errorf("append after partial line: seq %d, prev chains to the partial line? (want seq %d)", r.Seq, tc.complete+1)
			}
			res = verifyFile(t, path, testKey("a"))
			if !res.OK || res.Incomplete || res.Records != tc.complete+1 {
				t.Errorf("verify after append = %+v, want OK, complete, %d records", res, tc.complete+1)
			}
			if bytes.Contains(mustRead(t, path), []byte("INTERRUPTED")) {
				t.Error("partial line is still in the log")
			}
		})
	}
}

// SECURITY.md item 76: an append interrupted after all of its record but
// the "\n" leaves a whole record; Verify counts it, and the next append
// keeps it, ends it with "\n" and chains from it. A line that parses but
// does not chain on (or is not ours) is still cut as an interrupted append.
func TestCompleteRecordWithoutNewlineKept(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.log")
	l := openTest(t, path)
	appendN(t, l, 3)
	// Another process's append, cut just before its "\n".
	other := openTest(t, path)
	kept, err := other.Append(usedRecord("KEPT"))
	if err != nil {
		t.Fatal(err)
	}
	b := mustRead(t, path)
	if err := os.WriteFile(path, b[:len(b)-1], 0o600); err != nil {
		t.Fatal(err)
	}

	res := verifyFile(t, path, testKey("a"))
	if !res.OK || res.Incomplete || !res.NoFinalNewline || res.Records != 4 {
		t.Errorf("verify = %+v, want OK, not incomplete, no final newline, 4 records", res)
	}
	if recs := readFileRecords(t, path); len(recs) != 4 || recs[3].Secret != "KEPT" {
		t.Errorf("ReadRecords gave %d records, want 4 ending with KEPT", len(recs))
	}

	r, err := l.Append(usedRecord("AFTER"))
	if err != nil {
		t.Fatalf("append after a record without its newline: %v", err)
	}
	if r.Seq != kept.Seq+1 {
		t.Errorf("append: seq %d, want %d (chained from the kept record)", r.Seq, kept.Seq+1)
	}
	res = verifyFile(t, path, testKey("a"))
	if !res.OK || res.Incomplete || res.NoFinalNewline || res.Records != 5 {
		t.Errorf("verify after append = %+v, want OK, 5 records", res)
	}
	recs := readFileRecords(t, path)
	if len(recs) != 5 || recs[3].Secret != "KEPT" || recs[4].Secret != "AFTER" {
		t.Errorf("records after append: %d, want KEPT then AFTER", len(recs))
	}

	// A whole line under another key is no record of ours: cut it.
	foreign := filepath.Join(dir, "foreign.log")
	fl, err := OpenWith(foreign, testKey("b"), Options{Now: fakeClock()})
	if err != nil {
		t.Fatal(err)
	}
	defer fl.Close()
	appendN(t, fl, 6)
	lines := readLines(t, foreign)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(bytes.TrimSuffix(lines[5], []byte("\n")))
	f.Close()
	if _, err := l.Append(usedRecord("LAST")); err != nil {
		t.Fatal(err)
	}
	if res := verifyFile(t, path, testKey("a")); !res.OK || res.Records != 6 {
		t.Errorf("verify after a foreign tail = %+v, want OK, 6 records", res)
	}
}

func mustRead(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// SECURITY.md 53: the log cannot be written -> ErrUnavailable ("audit
// unavailable: ..."), then appends work again once it can. Running as root,
// permissions do not stop us, so the path is made a directory.
func TestFailClosedUnwritable(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.log")
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	_, err := Open(path, testKey("a"))
	if !errors.Is(err, ErrUnavailable) || !strings.HasPrefix(err.Error(), "audit unavailable: ") {
		t.Fatalf("open of a directory: err = %v, want ErrUnavailable", err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}

	l := openTest(t, path)
	appendN(t, l, 2)
	// Move the log away and put a directory in its place: appends must not
	// go on into the moved file, and must fail.
	moved := filepath.Join(dir, "moved.log")
	if err := os.Rename(path, moved); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	_, err = l.Append(usedRecord("BLOCKED"))
	if !errors.Is(err, ErrUnavailable) || !strings.HasPrefix(err.Error(), "audit unavailable: ") {
		t.Fatalf("append with the log path a directory: err = %v, want ErrUnavailable", err)
	}
	if bytes.Contains(mustRead(t, moved), []byte("BLOCKED")) {
		t.Fatal("record went to the moved file")
	}

	// Writable again: the same Log recovers and the chain continues.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(moved, path); err != nil {
		t.Fatal(err)
	}
	r, err := l.Append(usedRecord("RECOVERED"))
	if err != nil {
		t.Fatalf("append after recovery: %v", err)
	}
	if r.Seq != 3 {
		t.Errorf("seq after recovery %d, want 3", r.Seq)
	}
	if res := verifyFile(t, path, testKey("a")); !res.OK || res.Records != 3 {
		t.Errorf("verify after recovery = %+v", res)
	}
}

// A removed log is recreated at its path rather than written unlinked.
func TestAppendAfterRemove(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	l := openTest(t, path)
	appendN(t, l, 2)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	r, err := l.Append(usedRecord("A"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Seq != 1 {
		t.Errorf("seq in the recreated log %d, want 1", r.Seq)
	}
	if recs := readFileRecords(t, path); len(recs) != 1 {
		t.Errorf("recreated log has %d records, want 1", len(recs))
	}
}

func TestRefusesUnsafeFile(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target.log")
	if err := os.WriteFile(target, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cases := map[string]func(path string) error{
		"group readable": func(p string) error { return os.WriteFile(p, nil, 0o640) },
		"world writable": func(p string) error {
			if err := os.WriteFile(p, nil, 0o600); err != nil {
				return err
			}
			return os.Chmod(p, 0o666)
		},
		"symlink": func(p string) error { return os.Symlink(target, p) },
		"fifo":    func(p string) error { return unix.Mkfifo(p, 0o600) },
	}
	if os.Geteuid() == 0 {
		cases["foreign owner"] = func(p string) error {
			if err := os.WriteFile(p, nil, 0o600); err != nil {
				return err
			}
			return os.Chown(p, 12345, 12345)
		}
	}
	for name, setup := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "audit.log")
			if err := setup(path); err != nil {
				t.Fatal(err)
			}
			if _, err := Open(path, testKey("a")); !errors.Is(err, ErrUnavailable) {
				t.Errorf("open: err = %v, want ErrUnavailable", err)
			}
		})
	}
	if b := mustRead(t, target); len(b) != 0 {
		t.Error("symlink target was written")
	}
}

// A log whose mode is loosened after Open is refused at the next append.
func TestAppendRechecksMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	l := openTest(t, path)
	appendN(t, l, 1)
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(usedRecord("A")); !errors.Is(err, ErrUnavailable) {
		t.Errorf("append to a 0644 log: err = %v, want ErrUnavailable", err)
	}
}

func TestAppendRefusesUnreadableLastRecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	l := openTest(t, path)
	appendN(t, l, 2)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("{\"seq\":3,\"garbage\n")
	f.Close()
	if _, err := l.Append(usedRecord("A")); !errors.Is(err, ErrUnavailable) || !errors.Is(err, errMalformed) {
		t.Errorf("append after a garbage line: err = %v, want ErrUnavailable and errMalformed", err)
	}
}

// Two Logs on one file (as two processes have) interleave into one chain.
func TestAppendTwoLogsOneFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	a, b := openTest(t, path), openTest(t, path)
	var wg sync.WaitGroup
	for _, l := range []*Log{a, b, a, b} {
		wg.Go(func() {
			for range 25 {
				if _, err := l.Append(usedRecord("A")); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if res := verifyFile(t, path, testKey("a")); !res.OK || res.Records != 100 || res.Incomplete {
		t.Errorf("verify = %+v, want OK with 100 records", res)
	}
}

const helperEnv = "WSX_AUDIT_TEST_HELPER"

// TestHelperProcess is not a test: the tests below run the test binary
// again with helperEnv set to act as another process.
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		t.Skip("helper process only")
	}
	path := os.Getenv("WSX_AUDIT_TEST_PATH")
	var opts Options
	if mode == "batches" {
		opts.SyncDelay = time.Hour // group commit, as the daemon: the kill lands in writes
	}
	l, err := OpenWith(path, testKey("a"), opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		os.Exit(2)
	}
	switch mode {
	case "append":
		n, _ := strconv.Atoi(os.Getenv("WSX_AUDIT_TEST_N"))
		for range n {
			if _, err := l.Append(usedRecord("MULTI")); err != nil {
				fmt.Fprintln(os.Stderr, "append:", err)
				os.Exit(2)
			}
		}
	case "batches":
		n, _ := strconv.Atoi(os.Getenv("WSX_AUDIT_TEST_N"))
		err := appendBatches(l, n)
		fmt.Fprintln(os.Stderr, "append:", err)
		os.Exit(2)
	case "fsize":
		fi, err := os.Stat(path)
		if err != nil {
			os.Exit(2)
		}
		// The file may grow by 10 bytes only: the write is cut short, as
		// on a full disk.
		lim := uint64(fi.Size()) + 10
		if err := unix.Setrlimit(unix.RLIMIT_FSIZE, &unix.Rlimit{Cur: lim, Max: lim}); err != nil {
			fmt.Fprintln(os.Stderr, "setrlimit:", err)
			os.Exit(2)
		}
		_, err = l.Append(usedRecord("DISKFULL"))
		if !errors.Is(err, ErrUnavailable) {
			fmt.Fprintln(os.Stderr, "append beyond the size limit: err =", err)
			os.Exit(3)
		}
		if !strings.HasPrefix(err.Error(), "audit unavailable: ") {
			fmt.Fprintln(os.Stderr, "error text:", err)
			os.Exit(3)
		}
	}
	l.Close()
	os.Exit(0)
}

func helper(t *testing.T, mode, path string, extra ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, "WSX_AUDIT_TEST_PATH="+path)
	cmd.Env = append(cmd.Env, extra...)
	return cmd
}

// Several processes appending at once keep one unbroken chain.
func TestAppendConcurrentProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	l := openTest(t, path)
	appendN(t, l, 1)
	const procs, each = 4, 30
	var cmds []*exec.Cmd
	for range procs {
		cmd := helper(t, "append", path, "WSX_AUDIT_TEST_N="+strconv.Itoa(each))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	for range 30 {
		if _, err := l.Append(usedRecord("PARENT")); err != nil {
			t.Fatal(err)
		}
	}
	for _, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("helper: %v: %s", err, cmd.Stderr)
		}
	}
	want := 1 + procs*each + 30
	if res := verifyFile(t, path, testKey("a")); !res.OK || res.Records != want || res.Incomplete {
		t.Errorf("verify = %+v, want OK with %d records", res, want)
	}
}

// SECURITY.md 53, disk full: a write cut short (RLIMIT_FSIZE in a child
// process) fails the append with ErrUnavailable and leaves no partial line;
// appends work again once there is room.
func TestFailClosedShortWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	l := openTest(t, path)
	appendN(t, l, 2)
	before := mustRead(t, path)

	cmd := helper(t, "fsize", path)
	out, err := cmd.CombinedOutput()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				t.Skipf("helper killed by %v: SIGXFSZ not ignored here", ws.Signal())
			}
		}
		t.Fatalf("helper: %v: %s", err, out)
	}
	if after := mustRead(t, path); !bytes.Equal(after, before) {
		t.Fatalf("failed append changed the log: %d bytes before, %d after", len(before), len(after))
	}
	r, err := l.Append(usedRecord("A"))
	if err != nil {
		t.Fatalf("append once there is room: %v", err)
	}
	if r.Seq != 3 {
		t.Errorf("seq %d, want 3", r.Seq)
	}
	if res := verifyFile(t, path, testKey("a")); !res.OK || res.Incomplete || res.Records != 3 {
		t.Errorf("verify = %+v", res)
	}
}

func BenchmarkAppend(b *testing.B) {
	l := openTest(b, filepath.Join(b.TempDir(), "audit.log"))
	r := usedRecord("GITHUB_TOKEN")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.Append(r); err != nil {
			b.Fatal(err)
		}
	}
}
