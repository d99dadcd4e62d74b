package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestAgentStopsQuickly: after SIGTERM (what `wsx agent -k` sends) the
// agent flushes its records and is gone within 100 ms (the median of
// five stops; each must be under a second on a loaded machine).
func TestAgentStopsQuickly(t *testing.T) {
	requireTools(t, "ssh-add")
	dir := shortTempDir(t)
	pass := filepath.Join(dir, "pass")
	if err := os.WriteFile(pass, []byte("kill test passphrase\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=" + binDir + ":" + os.Getenv("PATH"), "HOME=" + dir, "WSX_HOME=" + filepath.Join(dir, "h"),
		"WSX_PASSPHRASE_FILE=" + pass, "TZ=UTC"}
	wsx := func(args ...string) {
		t.Helper()
		c := exec.Command(filepath.Join(binDir, "wsx"), args...)
		c.Env = env
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("wsx %v: %v\n%s", args, err, out)
		}
	}
	wsx("init", "--kdf-memory", "8", "--kdf-time", "1")
	var took []time.Duration
	for range 5 {
		vars, pid, err := startAgent(env)
		if err != nil {
			t.Fatal(err)
		}
		wsx("list")
		c := exec.Command("ssh-add", "-l")
		c.Env = append(env, "SSH_AUTH_SOCK="+vars["SSH_AUTH_SOCK"])
		c.Run()
		fd, err := unix.PidfdOpen(pid, 0)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if err := unix.PidfdSendSignal(fd, unix.SIGTERM, nil, 0); err != nil {
			t.Fatal(err)
		}
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, 1000)
		d := time.Since(start)
		unix.Close(fd)
		if err != nil || n == 0 {
			stopAgent(pid)
			t.Fatalf("agent pid %d still running 1 s after SIGTERM", pid)
		}
		took = append(took, d)
		if _, err := os.Stat(vars["SSH_AUTH_SOCK"]); err == nil {
			t.Fatal("the agent left its socket behind")
		}
	}
	slices.Sort(took)
	t.Logf("SIGTERM to gone: %v", took)
	if med := took[len(took)/2]; med > 100*time.Millisecond {
		t.Fatalf("median stop %v, want within 100 ms", med)
	}
	wsx("audit", "verify")
}
