package audit

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// openNoSync opens path as openTest does, with fsync a no-op: the tests
// below append thousands of times and fsync is not what they check.
func openNoSync(t testing.TB, path string) *Log {
	t.Helper()
	l := openTest(t, path)
	l.fsync = func(*os.File) error { return nil }
	return l
}

// batchRecords is a batch as one use of several secrets writes it: two
// records alike but for the name, then one that is not, holding
// multi-byte runes, so that cuts land inside runes as well.
func batchRecords() []Record {
	at := time.Date(2024, 6, 12, 15, 0, 0, 0, time.UTC)
	rs := []Record{usedRecord("BATCH_A"), usedRecord("BATCH_B"), usedRecord("BATCH_C")}
	rs[2].Event, rs[2].Result, rs[2].Detail = EventDenied, ResultDenied, "réglé ✓ 日本"
	for i := range rs {
		rs[i].Time = at
	}
	return rs
}

// afterRecord is what the process that survives the crash appends next.
func afterRecord() Record {
	r := usedRecord("AFTER")
	r.Time = time.Date(2024, 6, 12, 16, 0, 0, 0, time.UTC)
	return r
}

// expectCut says, from the bytes alone, what a log cut to data (a prefix
// of full, the log as the interrupted batch would have left it) holds:
// its terminated lines, and whether its unterminated last line (if any)
// is a whole line of full that lacks only its "\n".
func expectCut(full, data []byte) (lines [][]byte, rest []byte, whole bool) {
	i := bytes.LastIndexByte(data, '\n')
	if i >= 0 {
		lines = bytes.SplitAfter(data[:i+1], []byte("\n"))
		lines = lines[:len(lines)-1] // SplitAfter's empty tail
	}
	rest = data[i+1:]
	whole = len(rest) > 0 && bytes.HasPrefix(full, append(bytes.Clone(data), '\n'))
	return lines, rest, whole
}

// SECURITY.md 55 and 76 for a batch (AppendAll, one write(2) of several
// records): the log cut at every byte of the batch, as a kill -9 of the
// writer or a crash before the fsync leaves it. Verify reports a partial
// last line as incomplete, never as tampering, and verifies every record
// before it; a cut just before a record's "\n" leaves a whole record that
// is counted and kept. The next append, by the Log that wrote the records
// before the batch (so its remembered tail is stale), drops the partial
// line and chains from the last complete record.
//
// In "prefix without newline" the log's last record already lacked its
// "\n" when the batch was written, so the batch starts with that "\n".
func TestBatchCutAtEveryByte(t *testing.T) {
	for _, tc := range []struct {
		name  string
		noNL  bool // the records before the batch end without "\n"
		count int  // records before the batch
	}{
		{"after a record", false, 1},
		{"first in the log", false, 0},
		{"prefix without newline", true, 1},
	} {
		if raceEnabled && !tc.noNL {
			// The sweep after a line without "\n" meets every kind of
			// cut; under the race detector (this test has no
			// concurrency) each sweep takes seconds.
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()

			// The survivor writes the records before the batch; another
			// Log, the one killed, writes the batch after them.
			path := filepath.Join(dir, "audit.log")
			s := openNoSync(t, path)
			before := appendN(t, s, tc.count)
			if tc.noNL {
				if err := os.Truncate(path, int64(len(mustRead(t, path))-1)); err != nil {
					t.Fatal(err)
				}
			}
			prefix := mustRead(t, path)
			s.mu.Lock()
			stale := s.tail // what the survivor knows of the file
			s.mu.Unlock()
			w := openNoSync(t, path)
			batch, err := w.AppendAll(batchRecords())
			w.Close()
			if err != nil {
				t.Fatal(err)
			}
			full := mustRead(t, path)
			if !bytes.HasPrefix(full, prefix) {
				t.Fatal("the batch rewrote the records before it")
			}
			if got := bytes.Count(full[len(prefix):], []byte("\n")); got != len(batch)+btoi(tc.noNL) {
				t.Fatalf("the batch wrote %d lines, want %d", got, len(batch)+btoi(tc.noNL))
			}
			all := append(append([]Record{}, before...), batch...)

			var incomplete, whole int
			for cut := len(prefix); cut <= len(full); cut++ {
				data := full[:cut]
				lines, rest, isWhole := expectCut(full, data)
				kept := len(lines)
				if isWhole {
					kept++
				}
				where := fmt.Sprintf("cut at byte %d of %d (%d of the batch)", cut, len(full), cut-len(prefix))

				// The log as the crash left it (the same file: O_TRUNC
				// keeps the inode), and the survivor as it was before.
				if err := os.WriteFile(path, data, 0o600); err != nil {
					t.Fatal(err)
				}
				s.mu.Lock()
				s.tail = stale
				s.mu.Unlock()

				res := verifyBytes(t, data, testKey("a"))
				switch {
				case !res.OK || res.Problem != "" || res.BadLine != 0:
					t.Fatalf("%s: verify = %+v: an interrupted batch reported as tampering", where, res)
				case res.Records != kept:
					t.Fatalf("%s: verify counted %d records, want %d", where, res.Records, kept)
				case res.Incomplete != (len(rest) > 0 && !isWhole):
					t.Fatalf("%s: verify = %+v, Incomplete should be %v", where, res, len(rest) > 0 && !isWhole)
				case res.NoFinalNewline != isWhole:
					t.Fatalf("%s: verify = %+v, NoFinalNewline should be %v", where, res, isWhole)
				}
				if said, err := sayVerify(res); err != nil || !strings.HasPrefix(said, "audit log OK: ") && kept > 0 ||
					strings.Contains(said, "incomplete") != res.Incomplete || strings.Contains(said, "newline") != isWhole {
					t.Fatalf("%s: wsx audit verify says %q, %v", where, said, err)
				}
				if res.Incomplete {
					incomplete++
				}
				if isWhole {
					whole++
				}
				if recs, err := ReadRecords(bytes.NewReader(data)); err != nil || len(recs) != kept || !reflect.DeepEqual(recs, all[:kept]) && kept > 0 {
					t.Fatalf("%s: ReadRecords gave %d records, %v; want the %d kept ones as appended", where, len(recs), err, kept)
				}

				// The next append chains from the last complete record.
				wantPrev := ""
				if kept > 0 {
					last := rest
					if !isWhole {
						last = bytes.TrimSuffix(lines[kept-1], []byte("\n"))
					}
					wantPrev = lineHash(last)
				}
				r, err := s.Append(afterRecord())
				if err != nil {
					t.Fatalf("%s: next append: %v", where, err)
				}
				if r.Seq != uint64(kept+1) || r.Prev != wantPrev {
					t.Fatalf("%s: next append has seq %d, want %d, chained from the last complete record: %v",
						where, r.Seq, kept+1, r.Prev == wantPrev)
				}
				after := mustRead(t, path)
				keptBytes := data[:len(data)-len(rest)]
				if isWhole {
					keptBytes = append(bytes.Clone(data), '\n')
				}
				if !bytes.HasPrefix(after, keptBytes) || bytes.Count(after[len(keptBytes):], []byte("\n")) != 1 {
					t.Fatalf("%s: the append did not keep the complete records and add one line:\n%q", where, after[max(0, len(keptBytes)-8):])
				}
				res = verifyBytes(t, after, testKey("a"))
				if !res.OK || res.Incomplete || res.NoFinalNewline || res.Records != kept+1 {
					t.Fatalf("%s: verify after the next append = %+v, want OK with %d records", where, res, kept+1)
				}
			}
			// Each line of the batch was cut inside and just before its
			// "\n"; so was the line without "\n" the batch ended.
			if wantWhole := len(batch) + btoi(tc.noNL); whole != wantWhole || incomplete == 0 {
				t.Errorf("%d cuts left a whole record without newline (want %d), %d a partial one", whole, wantWhole, incomplete)
			}

			// Tampering before the cut is still tampering.
			edited := bytes.Clone(full[:len(full)-10])
			i := bytes.LastIndex(edited, []byte("BATCH_A"))
			edited[i+len("BATCH_")] = 'Z'
			res := verifyBytes(t, edited, testKey("a"))
			if said, err := sayVerify(res); res.OK || !res.Incomplete || !errors.Is(err, ErrTampered) || !strings.Contains(said, "TAMPERED") {
				t.Errorf("an edited record before a cut: verify = %+v, says %q, %v", res, said, err)
			}
		})
	}
}

// sayVerify is what `wsx audit verify` says of res, and its error.
func sayVerify(res VerifyResult) (string, error) {
	var b strings.Builder
	err := WriteVerify(&b, res)
	return b.String(), err
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// SECURITY.md 55 with a real kill: a process appending large batches is
// killed with SIGKILL, after a delay that varies, many times over. Whatever
// the kill cut (between batches, or inside one: the kernel stops a large
// write(2) at a page boundary for a fatal signal), verify never reports
// tampering, and the Log that wrote the records before the child's (as
// the daemon survives a killed client) chains its next record from the
// last complete one. Kills go on past the first 12 until one lands inside
// a batch (about one in five does), up to 40; how many did is logged.
func TestBatchKilled(t *testing.T) {
	// Batches of about 4 MB, so that a kill often lands inside the write.
	trials, most, size := 12, 40, 200
	if raceEnabled {
		// Under the race detector a child seldom dies inside a write,
		// and reading its batches back takes seconds.
		trials, most, size = 3, 3, 20
	}
	var inside, whole, trial int
	for ; trial < trials || inside == 0 && trial < most; trial++ {
		path := filepath.Join(t.TempDir(), "audit.log")
		// No fsync: it would write out the child's megabytes.
		l := openNoSync(t, path)
		appendN(t, l, 2)

		cmd := helper(t, "batches", path, "WSX_AUDIT_TEST_N="+strconv.Itoa(size))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// The child says "ready" after its first batch; kill it while it
		// writes later ones.
		ready, _ := bufio.NewReader(stdout).ReadString('\n')
		if ready != "ready\n" {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("trial %d: helper: %q: %s", trial, ready, &stderr)
		}
		time.Sleep(time.Duration(1+trial*7%23) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		err = cmd.Wait()
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("trial %d: helper ended with %v, want killed: %s", trial, err, &stderr)
		}
		if ws, ok := ee.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("trial %d: helper ended with %v, want killed by SIGKILL: %s", trial, err, &stderr)
		}

		data := mustRead(t, path)
		res := verifyFile(t, path, testKey("a"))
		if said, err := sayVerify(res); !res.OK || res.Problem != "" || err != nil {
			t.Fatalf("trial %d: verify after the kill = %+v: reported as tampering: %q, %v", trial, res, said, err)
		}
		lines, rest, _ := expectCut(data, data)
		kept := len(lines)
		if res.NoFinalNewline {
			kept++
		}
		if res.Records != kept || res.Records < 2+size || res.Incomplete != (len(rest) > 0 && !res.NoFinalNewline) {
			t.Fatalf("trial %d: verify = %+v for %d complete lines and %d bytes after them", trial, res, len(lines), len(rest))
		}
		if len(rest) > 0 {
			inside++
			if rest[0] != '{' {
				t.Errorf("trial %d: partial line does not start a record: %q", trial, rest[:min(len(rest), 20)])
			}
		}
		if res.NoFinalNewline {
			whole++
		}
		last := rest
		if !res.NoFinalNewline {
			last = bytes.TrimSuffix(lines[len(lines)-1], []byte("\n"))
		}
		r, err := l.Append(afterRecord())
		if err != nil {
			t.Fatalf("trial %d: append after the kill: %v", trial, err)
		}
		if r.Seq != uint64(kept+1) || r.Prev != lineHash(last) {
			t.Fatalf("trial %d: append after the kill has seq %d, want %d, chained from the last complete record: %v",
				trial, r.Seq, kept+1, r.Prev == lineHash(last))
		}
		res = verifyFile(t, path, testKey("a"))
		if !res.OK || res.Incomplete || res.NoFinalNewline || res.Records != kept+1 {
			t.Fatalf("trial %d: verify after the next append = %+v, want OK with %d records", trial, res, kept+1)
		}
		if got := mustRead(t, path); !bytes.HasPrefix(got, data[:len(data)-len(rest)]) {
			t.Fatalf("trial %d: the next append changed complete records", trial)
		}
		l.Close()
		os.Remove(path) // tens of megabytes
	}
	t.Logf("%d of %d kills cut a batch inside (%d just before a newline)", inside, trial, whole)
}

// appendBatches is the child of TestBatchKilled: it appends batches of
// size records of about 20 KiB each until it is killed, saying "ready" on
// stdout after the first.
func appendBatches(l *Log, size int) error {
	r := usedRecord("")
	r.Process.Argv = make([]string, 20)
	for i := range r.Process.Argv {
		r.Process.Argv[i] = strings.Repeat(string(rune('a'+i)), maxArgLen-8)
	}
	rs := make([]Record, size)
	for n := 0; ; n++ {
		for i := range rs {
			rs[i] = r
			rs[i].Secret = fmt.Sprintf("KILLED_%d_%d", n, i)
		}
		if _, err := l.AppendAll(rs); err != nil {
			return err
		}
		if n == 0 {
			fmt.Println("ready")
		}
	}
}
