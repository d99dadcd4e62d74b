package audit

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	tail := " S 77 1 1 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 123456 1000 100 18446744073709551615\n"
	for _, tc := range []struct {
		name      string
		stat      string
		ppid      int
		start     uint64
		wantError bool
	}{
		{"plain", "42 (bash)" + tail, 77, 123456, false},
		{"spaces in comm", "42 (my prog)" + tail, 77, 123456, false},
		{"parens in comm", "42 (a) S 1 (b))" + tail, 77, 123456, false},
		{"newline in comm", "42 (a\nb)" + tail, 77, 123456, false},
		{"empty comm", "42 ()" + tail, 77, 123456, false},
		{"pid mismatch", "43 (bash)" + tail, 0, 0, true},
		{"no parens", "42 bash" + tail, 0, 0, true},
		{"truncated", "42 (bash) S 77 1 1", 0, 0, true},
		{"bad ppid", "42 (bash) S x" + tail[4:], 0, 0, true},
		{"negative ppid", "42 (bash) S -1" + tail[5:], 0, 0, true},
		{"empty", "", 0, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ppid, start, err := parseStat([]byte(tc.stat), 42)
			if tc.wantError {
				if err == nil {
					t.Errorf("parsed: ppid %d start %d", ppid, start)
				}
				return
			}
			if err != nil || ppid != tc.ppid || start != tc.start {
				t.Errorf("got ppid %d start %d err %v, want %d %d", ppid, start, err, tc.ppid, tc.start)
			}
		})
	}
}

func TestProcessInfoSelf(t *testing.T) {
	p, err := ProcessInfo(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	exe, _ := os.Executable()
	cwd, _ := os.Getwd()
	if p.PID != os.Getpid() || p.PPID != os.Getppid() || p.Exe != exe || p.Cwd != cwd || p.Start == 0 {
		t.Errorf("ProcessInfo(self) = pid %d ppid %d exe %q cwd %q start %d; want %d %d %q %q nonzero",
			p.PID, p.PPID, p.Exe, p.Cwd, p.Start, os.Getpid(), os.Getppid(), exe, cwd)
	}
	if !reflect.DeepEqual(p.Argv, os.Args) {
		t.Errorf("argv = %q, want %q", p.Argv, os.Args)
	}
	if s := Self(); s.PID != p.PID || s.Start != p.Start {
		t.Errorf("Self() = %+v, want %+v", s, p)
	}
}

// TestParentArgv checks that the walk's brief read of a process agrees
// with ProcessInfo, and that a missing process is ErrNoProcess.
func TestParentArgv(t *testing.T) {
	p, err := ProcessInfo(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	ppid, start, argv, err := ParentArgv(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if ppid != p.PPID || start != p.Start || !reflect.DeepEqual(argv, p.Argv) {
		t.Errorf("ParentArgv(self) = %d %d %q, want %d %d %q", ppid, start, argv, p.PPID, p.Start, p.Argv)
	}
	if _, _, _, err := ParentArgv(0); !errors.Is(err, ErrNoProcess) {
		t.Errorf("ParentArgv(0): %v, want ErrNoProcess", err)
	}
}

func TestProcessInfoChild(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	dir := t.TempDir()
	argv := []string{sh, "-c", "sleep 30; :", "sh", "--token=abcd1234"}
	cmd := exec.Command(sh, argv[1:]...)
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	// Wait for the exec to complete: until then the child is a copy of us.
	var p Process
	for range 500 {
		p, err = ProcessInfo(pid)
		if err != nil || slices.Equal(p.Argv, argv) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if p.PPID != os.Getpid() || p.Cwd != dir || !slices.Equal(p.Argv, argv) || p.Exe == "" {
		t.Errorf("child: ppid %d cwd %q argv %q", p.PPID, p.Cwd, p.Argv)
	}
	if _, err := ProcessInfo(pid); !errors.Is(err, ErrNoProcess) {
		t.Errorf("reaped child: err = %v, want ErrNoProcess", err)
	}
}

func TestProcessInfoMissing(t *testing.T) {
	for _, pid := range []int{0, -1, 1 << 30} {
		if _, err := ProcessInfo(pid); !errors.Is(err, ErrNoProcess) {
			t.Errorf("pid %d: err = %v, want ErrNoProcess", pid, err)
		}
	}
}

// PID 1 is another user's process when the tests do not run as root: its
// exe and cwd cannot be read, and that is no error.
func TestProcessInfoInit(t *testing.T) {
	p, err := ProcessInfo(1)
	if err != nil {
		t.Fatal(err)
	}
	if p.PID != 1 || p.PPID != 0 {
		t.Errorf("pid 1: pid %d ppid %d", p.PID, p.PPID)
	}
}

// A fake /proc tree: unreadable fields are left empty, the process is
// still described.
func TestProcessInfoUnreadableFields(t *testing.T) {
	proc := t.TempDir()
	dir := filepath.Join(proc, "42")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	stat := "42 (odd) name)) S 7 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 555 0 0\n"
	if err := os.WriteFile(filepath.Join(dir, "stat"), []byte(stat), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := processInfo(proc, 42)
	if err != nil {
		t.Fatal(err)
	}
	want := Process{PID: 42, PPID: 7, Start: 555}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("got %+v, want %+v", p, want)
	}

	if err := os.WriteFile(filepath.Join(dir, "cmdline"), []byte("node\x00app.js\x00\x00x\x00"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/usr/bin/node", filepath.Join(dir, "exe")); err != nil {
		t.Fatal(err)
	}
	p, err = processInfo(proc, 42)
	if err != nil {
		t.Fatal(err)
	}
	if p.Exe != "/usr/bin/node" || !reflect.DeepEqual(p.Argv, []string{"node", "app.js", "", "x"}) {
		t.Errorf("exe %q argv %q", p.Exe, p.Argv)
	}
	if _, err := processInfo(proc, 43); !errors.Is(err, ErrNoProcess) {
		t.Errorf("missing pid: err = %v, want ErrNoProcess", err)
	}
}

// SECURITY.md 56: a command line carrying a secret value is recorded with
// the value masked.
func TestMaskArgv(t *testing.T) {
	v := func(s ...string) [][]byte {
		var out [][]byte
		for _, x := range s {
			out = append(out, []byte(x))
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		argv   []string
		values [][]byte
		want   []string
	}{
		{"whole arg", []string{"curl", "-H", "s3cr3tvalue"}, v("s3cr3tvalue"), []string{"curl", "-H", "***"}},
		{"flag=value", []string{"tool", "--token=s3cr3tvalue"}, v("s3cr3tvalue"), []string{"tool", "--token=***"}},
		{"header", []string{"curl", "-H", "Authorization: Bearer s3cr3tvalue"}, v("s3cr3tvalue"),
			[]string{"curl", "-H", "Authorization: Bearer ***"}},
		{"twice in one arg", []string{"s3cr3tvalue:s3cr3tvalue"}, v("s3cr3tvalue"), []string{"***:***"}},
		{"url userinfo", []string{"git", "clone", "https://me:hunter22@host/r"}, v("hunter22"),
			[]string{"git", "clone", "https://me:***@host/r"}},
		{"several values", []string{"a=AAAA1", "b=BBBB2"}, v("AAAA1", "BBBB2"), []string{"a=***", "b=***"}},
		{"short value kept", []string{"--pin=123"}, v("123"), []string{"--pin=123"}},
		{"four bytes masked", []string{"--pin=1234"}, v("1234"), []string{"--pin=***"}},
		{"prefix of another", []string{"abcdefgh", "abcd"}, v("abcd", "abcdefgh"), []string{"***", "***"}},
		{"overlapping values", []string{"xxabcdefyy"}, v("abcd", "cdef"), []string{"xx***yy"}},
		{"self-overlapping", []string{"aaaaaaab"}, v("aaaa"), []string{"***b"}},
		{"adjacent", []string{"abcdwxyz"}, v("abcd", "wxyz"), []string{"***"}},
		{"value ending in a newline", []string{"--token=s3cr3tvalue", "s3cr3tvalue\n"}, v("s3cr3tvalue\n"),
			[]string{"--token=***", "***"}},
		{"crlf trimmed short kept", []string{"--pin=123"}, v("123\r\n"), []string{"--pin=123"}},
		{"no match", []string{"ls", "-l"}, v("s3cr3tvalue"), []string{"ls", "-l"}},
		{"empty value", []string{"ls"}, v(""), []string{"ls"}},
		{"no values", []string{"ls"}, nil, []string{"ls"}},
		{"empty argv", []string{}, v("s3cr3tvalue"), []string{}},
		{"nil argv", nil, v("s3cr3tvalue"), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := append([]string(nil), tc.argv...)
			got := MaskArgv(tc.argv, tc.values)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("MaskArgv = %q, want %q", got, tc.want)
			}
			if !slices.Equal(in, tc.argv) {
				t.Error("argv modified in place")
			}
		})
	}
}

func TestMaskArgvLargeIsFast(t *testing.T) {
	// A self-overlapping value over a long argument stays linear.
	arg := strings.Repeat("a", 200_000)
	val := []byte(strings.Repeat("a", 100_000))
	got := MaskArgv([]string{arg + "b"}, [][]byte{val})
	if len(got) != 1 || got[0] != "***b" {
		t.Errorf("got %d elements, first of %d bytes", len(got), len(got[0]))
	}
	many := make([][]byte, 1000)
	for i := range many {
		many[i] = []byte("value-" + strconv.Itoa(i))
	}
	if got := MaskArgv([]string{"x=value-999"}, many); got[0] != "x=***" {
		t.Errorf("with 1000 values: %q", got)
	}
}

// SECURITY.md 56, end to end: a child whose command line carries a value
// is described, masked and recorded; the log holds no trace of the value.
func TestNoValueInLog(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	const canary = "wsx-canary-7f3a9c"
	argv := []string{sh, "-c", "sleep 30; :", "sh", "--token=" + canary, canary}
	cmd := exec.Command(sh, argv[1:]...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	var p Process
	for range 500 {
		p, err = ProcessInfo(cmd.Process.Pid)
		if err != nil || slices.Equal(p.Argv, argv) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil || !slices.Equal(p.Argv, argv) {
		t.Fatalf("child not described: err %v, %d args", err, len(p.Argv))
	}
	p.Argv = MaskArgv(p.Argv, [][]byte{[]byte(canary)})
	path := filepath.Join(t.TempDir(), "audit.log")
	l := openTest(t, path)
	r := usedRecord("CANARY")
	r.Process = &p
	if _, err := l.Append(r); err != nil {
		t.Fatal(err)
	}
	if b := mustRead(t, path); bytes.Contains(b, []byte(canary)) || !bytes.Contains(b, []byte(`"--token=***","***"`)) {
		t.Error("log does not hold the masked command line, or holds the value")
	}
}

// TestProcessInfoLongArgv: a command line longer than readProc's first
// buffer is read whole through the real /proc, one past maxCmdline is cut
// there, and the start time agrees with StartTime.
func TestProcessInfoLongArgv(t *testing.T) {
	if _, err := os.Stat("/proc/self/cmdline"); err != nil {
		t.Skip("no /proc")
	}
	for _, args := range []int{1, 5} { // of 60 000 bytes each
		long := strings.Repeat("a", 60000)
		argv := []string{"-c", "sleep 10; :"}
		for range args {
			argv = append(argv, long)
		}
		cmd := exec.Command("sh", argv...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Start returns when the kernel lets go of the parent in execve,
		// before it has set the new image's argument bounds: until then
		// /proc/PID/cmdline reads empty.
		p, err := ProcessInfo(cmd.Process.Pid)
		for deadline := time.Now().Add(5 * time.Second); err == nil && len(p.Argv) == 0 && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
			p, err = ProcessInfo(cmd.Process.Pid)
		}
		start, serr := StartTime(cmd.Process.Pid)
		cmd.Process.Kill()
		cmd.Wait()
		if err != nil || serr != nil {
			t.Fatalf("ProcessInfo: %v; StartTime: %v", err, serr)
		}
		if p.Start != start || start == 0 {
			t.Errorf("start %d, StartTime %d", p.Start, start)
		}
		total := len(strings.Join(p.Argv, "\x00"))
		if args == 1 {
			if len(p.Argv) != 4 || p.Argv[3] != long {
				t.Errorf("argv of %d bytes: got %d args, %d bytes", 60000, len(p.Argv), total)
			}
		} else if total != maxCmdline && total+1 != maxCmdline {
			t.Errorf("argv past %d bytes: read %d", maxCmdline, total)
		}
	}
	if _, err := StartTime(0); !errors.Is(err, ErrNoProcess) {
		t.Errorf("StartTime(0): %v", err)
	}
}
