package audit

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func openGroup(t testing.TB, path string, delay time.Duration) *Log {
	t.Helper()
	l, err := OpenWith(path, testKey("a"), Options{Now: fakeClock(), SyncDelay: delay})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// pending reports how many lines of l are written but not known durable.
func pending(l *Log) uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.written - l.synced
}

// With group commit a record is in the file when Append returns, and one
// fsync, SyncDelay later, covers every record written meanwhile.
func TestGroupCommit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "audit.log")
		l := openGroup(t, path, 10*time.Millisecond)
		var syncs int
		l.fsync = func(f *os.File) error { syncs++; return syncFile(f) }

		appendN(t, l, 5)
		if got := countLines(t, path); got != 5 {
			t.Fatalf("%d lines in the file after 5 appends, want 5 before any fsync", got)
		}
		if syncs != 0 || pending(l) != 5 {
			t.Fatalf("before the delay: %d fsyncs, %d pending; want 0 and 5", syncs, pending(l))
		}
		time.Sleep(10 * time.Millisecond)
		synctest.Wait()
		if syncs != 1 || pending(l) != 0 {
			t.Fatalf("after the delay: %d fsyncs, %d pending; want 1 and 0", syncs, pending(l))
		}
		// Nothing pending: no timer, no fsync.
		time.Sleep(time.Second)
		synctest.Wait()
		if syncs != 1 {
			t.Fatalf("%d fsyncs with nothing pending", syncs)
		}
		appendN(t, l, 1)
		if err := l.Sync(); err != nil {
			t.Fatal(err)
		}
		if syncs != 2 || pending(l) != 0 {
			t.Fatalf("after Sync: %d fsyncs, %d pending", syncs, pending(l))
		}
		if res := verifyFile(t, path, testKey("a")); !res.OK || res.Records != 6 {
			t.Fatalf("verify = %+v", res)
		}
	})
}

// SECURITY.md 53 with group commit: a failed fsync fails every later
// Append (nothing released) until an fsync works again.
func TestGroupCommitFailClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "audit.log")
		l := openGroup(t, path, 5*time.Millisecond)
		var mu sync.Mutex
		broken := true
		l.fsync = func(f *os.File) error {
			mu.Lock()
			defer mu.Unlock()
			if broken {
				return errors.New("injected EIO")
			}
			return syncFile(f)
		}
		appendN(t, l, 1)
		time.Sleep(5 * time.Millisecond)
		synctest.Wait()
		_, err := l.Append(usedRecord("REFUSED"))
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("append after a failed fsync: err = %v, want ErrUnavailable", err)
		}
		if err := l.Sync(); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("Sync while fsync fails: %v", err)
		}
		if n := countLines(t, path); n != 1 {
			t.Fatalf("%d lines, want only the first", n)
		}
		mu.Lock()
		broken = false
		mu.Unlock()
		r, err := l.Append(usedRecord("AGAIN"))
		if err != nil || r.Seq != 2 {
			t.Fatalf("append once fsync works: seq %d, %v", r.Seq, err)
		}
	})
}

// Two Logs on one file with group commit chain correctly: each notices
// the other's lines and does not trust its remembered tail.
func TestGroupCommitTwoLogs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	a := openGroup(t, path, time.Millisecond)
	b := openGroup(t, path, time.Millisecond)
	for i := range 20 {
		l := a
		if i%3 == 0 {
			l = b
		}
		if r, err := l.Append(usedRecord("X")); err != nil || r.Seq != uint64(i+1) {
			t.Fatalf("append %d: seq %d, %v", i, r.Seq, err)
		}
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if res := verifyFile(t, path, testKey("a")); !res.OK || res.Records != 20 {
		t.Fatalf("verify = %+v", res)
	}
}

// Close makes pending records durable.
func TestGroupCommitClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	l, err := OpenWith(path, testKey("a"), Options{SyncDelay: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	var syncs int
	l.fsync = func(f *os.File) error { syncs++; return syncFile(f) }
	appendN(t, l, 3)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if syncs != 1 {
		t.Fatalf("%d fsyncs at Close, want 1", syncs)
	}
}

func BenchmarkAppendGroup(b *testing.B) {
	l := openGroup(b, filepath.Join(b.TempDir(), "audit.log"), 5*time.Millisecond)
	r := usedRecord("GITHUB_TOKEN")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.Append(r); err != nil {
			b.Fatal(err)
		}
	}
}

func countLines(t testing.TB, path string) int {
	t.Helper()
	return bytes.Count(mustRead(t, path), []byte("\n"))
}

// Records that differ only in time, or in the secret's name, are parsed
// back once; what Append returns is still what a reader reads, record for
// record.
func TestAppendParseMemo(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	l := openGroup(t, path, time.Millisecond)
	r := usedRecord("GITHUB_TOKEN")
	r.Detail = "bad utf-8 \xff here"
	r.Process.Argv = []string{"node", "app\xfe.js"}
	var got []Record
	for range 4 {
		w, err := l.Append(r)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, w)
	}
	for _, name := range []string{"OTHER", "THIRD_1"} {
		w, err := l.Append(usedRecord(name))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, w)
	}
	if n := len(l.memo.m); n != 2 {
		t.Errorf("memo holds %d lines, want 2", n)
	}
	// The memo's records are not shared with callers.
	got[0].Process.Argv[0] = "changed"
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	want := readFileRecords(t, path)
	got[0].Process.Argv[0] = "node"
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Append returned\n%+v\nthe file holds\n%+v", got, want)
	}
	if want[3].Process.Argv[0] != "node" || !strings.Contains(want[3].Detail, "\uFFFD") {
		t.Errorf("record 4 as read: %+v", want[3])
	}
	if got[5].Secret != "THIRD_1" {
		t.Errorf("record 6 names %q, want THIRD_1", got[5].Secret)
	}
}
