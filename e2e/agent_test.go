package e2e

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// agentCmds are the script commands of the agent scenarios
// (testdata/agent_*.txtar); TestScripts has them too.
var agentCmds = map[string]func(*testscript.TestScript, bool, []string){
	"agentenv": cmdAgentEnv,
	"sshd":     cmdSSHD,
	"waitfor":  cmdWaitFor,
}

// envLine and cshLine are lines of ssh-agent's sh and csh output.
var (
	envLine = regexp.MustCompile(`^([A-Z_]+)=([^;]*); export ([A-Z_]+);$`)
	cshLine = regexp.MustCompile(`^setenv ([A-Z_]+) ([^;]*);$`)
)

// cmdAgentEnv reads the output of the last command (`wsx agent -s` or
// -c), checks every line has ssh-agent's form, and sets SSH_AUTH_SOCK and
// SSH_AGENT_PID in the script's environment, as eval would. The agent is
// stopped when the script ends, if it still runs.
func cmdAgentEnv(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: agentenv")
	}
	vars, err := parseAgentEnv(ts.ReadFile("stdout"))
	if err != nil {
		ts.Fatalf("agentenv: %v", err)
	}
	pid, err := strconv.Atoi(vars["SSH_AGENT_PID"])
	ts.Check(err)
	ts.Setenv("SSH_AUTH_SOCK", vars["SSH_AUTH_SOCK"])
	ts.Setenv("SSH_AGENT_PID", vars["SSH_AGENT_PID"])
	ts.Defer(func() { stopAgent(pid) })
}

// startAgent runs `wsx agent -s ARGS` with env and returns the variables it
// printed and the agent's pid; the caller stops it with stopAgent.
func startAgent(env []string, args ...string) (map[string]string, int, error) {
	cmd := exec.Command(filepath.Join(binDir, "wsx"), append([]string{"agent", "-s"}, args...)...)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, 0, fmt.Errorf("start the agent: %v\n%s", err, stderr.Bytes())
	}
	vars, err := parseAgentEnv(string(out))
	if err != nil {
		return nil, 0, err
	}
	pid, err := strconv.Atoi(vars["SSH_AGENT_PID"])
	return vars, pid, err
}

// parseAgentEnv checks ssh-agent's sh output: the two assignments, then
// the echo line naming the same pid.
func parseAgentEnv(out string) (map[string]string, error) {
	vars := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(out))
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) != 3 {
		return nil, fmt.Errorf("%d lines of output, want 3: %q", len(lines), out)
	}
	for _, l := range lines[:2] {
		if m := cshLine.FindStringSubmatch(l); m != nil {
			vars[m[1]] = m[2]
			continue
		}
		m := envLine.FindStringSubmatch(l)
		if m == nil || m[1] != m[3] {
			return nil, fmt.Errorf("line %q is neither NAME=VALUE; export NAME; nor setenv NAME VALUE;", l)
		}
		vars[m[1]] = m[2]
	}
	if vars["SSH_AUTH_SOCK"] == "" || vars["SSH_AGENT_PID"] == "" {
		return nil, fmt.Errorf("SSH_AUTH_SOCK or SSH_AGENT_PID missing: %q", out)
	}
	if want := "echo Agent pid " + vars["SSH_AGENT_PID"] + ";"; lines[2] != want {
		return nil, fmt.Errorf("last line %q, want %q", lines[2], want)
	}
	return vars, nil
}

// stopAgent ends the agent of pid, if it still runs: SIGTERM, then SIGKILL
// after five seconds.
func stopAgent(pid int) {
	if syscall.Kill(pid, syscall.SIGTERM) != nil {
		return
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if gone(pid) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	syscall.Kill(pid, syscall.SIGKILL)
}

// gone reports whether process pid has exited (a zombie counts).
func gone(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	i := bytes.LastIndexByte(b, ')')
	return i > 0 && i+2 < len(b) && b[i+2] == 'Z'
}

// sshdPath is where Debian's openssh-server puts sshd; sshd must be
// started by its absolute path.
const sshdPath = "/usr/sbin/sshd"

// TestSSHDInCI fails under CI when sshd is missing: the scripts that need
// it skip themselves elsewhere.
func TestSSHDInCI(t *testing.T) {
	if _, err := os.Stat(sshdPath); err != nil && os.Getenv("CI") == "true" {
		t.Fatalf("%s is missing; `make test` installs it (scripts/deps.sh)", sshdPath)
	}
}

// cmdSSHD starts OpenSSH's sshd on 127.0.0.1 with a configuration and
// host key of its own in $WORK/sshd, never the system's, accepting only
// public keys listed in AUTHKEYS (for any user): `sshd AUTHKEYS`. It sets
// SSHD_PORT and SSHD_USER (the user running the tests) and stops sshd when
// the script ends. sshd's log is $WORK/sshd/log.
func cmdSSHD(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: sshd AUTHKEYS")
	}
	bin := sshdPath
	if _, err := os.Stat(bin); err != nil {
		ts.Fatalf("sshd is missing; `make test` installs it (scripts/deps.sh); scripts skip with [!exec:%s]", sshdPath)
	}
	if os.Geteuid() == 0 {
		// sshd as root needs its privilege separation directory, which
		// the system's service creates at boot; an empty 0755 directory.
		if err := os.Mkdir("/run/sshd", 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			ts.Fatalf("sshd: %v", err)
		}
	}
	dir := filepath.Join(ts.Getenv("WORK"), "sshd")
	ts.Check(os.MkdirAll(dir, 0o700))
	hostKey := filepath.Join(dir, "host_ed25519")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "wsx-test-host", "-f", hostKey).CombinedOutput(); err != nil {
		ts.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	authKeys := ts.MkAbs(args[0])
	var cmd *exec.Cmd
	var port int
	for attempt := 0; ; attempt++ {
		port = freePort(ts)
		conf := filepath.Join(dir, "sshd_config")
		ts.Check(os.WriteFile(conf, []byte(strings.Join([]string{
			"Port " + strconv.Itoa(port),
			"ListenAddress 127.0.0.1",
			"HostKey " + hostKey,
			"PidFile none",
			"AuthorizedKeysFile " + authKeys,
			"AuthenticationMethods publickey",
			"PubkeyAuthentication yes",
			"PasswordAuthentication no",
			"KbdInteractiveAuthentication no",
			"PermitRootLogin prohibit-password",
			// The test's files live under a temp dir whose modes sshd
			// would otherwise refuse.
			"StrictModes no",
			"UsePAM no",
			"PrintMotd no",
			"LogLevel VERBOSE",
			"",
		}, "\n")), 0o600))
		logf, err := os.OpenFile(filepath.Join(dir, "log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		ts.Check(err)
		cmd = exec.Command(bin, "-D", "-e", "-f", conf)
		cmd.Stdout, cmd.Stderr = logf, logf
		ts.Check(cmd.Start())
		logf.Close()
		if waitPort(port, cmd) {
			break
		}
		cmd.Process.Kill()
		cmd.Wait()
		if attempt == 2 {
			log, _ := os.ReadFile(filepath.Join(dir, "log"))
			ts.Fatalf("sshd did not start:\n%s", log)
		}
	}
	ts.Defer(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	ts.Setenv("SSHD_PORT", strconv.Itoa(port))
	ts.Setenv("SSHD_USER", currentUser())
}

func freePort(ts *testscript.TestScript) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	ts.Check(err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitPort waits until something listens on port, or cmd exits.
func waitPort(port int, cmd *exec.Cmd) bool {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
		if err == nil {
			c.Close()
			return true
		}
		if syscall.Kill(cmd.Process.Pid, 0) != nil || gone(cmd.Process.Pid) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

func currentUser() string {
	if u := os.Getenv("USER"); u != "" && os.Geteuid() != 0 {
		return u
	}
	out, err := exec.Command("id", "-un").Output()
	if err != nil {
		return "root"
	}
	return strings.TrimSpace(string(out))
}

// cmdWaitFor waits, at most ten seconds, for something the agent does in
// the background: `waitfor gone PATH` until PATH does not exist, `waitfor
// match REGEXP FILE` until FILE has a line matching REGEXP.
func cmdWaitFor(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: waitfor gone PATH | waitfor match REGEXP FILE")
	}
	var done func() bool
	switch {
	case args[0] == "gone" && len(args) == 2:
		path := ts.MkAbs(args[1])
		done = func() bool {
			_, err := os.Lstat(path)
			return errors.Is(err, fs.ErrNotExist)
		}
	case args[0] == "match" && len(args) == 3:
		re, err := regexp.Compile("(?m)" + args[1])
		ts.Check(err)
		path := ts.MkAbs(args[2])
		done = func() bool {
			b, err := os.ReadFile(path)
			return err == nil && re.Match(b)
		}
	default:
		ts.Fatalf("usage: waitfor gone PATH | waitfor match REGEXP FILE")
	}
	deadline := time.Now().Add(10 * time.Second)
	for !done() {
		if time.Now().After(deadline) {
			ts.Fatalf("waitfor %s: not after 10s", strings.Join(args, " "))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestScriptsViaAgent runs scenarios written for commands that open the
// store themselves with a wsx agent serving the store instead: the agent
// is started right after `wsx init`, and the passphrase file is then
// overwritten with a wrong passphrase, so any command that still opened
// the store itself would fail (exit 4). Same scripts, same results.
// audit.txtar is left out: it counts records, and the agent adds its own
// (`unlocked` at start).
func TestScriptsViaAgent(t *testing.T) {
	requireTools(t, "git", "ssh", "ssh-add", "ssh-keygen", "ssh-agent")
	var files []string
	for _, name := range []string{"secrets", "credential_clone", "credential_store",
		"credential_hosts", "credential_submodule", "credential_wrong",
		"credential_expiry", "credential_scheme", "credential_empty",
		"exec_env", "exec_files", "exec_audit", "exec_nested", "exec_signals", "exec_pty",
		"template_exec", "lifecycle_rotation", "scan_hook", "scan_history", "tamper", "exec_rename"} {
		files = append(files, filepath.Join("testdata", name+".txtar"))
	}
	cmds := scriptCmds()
	cmds["wsx"] = cmdWSXViaAgent
	testscript.Run(t, testscript.Params{
		Files:               files,
		RequireUniqueNames:  true,
		RequireExplicitExec: true,
		Setup:               setup,
		Condition:           condition,
		Cmds:                cmds,
	})
}

// scriptCmds is a copy of TestScripts' commands.
func scriptCmds() map[string]func(*testscript.TestScript, bool, []string) {
	cmds := map[string]func(*testscript.TestScript, bool, []string){
		"wsx":       cmdWSX,
		"run":       cmdRun,
		"status":    cmdStatus,
		"canary":    cmdCanary,
		"gitserver": cmdGitServer,
		"sarif":     cmdSARIF,
	}
	for k, v := range agentCmds {
		cmds[k] = v
	}
	return cmds
}

// cmdWSXViaAgent is cmdWSX that starts a wsx agent after the script's
// first successful `wsx init`, then spoils the passphrase file.
func cmdWSXViaAgent(ts *testscript.TestScript, neg bool, args []string) {
	cmdWSX(ts, neg, args)
	if neg || !isInit(args) || ts.Getenv("WSX_TEST_AGENT_PID") != "" {
		return
	}
	home := ts.Getenv("WSX_HOME")
	pass := ts.Getenv("PASSFILE")
	var env []string
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "TZ", "XDG_RUNTIME_DIR", "WSX_HOME"} {
		env = append(env, k+"="+ts.Getenv(k))
	}
	vars, pid, err := startAgent(env, "--passphrase-file", pass)
	if err != nil {
		ts.Fatalf("%v", err)
	}
	ts.Defer(func() { stopAgent(pid) })
	ts.Setenv("WSX_TEST_AGENT_PID", vars["SSH_AGENT_PID"])
	ts.Check(os.WriteFile(pass, []byte("not the passphrase any more\n"), 0o600))
	ts.Logf("wsx agent pid %d serves %s; %s now holds a wrong passphrase", pid, home, pass)
}

func isInit(args []string) bool {
	for _, a := range args {
		if !strings.HasPrefix(a, "-") {
			return a == "init"
		}
	}
	return false
}
