package exec

// These tests start real child processes (/bin/sh) on real pipes and ptys.
//
// SECURITY.md items covered here: 39 (the child's and the supervisor's
// /proc/<pid>/cmdline hold no value), 40 (one entry per name in the child's
// real environment), 41 (exit 3, 143, signals forwarded in each mode, an
// ignored SIGINT), 42 (supervisor killed with SIGKILL: the child gets SIGHUP
// and cannot write anywhere), 45 (PEM through a pipe and through a pty),
// 50 (/dev/tty under a pty), 52 (memfd file secret readable by the child,
// gone afterwards; RAM-directory fallback removed afterwards). The masker
// items 43-49 are in masker_test.go.
//
// Left to the e2e (CLI) level: 39 for wsx's own argv (the CLI never takes a
// value on its command line), 47's warning text, 51's refusal of a nested
// `wsx exec` and its override flag, and 41/42 as exit codes of the built
// binary; Run is what those scenarios drive.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	osexec "os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// The test binary doubles as a supervising wsx for the tests that must
// kill the supervisor or replace it (ExecInPlace).
const helperEnv = "WSX_EXEC_TEST_HELPER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(helperMain(mode))
	}
	os.Exit(m.Run())
}

func helperMain(mode string) int {
	i := 0
	for i < len(os.Args) && os.Args[i] != "--" {
		i++
	}
	argv := os.Args[i+1:]
	env := BuildEnv(os.Environ(), []Injected{{Name: "TOKEN", Value: []byte(runToken)}})
	files := []FileSecret{{Name: "CERT", Content: []byte(testPEM)}}
	opts := Options{Argv: argv, Env: env, Files: files, Stdout: os.Stdout, Stderr: os.Stderr, Mask: true, Values: [][]byte{[]byte(runToken)}, PTY: PTYNever}
	switch mode {
	case "run":
		code, err := Supervise(context.Background(), opts)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
		return code
	case "inplace-caught": // as after a run's warm-up
		warmUp()()
		fallthrough
	case "inplace":
		err := ExecInPlace(opts)
		fmt.Fprintln(os.Stderr, err)
		return 99
	}
	return 98
}

const runToken = "tok-5f1e2d3c4b5a69788796a5b4"

// sh runs script with /bin/sh; extra arguments become $1, $2, ...
func sh(script string, args ...string) []string {
	return append([]string{"/bin/sh", "-c", script, "sh"}, args...)
}

func baseEnv() []string {
	return []string{"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C"}
}

// watcher is a goroutine-safe output buffer that can wait for a string.
type watcher struct {
	mu  sync.Mutex
	buf bytes.Buffer
	ch  chan struct{}
}

func newWatcher() *watcher { return &watcher{ch: make(chan struct{}, 1)} }

func (w *watcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	select {
	case w.ch <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (w *watcher) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func (w *watcher) waitFor(t *testing.T, s string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for !strings.Contains(w.String(), s) {
		select {
		case <-w.ch:
		case <-deadline:
			t.Fatalf("timed out waiting for %q; have %q", s, w.String())
		}
	}
}

type result struct {
	code int
	err  error
}

func runAsync(opts Options) chan result {
	ch := make(chan result, 1)
	go func() {
		code, err := Supervise(context.Background(), opts)
		ch <- result{code, err}
	}()
	return ch
}

func wait(t *testing.T, ch chan result) result {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return")
	}
	return result{}
}

// SECURITY 41: exit status, or 128+N for signal N.
func TestRunExitStatus(t *testing.T) {
	cases := []struct {
		script string
		want   int
	}{
		{"exit 0", 0},
		{"exit 3", 3},
		{"kill -TERM $$", 143},
		{"kill -KILL $$", 137},
	}
	for _, mode := range []string{PTYNever, PTYAlways} {
		for _, c := range cases {
			code, err := Supervise(context.Background(), Options{Argv: sh(c.script), Env: baseEnv(), PTY: mode, group: -1})
			if err != nil || code != c.want {
				t.Errorf("%s %q: got %d, %v; want %d", mode, c.script, code, err, c.want)
			}
		}
	}
}

// SECURITY 41: INT, TERM, HUP, QUIT, WINCH sent to the supervisor reach the
// child, in each set-up.
func TestRunForwardsSignals(t *testing.T) {
	sigs := map[string]syscall.Signal{"INT": syscall.SIGINT, "TERM": syscall.SIGTERM, "HUP": syscall.SIGHUP, "QUIT": syscall.SIGQUIT, "WINCH": syscall.SIGWINCH}
	for _, mode := range []string{PTYNever, PTYAlways} {
		for name, sig := range sigs {
			out := newWatcher()
			script := `ulimit -c 0
trap 'echo got-` + name + `; exit 7' ` + name + `
echo ready
while :; do sleep 0.05; done`
			ch := runAsync(Options{Argv: sh(script), Env: baseEnv(), Stdout: out, PTY: mode, group: -1})
			out.waitFor(t, "ready")
			syscall.Kill(os.Getpid(), sig)
			r := wait(t, ch)
			if r.code != 7 || r.err != nil || !strings.Contains(out.String(), "got-"+name) {
				t.Errorf("%s %s: code %d, err %v, output %q", mode, name, r.code, r.err, out.String())
			}
		}
	}
}

// When the child shares our process group (we are the terminal's
// foreground), the terminal delivers INT itself: only TERM and HUP are
// forwarded, so a keypress is not seen twice.
func TestRunSameGroupForwarding(t *testing.T) {
	out := newWatcher()
	script := `trap 'echo got-INT' INT
trap 'echo got-TERM; exit 8' TERM
echo ready
while :; do sleep 0.05; done`
	ch := runAsync(Options{Argv: sh(script), Env: baseEnv(), Stdout: out, PTY: PTYNever, group: 1})
	out.waitFor(t, "ready")
	syscall.Kill(os.Getpid(), syscall.SIGINT)
	time.Sleep(200 * time.Millisecond)
	syscall.Kill(os.Getpid(), syscall.SIGTERM)
	r := wait(t, ch)
	if r.code != 8 || strings.Contains(out.String(), "got-INT") {
		t.Fatalf("code %d, output %q", r.code, out.String())
	}
}

// SECURITY 41: a child that ignores SIGINT keeps running; so do we.
func TestRunChildIgnoresINT(t *testing.T) {
	out := newWatcher()
	script := `trap '' INT
echo ready
sleep 0.3
echo done`
	ch := runAsync(Options{Argv: sh(script), Env: baseEnv(), Stdout: out, PTY: PTYNever, group: -1})
	out.waitFor(t, "ready")
	syscall.Kill(os.Getpid(), syscall.SIGINT)
	r := wait(t, ch)
	if r.code != 0 || !strings.Contains(out.String(), "done") {
		t.Fatalf("code %d, output %q", r.code, out.String())
	}
}

func TestRunContextCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	out := newWatcher()
	ch := make(chan result, 1)
	go func() {
		code, err := Supervise(ctx, Options{Argv: sh("echo ready; sleep 30 & wait"), Env: baseEnv(), Stdout: out, PTY: PTYNever, group: -1})
		ch <- result{code, err}
	}()
	out.waitFor(t, "ready")
	cancel()
	if r := wait(t, ch); r.code != 143 || r.err != nil {
		t.Fatalf("cancelled: code %d, err %v", r.code, r.err)
	}
}

// SECURITY 39 and 40.
func TestRunEnvAndCmdline(t *testing.T) {
	dir := t.TempDir()
	parent := append(baseEnv(), "TOKEN=stale-parent-value", "DUP=1", "DUP=2", "TOKEN=stale-2")
	env := BuildEnv(parent, []Injected{{Name: "TOKEN", Value: []byte(runToken)}})
	envFile, cmdFile := filepath.Join(dir, "env"), filepath.Join(dir, "cmdline")
	script := `cat /proc/$$/environ > "$1"; cat /proc/$$/cmdline /proc/$PPID/cmdline > "$2"`
	for _, mode := range []string{PTYNever, PTYAlways} {
		code, err := Supervise(context.Background(), Options{Argv: sh(script, envFile, cmdFile), Env: env, PTY: mode, Mask: true, Values: [][]byte{[]byte(runToken)}, group: -1})
		if code != 0 || err != nil {
			t.Fatalf("%s: code %d, err %v", mode, code, err)
		}
		raw, _ := os.ReadFile(envFile)
		seen := map[string]string{}
		for _, kv := range strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00") {
			n, v, _ := strings.Cut(kv, "=")
			if _, dup := seen[n]; dup {
				t.Fatalf("%s: %s twice in the child's environment", mode, n)
			}
			seen[n] = v
		}
		if seen["TOKEN"] != runToken || seen["DUP"] != "2" || seen[EnvMarker] != "1" {
			t.Fatalf("%s: child environment wrong (names %v)", mode, names(strings.Split(string(raw), "\x00")))
		}
		cmdline, _ := os.ReadFile(cmdFile)
		if len(cmdline) == 0 || bytes.Contains(cmdline, []byte(runToken)) {
			t.Fatalf("%s: cmdline empty or holds the value", mode)
		}
	}
}

// SECURITY 52: the memfd fallback, where no RAM filesystem exists.
func TestRunFileSecretMemfd(t *testing.T) {
	dir := t.TempDir()
	copyFile, linkFile := filepath.Join(dir, "copy"), filepath.Join(dir, "link")
	var out bytes.Buffer
	script := `echo "path=$CERT"; cat "$CERT" > "$1"; readlink /proc/$$/fd/3 > "$2"; cat "$CERT"; cat "$CERT" >/dev/null`
	code, err := Supervise(context.Background(), Options{
		Argv: sh(script, copyFile, linkFile), Env: baseEnv(), Stdout: &out, PTY: PTYNever, group: -1,
		Mask: true, Files: []FileSecret{{Name: "CERT", Content: []byte(testPEM)}}, fileMode: filesMemfdOnly,
	})
	if code != 0 || err != nil {
		t.Fatalf("code %d, err %v", code, err)
	}
	if got, _ := os.ReadFile(copyFile); string(got) != testPEM {
		t.Fatal("child read different content")
	}
	if link, _ := os.ReadFile(linkFile); !strings.HasPrefix(string(link), "/memfd:wsx-CERT") {
		t.Fatalf("fd 3 is %q, not a memfd", link)
	}
	if got := out.String(); got != "path=/dev/fd/3\n***\n" { // the value's final newline is kept
		t.Fatalf("output %s (file content must be masked)", show([]byte(got), []byte(testPEM)))
	}
	// Nothing of it left in this process.
	entries, _ := os.ReadDir("/proc/self/fd")
	for _, e := range entries {
		if l, _ := os.Readlink("/proc/self/fd/" + e.Name()); strings.Contains(l, "memfd:wsx-") {
			t.Fatalf("memfd still open in the supervisor: %s", l)
		}
	}
}

// SECURITY 52: the RAM directory is readable by a grandchild that closed
// every inherited fd, and removed when the command ends.
func TestRunFileSecretRAMDir(t *testing.T) {
	if !isRAMFS("/dev/shm") {
		t.Skip("/dev/shm is not a RAM filesystem here")
	}
	var out bytes.Buffer
	env := append(baseEnv(), "XDG_RUNTIME_DIR=/nonexistent")
	code, err := Supervise(context.Background(), Options{
		Argv: sh(`echo "$CERT"; sh -c 'for fd in 3 4 5 6 7 8 9; do eval "exec $fd<&-"; done; cmp "$CERT" -' && echo same`), Env: env, Stdout: &out, Stderr: &out, PTY: PTYNever, group: -1,
		Stdin: strings.NewReader(testPEM), Files: []FileSecret{{Name: "CERT", Content: []byte(testPEM)}},
	})
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if code != 0 || err != nil || len(lines) != 2 || lines[1] != "same" {
		t.Fatalf("code %d, err %v, output %q", code, err, out.String())
	}
	if !strings.HasPrefix(lines[0], "/dev/shm/wsx-exec-") {
		t.Fatalf("path %s", lines[0])
	}
	if _, err := os.Stat(filepath.Dir(lines[0])); !os.IsNotExist(err) {
		t.Fatalf("fallback directory left behind")
	}
}

// SECURITY 45 through pipes: stdout and stderr each masked.
func TestRunMaskPipes(t *testing.T) {
	var out, errb bytes.Buffer
	env := BuildEnv(baseEnv(), []Injected{{Name: "KEY", Value: []byte(testPEM)}, {Name: "TOKEN", Value: []byte(runToken)}})
	script := `printf '%s\n' "$KEY"; printf 'tok=%s\n' "$TOKEN" >&2; printf '%s' "$TOKEN" | base64; printf 'part=%s' "$TOKEN" | cut -c1-12`
	code, err := Supervise(context.Background(), Options{
		Argv: sh(script), Env: env, Stdout: &out, Stderr: &errb, PTY: PTYNever, group: -1,
		Mask: true, Values: [][]byte{[]byte(testPEM), []byte(runToken)},
	})
	if code != 0 || err != nil {
		t.Fatalf("code %d, err %v", code, err)
	}
	checkNoSecret(t, "stdout", out.Bytes())
	checkNoSecret(t, "stderr", errb.Bytes())
	if errb.String() != "tok=***\n" {
		t.Fatalf("stderr %s", show(errb.Bytes(), []byte(runToken), []byte(testPEM)))
	}
	// The value cut after 7 bytes is not the value: shown as is.
	// The PEM value ends in a newline and printf adds one: both stay.
	if !strings.HasSuffix(out.String(), "***\n\n***\npart="+runToken[:7]+"\n") {
		t.Fatalf("stdout %s", show(out.Bytes(), []byte(runToken), []byte(testPEM)))
	}
}

func checkNoSecret(t *testing.T, what string, b []byte) {
	t.Helper()
	if bytes.Contains(b, []byte(runToken)) {
		t.Fatalf("%s: token visible", what)
	}
	for i, l := range strings.Split(strings.TrimSpace(testPEM), "\n") {
		if bytes.Contains(b, []byte(l)) {
			t.Fatalf("%s: PEM line %d visible", what, i)
		}
	}
}

// SECURITY 45 and 50 under a pty: CRLF output, /dev/tty, input copied.
func TestRunMaskPTY(t *testing.T) {
	var out bytes.Buffer
	env := BuildEnv(baseEnv(), []Injected{{Name: "KEY", Value: []byte(testPEM)}, {Name: "TOKEN", Value: []byte(runToken)}})
	script := `printf '%s\n' "$KEY"; printf 'tty:%s\n' "$TOKEN" > /dev/tty; printf 'err:%s\n' "$TOKEN" >&2; read x; echo "got:$x"; test -t 0 && test -t 1 && echo terminals`
	code, err := Supervise(context.Background(), Options{
		Argv: sh(script), Env: env, Stdout: &out, Stdin: strings.NewReader("typed-input\n"), PTY: PTYAlways,
		Mask: true, Values: [][]byte{[]byte(testPEM), []byte(runToken)},
	})
	if code != 0 || err != nil {
		t.Fatalf("code %d, err %v", code, err)
	}
	got := out.String()
	checkNoSecret(t, "pty", out.Bytes())
	want := "***\r\n\r\ntty:***\r\nerr:***\r\ngot:typed-input\r\nterminals\r\n"
	if got != want {
		t.Fatalf("pty output %s, want %q", show([]byte(got), []byte(runToken), []byte(testPEM)), want)
	}
}

// A terminal on our stdin: raw mode while the child runs, restored after;
// window size copied at start and on SIGWINCH.
func TestRunPTYTerminalStdin(t *testing.T) {
	ptm, pts, err := pty.Open()
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	defer ptm.Close()
	defer pts.Close()
	pty.Setsize(pts, &pty.Winsize{Rows: 33, Cols: 101})
	before, err := unix.IoctlGetTermios(int(pts.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	out := newWatcher()
	script := `trap 'stty size; exit 0' WINCH
stty size
echo ready
while :; do sleep 0.05; done`
	ch := runAsync(Options{Argv: sh(script), Env: baseEnv(), Stdin: pts, Stdout: out, PTY: PTYAlways})
	out.waitFor(t, "ready")
	if st, _ := term.GetState(int(pts.Fd())); st == nil {
		t.Fatal("no terminal state")
	}
	during, _ := unix.IoctlGetTermios(int(pts.Fd()), unix.TCGETS)
	if during.Lflag&unix.ICANON != 0 || during.Lflag&unix.ECHO != 0 {
		t.Fatal("our terminal is not in raw mode while the child runs")
	}
	pty.Setsize(pts, &pty.Winsize{Rows: 40, Cols: 120})
	syscall.Kill(os.Getpid(), syscall.SIGWINCH)
	r := wait(t, ch)
	if r.code != 0 || r.err != nil || out.String() != "33 101\r\nready\r\n40 120\r\n" {
		t.Fatalf("code %d, err %v, output %q", r.code, r.err, out.String())
	}
	after, _ := unix.IoctlGetTermios(int(pts.Fd()), unix.TCGETS)
	if *after != *before {
		t.Fatal("terminal mode not restored")
	}
}

func TestRunErrors(t *testing.T) {
	_, err := Supervise(context.Background(), Options{Argv: []string{"no-such-command-wsx"}, Env: baseEnv()})
	if !errors.Is(err, osexec.ErrNotFound) {
		t.Fatalf("missing command: %v", err)
	}
	// A relative PATH entry is never searched.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "localcmd"), []byte("#!/bin/sh\nexit 0\n"), 0o755)
	_, err = Supervise(context.Background(), Options{Argv: []string{"localcmd"}, Dir: dir, Env: []string{"PATH=.:/bin"}})
	if !errors.Is(err, osexec.ErrNotFound) {
		t.Fatalf("relative PATH entry searched: %v", err)
	}
	// A path that is not an executable file: ErrStart, with the reason.
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("text\n"), 0o644)
	_, err = Supervise(context.Background(), Options{Argv: []string{"./notes.txt"}, Dir: dir, Env: baseEnv()})
	if !errors.Is(err, ErrStart) || !errors.Is(err, fs.ErrPermission) {
		t.Fatalf("file without x bit: %v", err)
	}
	if _, err := LookPath("./no-such-file", baseEnv()); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing path: %v", err)
	}
	if p, err := LookPath("sh", baseEnv()); err != nil || !filepath.IsAbs(p) {
		t.Fatalf("LookPath(sh) = %q, %v", p, err)
	}
	if _, err := Supervise(context.Background(), Options{}); !errors.Is(err, ErrNoCommand) {
		t.Fatalf("empty argv: %v", err)
	}
	if _, err := Supervise(context.Background(), Options{Argv: sh("true"), PTY: "sometimes"}); err == nil {
		t.Fatal("bad pty mode accepted")
	}
}

// SECURITY 42: the supervisor dies; the child gets SIGHUP and its output
// has nowhere to go.
func TestRunSupervisorKilled(t *testing.T) {
	dir := t.TempDir()
	pidFile, outFile, goFile := filepath.Join(dir, "pid"), filepath.Join(dir, "out"), filepath.Join(dir, "go")
	// The trap tries to write once the supervisor is reaped (goFile): the
	// hangup comes when the thread that started the child exits, which
	// may be before the dying process has closed its end of the pipe.
	script := `trap 'echo hup >> "$2"; while ! test -e "$3"; do sleep 0.01; done; if printf "%s\n" "$TOKEN" 2>/dev/null; then echo wrote >> "$2"; fi; exit 0' HUP
echo $$ > "$1"
while :; do sleep 0.05; done`
	cmd := osexec.Command(os.Args[0], append([]string{"-test.run=^$", "--"}, sh(script, pidFile, outFile, goFile)...)...)
	cmd.Env = append(os.Environ(), helperEnv+"=run")
	var helperOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &helperOut, &helperOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var childPid int
	for i := 0; i < 500 && childPid == 0; i++ {
		time.Sleep(10 * time.Millisecond)
		b, _ := os.ReadFile(pidFile)
		fmt.Sscan(string(b), &childPid)
	}
	if childPid == 0 {
		cmd.Process.Kill()
		t.Fatal("child did not start")
	}
	defer syscall.Kill(childPid, syscall.SIGKILL)
	cmd.Process.Kill()
	cmd.Wait()
	if err := os.WriteFile(goFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var got string
	for i := 0; i < 500 && !strings.Contains(got, "hup"); i++ {
		time.Sleep(10 * time.Millisecond)
		b, _ := os.ReadFile(outFile)
		got = string(b)
	}
	time.Sleep(100 * time.Millisecond) // let the trap finish its attempt to write
	b, _ := os.ReadFile(outFile)
	got = string(b)
	if got != "hup\n" {
		t.Fatalf("after the supervisor died the child recorded %q", got)
	}
	if bytes.Contains(helperOut.Bytes(), []byte(runToken)) {
		t.Fatal("token in the supervisor's output")
	}
}

// ExecInPlace: the program replaces us; file secrets survive the exec as
// memfds named under the program's own /proc entry, so a grandchild that
// closed every inherited fd still reads them; the exit status is the
// program's own.
func TestExecInPlace(t *testing.T) {
	script := `echo "token=$TOKEN"; case "$CERT" in /proc/$$/fd/*) echo fdpath;; esac; sh -c 'for fd in 3 4 5 6 7 8 9; do eval "exec $fd<&-"; done; cmp -s "$CERT" -' && echo same; exit 5`
	cmd := osexec.Command(os.Args[0], append([]string{"-test.run=^$", "--"}, sh(script)...)...)
	cmd.Env = append(os.Environ(), helperEnv+"=inplace")
	cmd.Stdin = strings.NewReader(testPEM)
	out, err := cmd.Output()
	var ee *osexec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 5 {
		t.Fatalf("exit: %v", err)
	}
	if string(out) != "token="+runToken+"\nfdpath\nsame\n" {
		t.Fatalf("output differs: %q", strings.ReplaceAll(string(out), runToken, "<token>"))
	}
}

var _ io.Writer = (*watcher)(nil)

// A signal the process started with ignored (SIGHUP under nohup) is
// still ignored in the program ExecInPlace runs, although the warm-up
// caught it.
func TestExecInPlaceKeepsIgnored(t *testing.T) {
	argv := append([]string{"/bin/sh", "-c", `trap "" HUP; exec "$0" "$@"`, os.Args[0], "-test.run=^$", "--"},
		sh(`grep '^SigIgn:' /proc/self/status`)...)
	cmd := osexec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), helperEnv+"=inplace-caught")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	f := strings.Fields(string(out))
	if len(f) != 2 {
		t.Fatalf("output %q", out)
	}
	mask, err := strconv.ParseUint(f[1], 16, 64)
	if err != nil {
		t.Fatal(err)
	}
	if mask&(1<<(syscall.SIGHUP-1)) == 0 {
		t.Errorf("SIGHUP not ignored in the program: SigIgn %s", f[1])
	}
}

// ExecInPlace gives the program the open-files limit wsx was started with,
// not the one the Go runtime raised it to.
func TestExecInPlaceFileLimit(t *testing.T) {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil || lim.Max < 512 {
		t.Skip("hard RLIMIT_NOFILE too low to lower the soft limit under it")
	}
	// Start the helper with a soft limit of 256 and the hard limit kept.
	argv := append([]string{"/bin/sh", "-c", `ulimit -Sn 256 && exec "$0" "$@"`, os.Args[0], "-test.run=^$", "--"},
		sh(`ulimit -n`)...)
	cmd := osexec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), helperEnv+"=inplace")
	cmd.Stdin = strings.NewReader(testPEM)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helper: %v", err)
	}
	if got := strings.TrimSpace(string(out)); got != "256" {
		t.Fatalf("program's open-files limit = %s, want 256", got)
	}
}

// SECURITY 69: masking through pipes while wsx has a controlling terminal
// says that /dev/tty is not masked; without one, or under a pty, nothing
// is said.
func TestRunTTYNote(t *testing.T) {
	for _, c := range []struct {
		ctty int
		pty  string
		want bool
	}{{1, PTYNever, true}, {-1, PTYNever, false}, {1, PTYAlways, false}} {
		var out, errb bytes.Buffer
		code, err := Supervise(context.Background(), Options{
			Argv: sh(`echo ok`), Env: baseEnv(), Stdout: &out, Stderr: &errb, PTY: c.pty, group: -1, ctty: c.ctty,
			Mask: true, Values: [][]byte{[]byte(runToken)},
		})
		if code != 0 || err != nil {
			t.Fatalf("code %d, err %v", code, err)
		}
		if got := strings.Contains(errb.String(), TTYNote); got != c.want {
			t.Errorf("ctty %d, pty %s: note %v, want %v (%q)", c.ctty, c.pty, got, c.want, errb.String())
		}
	}
}

// The command Run found is used when the child's PATH is the one Run
// searched, and looked up again in the child's when a secret or a file
// secret changed it.
func TestOptionsLookPath(t *testing.T) {
	found := "/run-found/sh"
	opts := Options{Argv: []string{"sh"}, Env: []string{"PATH=/usr/bin:/bin"}, path: found}
	if p, err := opts.lookPath(BuildEnv(opts.Env, nil)); p != found || err != nil {
		t.Errorf("same PATH: %q, %v; want %q", p, err, found)
	}
	if p, err := opts.lookPath([]string{"PATH=/nonexistent-wsx"}); p == found || err == nil {
		t.Errorf("other PATH: %q, %v; want not found", p, err)
	}
}

// childEnv, which Supervise and ExecInPlace share: the environment Run
// built is the child's as it is, unless file secrets add their paths;
// any other gets BuildEnv's; a command not found is ErrStart.
func TestChildEnv(t *testing.T) {
	parent := []string{"PATH=/usr/bin:/bin", "A=1", "A=2"}
	none, cert := &fileSet{}, &fileSet{env: []Injected{{Name: "CERT", Value: []byte("/dev/fd/3")}}}
	for _, c := range []struct {
		name  string
		built bool
		files *fileSet
		want  []string
	}{
		{"built by Run", true, none, parent},
		{"built by Run, file secrets", true, cert, []string{"PATH=/usr/bin:/bin", "A=2", "CERT=/dev/fd/3", EnvMarker + "=1"}},
		{"given", false, none, []string{"PATH=/usr/bin:/bin", "A=2", EnvMarker + "=1"}},
	} {
		opts := Options{Argv: []string{"sh"}, Env: parent, built: c.built}
		env, path, err := opts.childEnv(c.files)
		if err != nil || filepath.Base(path) != "sh" || !filepath.IsAbs(path) {
			t.Errorf("%s: path %q, %v", c.name, path, err)
		}
		if !slices.Equal(env, c.want) {
			t.Errorf("%s: env %q, want %q", c.name, env, c.want)
		}
	}
	opts := Options{Argv: []string{"wsx-no-such-command"}, Env: parent}
	if _, _, err := opts.childEnv(none); !errors.Is(err, ErrStart) || !errors.Is(err, osexec.ErrNotFound) {
		t.Errorf("missing command: %v, want ErrStart and ErrNotFound", err)
	}
}
