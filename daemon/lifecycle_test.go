package daemon

import (
	"context"
	"errors"
	"net"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh/agent"
)

const nobody = 65534

// SECURITY 60: a client of api.sock refuses a run directory that is not
// the user's, and sends nothing; the error names the path and the owner.
func TestDialRefusesForeignRunDir(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown needs root")
	}
	run := filepath.Join(shortDir(t), "run")
	if err := os.Mkdir(run, 0o700); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(run, APISocketName)
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	got := make(chan int, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			got <- -1
			return
		}
		c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		n, _ := c.Read(make([]byte, 512))
		c.Close()
		got <- n
	}()
	if err := os.Chown(run, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	_, _, err = Dial(sock, time.Second)
	if !errors.Is(err, ErrUntrusted) || errors.Is(err, ErrNoDaemon) {
		t.Fatalf("Dial in a run dir of uid %d: %v, want ErrUntrusted", nobody, err)
	}
	if !strings.Contains(err.Error(), run) || !strings.Contains(err.Error(), "uid 65534") {
		t.Errorf("error %q does not name %s and its owner", err, run)
	}
	l.Close()
	if n := <-got; n > 0 {
		t.Fatalf("the fake agent received %d bytes", n)
	}
	_, ok, err := Running(run, "/home", time.Second)
	if ok || !errors.Is(err, ErrUntrusted) {
		t.Fatalf("Running: %v, %v; want ErrUntrusted", ok, err)
	}
}

// Running finds the daemon that serves a store, and only that one.
func TestRunning(t *testing.T) {
	st := newTestStore(t)
	d, _ := startDaemon(t, st, nil)
	s, ok, err := Running(filepath.Dir(d.APISocket()), st.Home(), time.Second)
	if err != nil || !ok || s.PID != os.Getpid() || s.AgentSocket != d.AgentSocket() {
		t.Fatalf("Running: %+v, %v, %v", s, ok, err)
	}
	if _, ok, err := Running(filepath.Dir(d.APISocket()), "/elsewhere", time.Second); ok || err != nil {
		t.Fatalf("Running for another store: %v, %v", ok, err)
	}
	if _, ok, err := Running(filepath.Join(shortDir(t), "none"), st.Home(), time.Second); ok || err != nil {
		t.Fatalf("Running without a daemon: %v, %v", ok, err)
	}
}

// A second daemon of the same store starts when Shared: it serves its own
// SSH socket (agent.PID.sock by default, or a socket in a directory that
// is not private, as ssh-agent -a), and leaves the API to the first.
func TestSharedSecondDaemon(t *testing.T) {
	st := newTestStore(t)
	sec, pub := keySecret(t, "DEPLOY_KEY")
	if _, err := st.Add(sec); err != nil {
		t.Fatal(err)
	}
	first, c := startDaemon(t, st, nil)
	tmp := shortDir(t)
	if err := os.Chmod(tmp, 0o1777); err != nil {
		t.Fatal(err)
	}
	for name, sock := range map[string]string{"default": "", "-a in 1777": filepath.Join(tmp, "a.sock")} {
		second, _ := startDaemon(t, st, func(o *Options) { o.Shared, o.AgentSocket = true, sock })
		if second.ServesAPI() {
			t.Errorf("%s: the second daemon took the API", name)
		}
		if second.AgentSocket() == first.AgentSocket() {
			t.Fatalf("%s: both on %s", name, first.AgentSocket())
		}
		if sock != "" && second.AgentSocket() != sock {
			t.Errorf("%s: socket %s, want %s", name, second.AgentSocket(), sock)
		}
		fi, err := os.Stat(second.AgentSocket())
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: socket mode %v, %v", name, fi.Mode(), err)
		}
		conn, err := net.Dial("unix", second.AgentSocket())
		if err != nil {
			t.Fatal(err)
		}
		keys, err := agent.NewClient(conn).List()
		conn.Close()
		if err != nil {
			t.Fatalf("%s: list: %v", name, err)
		}
		if len(keys) != 1 || string(keys[0].Blob) != string(pub.Marshal()) {
			t.Errorf("%s: the second daemon lists %v, want the store's key", name, keys)
		}
	}
	if s, err := c.Status(context.Background()); err != nil || s.PID != os.Getpid() || s.AgentSocket != first.AgentSocket() {
		t.Fatalf("the API: %+v, %v", s, err)
	}
	// Without Shared, a second one is refused as before.
	d, err := New(Options{Store: st, AuditPath: filepath.Join(st.Home(), "audit.log"), RunDir: filepath.Dir(first.APISocket())})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Listen(); !errors.Is(err, ErrAgentRunning) {
		t.Fatalf("second daemon, not shared: %v", err)
	}
}

// SECURITY 71: -k signals only a wsx agent of this user.
func TestKillRefuses(t *testing.T) {
	for _, pid := range []int{0, 1, -1} {
		if err := Kill(pid, "", ""); !errors.Is(err, ErrNotAgent) {
			t.Errorf("Kill(%d): %v, want ErrNotAgent", pid, err)
		}
	}
	other := osexec.Command("sleep", "30")
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { other.Process.Kill(); other.Wait() }()
	if err := Kill(other.Process.Pid, "", ""); !errors.Is(err, ErrNotAgent) || !strings.Contains(err.Error(), "sleep") {
		t.Errorf("Kill(sleep): %v, want ErrNotAgent naming it", err)
	}
	if os.Geteuid() == 0 {
		// This very binary, but as another user.
		foreign := osexec.Command(copyTestBinary(t), "-test.run=^TestHelperProcess$")
		foreign.Env = []string{helperEnv + "=wait"}
		foreign.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
		stdin, _ := foreign.StdinPipe()
		if err := foreign.Start(); err != nil {
			t.Fatal(err)
		}
		err := Kill(foreign.Process.Pid, "", "")
		stdin.Close()
		foreign.Wait()
		if !errors.Is(err, ErrNotAgent) || !strings.Contains(err.Error(), "uid 65534") {
			t.Errorf("Kill of uid %d: %v, want ErrNotAgent", nobody, err)
		}
	}
	if err := syscall.Kill(other.Process.Pid, 0); err != nil {
		t.Fatalf("a refused process was signalled: %v", err)
	}
}

// Kill stops this binary's process, or the one that answers on the agent
// socket, and returns once it is gone.
func TestKillStopsAgent(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	helper := osexec.Command(self, "-test.run=^TestHelperProcess$")
	helper.Env = []string{helperEnv + "=wait"}
	if _, err := helper.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan struct{})
	go func() { helper.Wait(); close(waited) }()
	if err := Kill(helper.Process.Pid, "", ""); err != nil {
		t.Fatalf("Kill of this binary: %v", err)
	}
	select {
	case <-waited:
	case <-time.After(time.Second):
		t.Fatal("Kill returned before the process was gone")
	}
	bin, err := osexec.LookPath("ssh-agent")
	if err != nil {
		t.Skip("ssh-agent not installed")
	}
	sock := filepath.Join(shortDir(t), "s")
	sa := osexec.Command(bin, "-D", "-a", sock)
	if err := sa.Start(); err != nil {
		t.Fatal(err)
	}
	saDone := make(chan struct{})
	go func() { sa.Wait(); close(saDone) }()
	for i := 0; ; i++ {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			break
		}
		if i > 500 {
			t.Fatal("ssh-agent did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := Kill(sa.Process.Pid, "", ""); !errors.Is(err, ErrNotAgent) {
		t.Fatalf("Kill of ssh-agent without its socket: %v", err)
	}
	if err := Kill(sa.Process.Pid, sock, ""); err != nil {
		t.Fatalf("Kill of the agent on SSH_AUTH_SOCK: %v", err)
	}
	select {
	case <-saDone:
	case <-time.After(time.Second):
		t.Fatal("ssh-agent still running")
	}
}

// helperEnv selects the test binary's role when it runs as a helper.
const helperEnv = "WSX_DAEMON_TEST_HELPER"

// TestHelperProcess is not a test: it is a process for Kill to stop.
func TestHelperProcess(t *testing.T) {
	if os.Getenv(helperEnv) == "" {
		t.Skip("helper process")
	}
	b := make([]byte, 1)
	os.Stdin.Read(b)
	os.Exit(0)
}

// copyTestBinary copies the test binary where every user may run it.
func copyTestBinary(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := shortDir(t)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "helper.test")
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}
