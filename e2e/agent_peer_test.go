package e2e

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestAgentRefusesOtherUID is SECURITY.md 25: a client of another uid is
// closed before any request, on the SSH socket and on the local API, even
// with the run directory and sockets opened to everyone, and the refusal
// is audited; the owner is still served. It runs the real ssh-add (and
// curl, when installed) as nobody, which needs root.
func TestAgentRefusesOtherUID(t *testing.T) {
	requireTools(t, "ssh-add", "ssh-keygen")
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a client as another user")
	}
	dir := shortTempDir(t)
	home := filepath.Join(dir, "h")
	pass := filepath.Join(dir, "pass")
	if err := os.WriteFile(pass, []byte("peer test passphrase\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=" + binDir + ":" + os.Getenv("PATH"), "HOME=" + dir, "WSX_HOME=" + home,
		"WSX_PASSPHRASE_FILE=" + pass, "TZ=UTC"}
	var transcript bytes.Buffer
	run := func(cred bool, stdin []byte, name string, args ...string) (string, string, error) {
		t.Helper()
		if name == "wsx" {
			name = filepath.Join(binDir, "wsx")
		}
		c := exec.Command(name, args...)
		c.Dir, c.Env = dir, env
		if cred {
			c.Dir = "/"
			c.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{}}}
		}
		c.Stdin = bytes.NewReader(stdin)
		var stdout, stderr bytes.Buffer
		c.Stdout, c.Stderr = &stdout, &stderr
		err := c.Run()
		transcript.Write(stdout.Bytes())
		transcript.Write(stderr.Bytes())
		return stdout.String(), stderr.String(), err
	}
	must := func(stdin []byte, name string, args ...string) string {
		t.Helper()
		out, errOut, err := run(false, stdin, name, args...)
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, errOut)
		}
		return out
	}
	must(nil, "wsx", "init", "--kdf-memory", "8", "--kdf-time", "1")
	must(nil, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "peer", "-f", filepath.Join(dir, "key"))
	must(nil, "wsx", "add", "PEER_KEY", "--type", "key", "--from-file", filepath.Join(dir, "key"))
	os.Remove(filepath.Join(dir, "key"))
	must([]byte(canary), "wsx", "add", "PEER_TOKEN")
	vars, err := parseAgentEnv(must(nil, "wsx", "agent", "-s"))
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(vars["SSH_AGENT_PID"])
	t.Cleanup(func() { stopAgent(pid) })
	env = append(env, "SSH_AUTH_SOCK="+vars["SSH_AUTH_SOCK"])

	// Everyone may reach the sockets: only the peer check stands.
	runDir := filepath.Join(home, "run")
	for path, mode := range map[string]os.FileMode{
		dir: 0o711, home: 0o711, runDir: 0o711, binDir: 0o711,
		filepath.Join(runDir, "agent.sock"): 0o666, filepath.Join(runDir, "api.sock"): 0o666,
	} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(path, fi.Mode().Perm()) })
	}

	out, errOut, err := run(true, nil, "ssh-add", "-l")
	if err == nil || strings.Contains(out, "PEER_KEY") {
		t.Fatalf("ssh-add -l as nobody: err %v, output %q", err, out)
	}
	// Closed under its feet, ssh-add either says so or dies of SIGPIPE
	// while writing its request.
	var ee *exec.ExitError
	sigpipe := errors.As(err, &ee) && ee.Sys().(syscall.WaitStatus).Signal() == syscall.SIGPIPE
	if !sigpipe && !strings.Contains(errOut, "communication with agent failed") && !strings.Contains(errOut, "error fetching identities") {
		t.Errorf("ssh-add -l as nobody: %v, said %q", err, errOut)
	}
	out, _, err = run(true, nil, "wsx", "list")
	if err == nil || strings.Contains(out, "PEER_") {
		t.Fatalf("wsx list as nobody: err %v, output %q", err, out)
	}
	if _, err := exec.LookPath("curl"); err == nil {
		out, _, err = run(true, nil, "curl", "-sS", "--max-time", "5", "--unix-socket", filepath.Join(runDir, "api.sock"), "http://wsx/v1/secrets")
		if err == nil || strings.Contains(out, "PEER_") {
			t.Fatalf("curl on the API as nobody: err %v, output %q", err, out)
		}
	}

	// The owner is still served, and the refusals are in the audit log.
	if out := must(nil, "ssh-add", "-l"); !strings.Contains(out, "PEER_KEY") {
		t.Fatalf("owner's ssh-add -l: %q", out)
	}
	log := must(nil, "wsx", "audit", "--json")
	for _, via := range []string{"agent", "api"} {
		if !hasRecord(log, `"event":"denied"`, `"actor":{"uid":65534`, `"via":"`+via+`"`) {
			t.Errorf("no denied record for uid 65534 via %s in:\n%s", via, log)
		}
	}
	if hits := scanForCanary(dir, transcript.Bytes()); len(hits) > 0 {
		t.Fatalf("canary found in: %s", strings.Join(hits, ", "))
	}
}

// hasRecord reports whether a line of log contains all of parts.
func hasRecord(log string, parts ...string) bool {
	for _, line := range strings.Split(log, "\n") {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(line, p)
		}
		if ok {
			return true
		}
	}
	return false
}

// shortTempDir is a temp directory with a short path (unix socket paths
// are limited to 107 bytes), removed at the end of the test.
func shortTempDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "wsxe")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Log(err)
		}
	})
	return dir
}

// TestAgentHardened is SECURITY.md 38 for the agent process itself: no
// core files (the limit is 0 for the running agent). Non-dumpability is
// tested in sshagent, where a process of another dumpability can be made.
func TestAgentHardened(t *testing.T) {
	dir := shortTempDir(t)
	pass := filepath.Join(dir, "pass")
	if err := os.WriteFile(pass, []byte("hardened passphrase"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "WSX_HOME=" + filepath.Join(dir, "h"), "WSX_PASSPHRASE_FILE=" + pass}
	wsx := func(args ...string) string {
		t.Helper()
		c := exec.Command(filepath.Join(binDir, "wsx"), args...)
		c.Env = env
		out, err := c.Output()
		if err != nil {
			t.Fatalf("wsx %s: %v", strings.Join(args, " "), err)
		}
		return string(out)
	}
	wsx("init", "--kdf-memory", "8", "--kdf-time", "1")
	vars, err := parseAgentEnv(wsx("agent", "-s"))
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(vars["SSH_AGENT_PID"])
	t.Cleanup(func() { stopAgent(pid) })
	limits, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/limits")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(limits), "\n") {
		if strings.HasPrefix(line, "Max core file size") {
			if f := strings.Fields(line); len(f) < 6 || f[4] != "0" || f[5] != "0" {
				t.Fatalf("agent core limit: %q", line)
			}
			return
		}
	}
	t.Fatal("no core limit in /proc/PID/limits")
}
