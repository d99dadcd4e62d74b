package e2e

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fakeAgentPy listens on the socket it is given, says "ready", and for
// each connection says how many bytes it received.
const fakeAgentPy = `import socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(8)
print("ready", flush=True)
while True:
    c, _ = s.accept()
    c.settimeout(2)
    n = 0
    try:
        while True:
            b = c.recv(65536)
            if not b:
                break
            n += len(b)
    except OSError:
        pass
    print("received", n, flush=True)
    c.close()
`

// TestCredentialHelperRefusesFakeAgent is SECURITY.md 60 for the helper
// git runs: a listener of another user on the API socket, in a run
// directory planted in a place everyone may write (XDG_RUNTIME_DIR under
// a 1777 directory, as /tmp) or in the user's own run directory, is sent
// nothing; `git credential fill` gets no password, wsx names the socket
// and its owner (exit 5), and the canary is nowhere.
func TestCredentialHelperRefusesFakeAgent(t *testing.T) {
	requireTools(t, "git", "/usr/bin/python3")
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a listener as another user")
	}
	base := shortTempDir(t)
	shared := filepath.Join(base, "tmp")
	pass := filepath.Join(base, "pass")
	if err := os.Chmod(base, 0o711); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(shared, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(shared, 0o1777); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pass, []byte("fake agent test passphrase\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=" + binDir + ":" + os.Getenv("PATH"), "HOME=" + filepath.Join(base, "home"),
		"XDG_RUNTIME_DIR=" + shared, "WSX_PASSPHRASE_FILE=" + pass, "GIT_CONFIG_NOSYSTEM=1",
		"GIT_TERMINAL_PROMPT=0", "TZ=UTC"}
	var transcript bytes.Buffer
	run := func(stdin string, name string, args ...string) (string, string, error) {
		t.Helper()
		c := exec.Command(name, args...)
		c.Dir, c.Env, c.Stdin = base, env, strings.NewReader(stdin)
		var stdout, stderr bytes.Buffer
		c.Stdout, c.Stderr = &stdout, &stderr
		err := c.Run()
		transcript.Write(stdout.Bytes())
		transcript.Write(stderr.Bytes())
		return stdout.String(), stderr.String(), err
	}
	wsx := filepath.Join(binDir, "wsx")
	for _, args := range [][]string{{"init", "--kdf-memory", "8", "--kdf-time", "1"}, {"git", "setup", "--global"}} {
		if _, errOut, err := run("", wsx, args...); err != nil {
			t.Fatalf("wsx %s: %v\n%s", strings.Join(args, " "), err, errOut)
		}
	}
	if _, errOut, err := run(canary, wsx, "add", "FAKE_TOKEN", "--host", "git.example.test"); err != nil {
		t.Fatalf("wsx add: %v\n%s", err, errOut)
	}
	runDir := filepath.Join(shared, "wsx")
	nobody := &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{}}
	for _, tc := range []struct {
		name    string
		refused string // what the refusal names
		dialled bool   // whether the fake is reached at all (and sent nothing)
		plant   func() // makes runDir, where nobody may create its socket
		after   func() // once nobody listens
	}{{
		name: "run dir planted by another user", refused: runDir + ": directory",
		plant: func() { mkdirOwned(t, runDir, 0o700, 65534) }, after: func() {},
	}, {
		name: "listener of another user in the user's run dir", refused: runDir + "/api.sock: listener", dialled: true,
		plant: func() { mkdirOwned(t, runDir, 0o777, 0) },
		after: func() {
			if err := os.Chmod(runDir, 0o700); err != nil {
				t.Fatal(err)
			}
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			os.RemoveAll(runDir)
			tc.plant()
			fake := startFakeAgent(t, filepath.Join(runDir, "api.sock"), nobody)
			tc.after()

			req := "protocol=https\nhost=git.example.test\n\n"
			out, errOut, err := run(req, "git", "credential", "fill")
			if err == nil || strings.Contains(out, "password=") {
				t.Errorf("git credential fill: %v, printed %q", err, out)
			}
			if !strings.Contains(errOut, "refusing "+tc.refused) || !strings.Contains(errOut, "uid 65534") {
				t.Errorf("git credential fill does not say which socket was refused: %q", errOut)
			}
			out, errOut, err = run(req, filepath.Join(binDir, "git-credential-wsx"), "get")
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 5 || out != "" {
				t.Errorf("git-credential-wsx get: %v, printed %q, said %q; want exit 5 and nothing", err, out, errOut)
			}
			got := fake.stop()
			if !onlyZero(got) {
				t.Errorf("the fake agent was sent something:\n%s", got)
			}
			if tc.dialled && got == "" {
				t.Errorf("the fake agent was never dialled: the test did not reach the listener check")
			}
		})
	}
	if hits := scanForCanary(base, transcript.Bytes()); len(hits) > 0 {
		t.Fatalf("canary found in: %s", strings.Join(hits, ", "))
	}
}

// mkdirOwned makes dir with mode perm, owned by uid.
func mkdirOwned(t *testing.T, dir string, perm os.FileMode, uid int) {
	t.Helper()
	if err := os.Mkdir(dir, perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, uid, uid); err != nil {
		t.Fatal(err)
	}
}

// fakeAgent is a listener of another user on an agent's socket.
type fakeAgent struct {
	cmd  *exec.Cmd
	out  bytes.Buffer
	done chan struct{} // closed once out holds all it said
}

// startFakeAgent runs fakeAgentPy as cred on sock and waits for it to
// listen.
func startFakeAgent(t *testing.T, sock string, cred *syscall.Credential) *fakeAgent {
	t.Helper()
	c := exec.Command("/usr/bin/python3", "-c", fakeAgentPy, sock)
	c.Dir = "/"
	c.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	pipe, err := c.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	c.Stderr = &stderr
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	f := &fakeAgent{cmd: c, done: make(chan struct{})}
	r := bufio.NewReader(pipe)
	line, err := r.ReadString('\n')
	go func() {
		f.out.ReadFrom(r)
		close(f.done)
	}()
	t.Cleanup(func() { f.stop() })
	if line != "ready\n" {
		t.Fatalf("the fake agent did not start: %q %v\n%s", line, err, stderr.Bytes())
	}
	return f
}

// stop ends the fake agent and returns what it said of its connections.
func (f *fakeAgent) stop() string {
	if f.cmd.ProcessState == nil {
		f.cmd.Process.Kill()
		<-f.done
		f.cmd.Wait()
	}
	return f.out.String()
}

// onlyZero reports whether every connection the fake agent saw sent it 0
// bytes.
func onlyZero(log string) bool {
	return strings.ReplaceAll(log, "received 0\n", "") == ""
}

// SECURITY 66 for git-credential-wsx, which holds the answer: started with
// `ulimit -c unlimited` and GOTRACEBACK=crash, and killed by SIGABRT while
// it reads git's request for the agent, it leaves no core file.
func TestCredentialHelperNoCoreFile(t *testing.T) {
	dir := shortTempDir(t)
	w := newWSXRunner(t, dir)
	w.run(nil, true, "init", "--kdf-memory", "8", "--kdf-time", "1")
	_, pid, err := startAgent(w.env)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopAgent(pid) })
	c := exec.Command("sh", "-c", `ulimit -c unlimited && exec "$0" get`, filepath.Join(binDir, "git-credential-wsx"))
	c.Dir, c.Env = dir, append(w.env, "GOTRACEBACK=crash")
	stdin, err := c.StdinPipe() // left open: the helper waits for the request
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	// nodump.Process has run once the soft core limit is 0 again.
	limits := "/proc/" + strconv.Itoa(c.Process.Pid) + "/limits"
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if b, _ := os.ReadFile(limits); regexp.MustCompile(`(?m)^Max core file size +0 `).Match(b) {
			break
		}
		if time.Now().After(end) {
			c.Process.Kill()
			c.Wait()
			t.Fatal("git-credential-wsx kept a core file size limit")
		}
	}
	if err := c.Process.Signal(syscall.SIGABRT); err != nil {
		t.Fatal(err)
	}
	c.Wait()
	cores, _ := filepath.Glob(filepath.Join(dir, "core*"))
	if len(cores) > 0 {
		t.Errorf("core files: %v", cores)
	}
}
