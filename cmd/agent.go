package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	osexec "os/exec"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/wsxdev/wsx/daemon"
	"github.com/wsxdev/wsx/sshagent"
	"github.com/wsxdev/wsx/store"
)

// runDir is where the agent's sockets live: WSX_HOME/run when WSX_HOME is
// set, else $XDG_RUNTIME_DIR/wsx (wsx-NAME for WSX_WORKSPACE=NAME), else
// the store's home/run.
func runDir(env *Env, home string) string {
	if env.Getenv("WSX_HOME") != "" {
		return filepath.Join(home, "run")
	}
	if x := env.Getenv("XDG_RUNTIME_DIR"); filepath.IsAbs(x) {
		if name, err := storeDirName(env); err == nil {
			return filepath.Join(x, name)
		}
	}
	return filepath.Join(home, "run")
}

// agentChildFlag marks the detached daemon process started by `wsx agent`.
const agentChildFlag = "--daemon-child"

// agentOptions are ssh-agent's options, and wsx's own.
type agentOptions struct {
	Csh        bool          // -c; -s clears it
	ShellSet   bool          // -c or -s given
	Socket     string        // -a
	Debug      bool          // -d
	Foreground bool          // -D (or -d)
	Kill       bool          // -k
	Lifetime   time.Duration // -t
	LockAfter  time.Duration // --lock-after
	PassFile   string        // --passphrase-file after `agent`
	Command    []string      // CMD ARGS
	Help       bool

	child    bool // the detached daemon
	watchPID int  // the child exits when this process does (CMD mode)
}

const agentUsage = `usage: wsx agent [-c | -s] [-Dd] [-a SOCKET] [-t LIFE] [--lock-after DURATION] [CMD [ARG...]]
       wsx agent [-c | -s] -k

Runs the wsx agent: an SSH agent serving the store's keys (and keys added with
ssh-add), and the local API through which wsx commands use the unlocked store.
The store is unlocked once at start (--passphrase-file, WSX_PASSPHRASE_FILE or
the terminal; with none of them it starts locked until ` + "`wsx unlock`" + `).

  -s, -c          print the environment in sh or csh form (default: from $SHELL)
  -a SOCKET       the SSH agent socket (default: the run directory's agent.sock)
  -d              debug: stay in the foreground and log to stderr
  -D              stay in the foreground
  -k              kill the agent named by SSH_AGENT_PID
  -t LIFE         default lifetime of added keys: 600, 10m, 1h30m
  --lock-after D  lock the store after D without use (default 1h; 0 never)
  CMD [ARG...]    run CMD with the agent, and stop the agent when CMD exits

Sockets live in $WSX_HOME/run when WSX_HOME is set, else $XDG_RUNTIME_DIR/wsx.
`

func agentCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:            "agent",
		Usage:           "run the wsx agent: SSH agent and local API (ssh-agent's options)",
		UsageText:       "wsx agent [-c | -s] [-Dd] [-a SOCKET] [-t LIFE] [--lock-after DURATION] [CMD [ARG...]]",
		ArgsUsage:       "[CMD [ARG...]]",
		SkipFlagParsing: true,
		Action: action(env, func(s *session, c *cli.Context) error {
			o, err := parseAgentArgs(c.Args().Slice())
			if err != nil {
				return err
			}
			if o.Help {
				_, err := fmt.Fprint(env.Stdout, agentUsage)
				return err
			}
			return s.runAgent(o)
		}),
	}
}

// parseAgentArgs reads ssh-agent's command line, getopt style: clustered
// flags (-Dd), values attached or not (-a SOCK, -aSOCK), the command at
// the first argument that is not an option.
func parseAgentArgs(args []string) (agentOptions, error) {
	o := agentOptions{LockAfter: daemon.DefaultLockAfter}
	bad := func(format string, a ...any) (agentOptions, error) {
		return agentOptions{}, usagef("agent: "+format+"; see `wsx agent --help`", a...)
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			o.Command = args[i+1:]
			break
		}
		if strings.HasPrefix(a, "--") {
			name, val, hasVal := strings.Cut(a[2:], "=")
			value := func() (string, bool) {
				if hasVal {
					return val, true
				}
				if i+1 >= len(args) {
					return "", false
				}
				i++
				return args[i], true
			}
			switch name {
			case "help":
				o.Help = true
			case "lock-after":
				v, ok := value()
				if !ok {
					return bad("--lock-after needs a duration")
				}
				d, err := parseLockAfter(v)
				if err != nil {
					return bad("invalid --lock-after %q: use a duration such as 30m, 1h or 0 (never)", v)
				}
				o.LockAfter = d
			case "passphrase-file":
				v, ok := value()
				if !ok {
					return bad("--passphrase-file needs a file")
				}
				o.PassFile = v
			case agentChildFlag[2:]:
				o.child = true
			case "watch-pid":
				v, ok := value()
				pid, err := strconv.Atoi(v)
				if !ok || err != nil || pid < 1 {
					return bad("bad --watch-pid")
				}
				o.watchPID = pid
			default:
				return bad("unknown option %q", a)
			}
			continue
		}
		if len(a) < 2 || a[0] != '-' {
			o.Command = args[i:]
			break
		}
	cluster:
		for j := 1; j < len(a); j++ {
			f := a[j]
			switch f {
			case 'c', 's':
				if o.ShellSet && o.Csh != (f == 'c') {
					return bad("-c and -s exclude each other")
				}
				o.ShellSet, o.Csh = true, f == 'c'
				continue
			case 'd', 'D':
				if o.Foreground {
					return bad("-d and -D exclude each other")
				}
				o.Foreground, o.Debug = true, f == 'd'
				continue
			case 'k':
				o.Kill = true
				continue
			case 'a', 't', 'E', 'O', 'P':
			default:
				return bad("unknown option -%c", f)
			}
			v := a[j+1:]
			if v == "" {
				if i+1 >= len(args) {
					return bad("-%c needs a value", f)
				}
				i++
				v = args[i]
			}
			switch f {
			case 'a':
				o.Socket = v
			case 't':
				d, err := parseSSHTime(v)
				if err != nil || d <= 0 {
					return bad("invalid lifetime %q: use seconds or a time such as 10m or 1h30m", v)
				}
				o.Lifetime = d
			case 'E':
				if v != "sha256" && v != "md5" {
					return bad("invalid fingerprint hash %q", v)
				}
			}
			// -O (ssh-agent's options) and -P (allowed PKCS#11
			// providers) are accepted and have nothing to do: this
			// agent loads no provider.
			break cluster
		}
	}
	if len(o.Command) > 0 && (o.ShellSet || o.Kill || o.Foreground) {
		return bad("a command cannot be combined with -c, -s, -k, -d or -D")
	}
	if o.Kill && o.Foreground {
		return bad("-k cannot be combined with -d or -D")
	}
	return o, nil
}

// parseSSHTime reads OpenSSH's time format: a number of seconds, or
// numbers each followed by s, m, h, d or w ("1h30m").
func parseSSHTime(s string) (time.Duration, error) {
	if s == "" {
		return 0, errors.New("empty time")
	}
	var total time.Duration
	for s != "" {
		n := 0
		for n < len(s) && s[n] >= '0' && s[n] <= '9' {
			n++
		}
		if n == 0 {
			return 0, fmt.Errorf("bad time %q", s)
		}
		v, err := strconv.ParseInt(s[:n], 10, 32)
		if err != nil {
			return 0, err
		}
		unit := time.Second
		s = s[n:]
		if s != "" {
			switch s[0] {
			case 's', 'S':
			case 'm', 'M':
				unit = time.Minute
			case 'h', 'H':
				unit = time.Hour
			case 'd', 'D':
				unit = 24 * time.Hour
			case 'w', 'W':
				unit = 7 * 24 * time.Hour
			default:
				return 0, fmt.Errorf("bad time unit %q", s[0])
			}
			s = s[1:]
		}
		total += time.Duration(v) * unit
		if total < 0 || total > 1<<31*time.Second {
			return 0, errors.New("time too large")
		}
	}
	return total, nil
}

// parseLockAfter reads --lock-after: OpenSSH's format or a Go duration;
// 0 means never.
func parseLockAfter(s string) (time.Duration, error) {
	if d, err := parseSSHTime(s); err == nil {
		return d, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, errors.New("bad duration")
	}
	return d, nil
}

func (s *session) runAgent(o agentOptions) error {
	switch {
	case o.Kill:
		return s.killAgent(o)
	case o.child:
		return s.runAgentChild(o)
	case o.Foreground:
		return s.runAgentForeground(o)
	}
	return s.startAgent(o)
}

// csh reports whether to print the environment for csh: -c, or $SHELL
// ending in csh when neither -c nor -s is given, as ssh-agent.
func (s *session) csh(o agentOptions) bool {
	if o.ShellSet {
		return o.Csh
	}
	return strings.HasSuffix(s.env.Getenv("SHELL"), "csh")
}

// shellWord quotes a path for the shell when it holds anything but the
// characters paths usually have; ssh-agent prints its paths as they are.
func shellWord(p string) string {
	for _, r := range p {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+:@%,=", r)) {
			return "'" + strings.ReplaceAll(p, "'", `'\''`) + "'"
		}
	}
	return p
}

// printAgentEnv prints what ssh-agent prints for eval: the socket, the
// pid when the agent runs in the background, and the echo line.
func (s *session) printAgentEnv(o agentOptions, sock string, pid int, background bool) error {
	var b strings.Builder
	set := func(name, value string) {
		if s.csh(o) {
			fmt.Fprintf(&b, "setenv %s %s;\n", name, value)
		} else {
			fmt.Fprintf(&b, "%s=%s; export %s;\n", name, value, name)
		}
	}
	set("SSH_AUTH_SOCK", shellWord(sock))
	if background {
		set("SSH_AGENT_PID", strconv.Itoa(pid))
	}
	fmt.Fprintf(&b, "echo Agent pid %d;\n", pid)
	_, err := io.WriteString(s.env.Stdout, b.String())
	return err
}

// killAgent is -k: it stops the agent named by SSH_AGENT_PID and prints
// the lines that unset the environment.
func (s *session) killAgent(o agentOptions) error {
	v := s.env.Getenv("SSH_AGENT_PID")
	if v == "" {
		return errors.New("SSH_AGENT_PID not set, cannot kill agent")
	}
	pid, err := strconv.Atoi(v)
	if err != nil || pid < 1 {
		return fmt.Errorf("SSH_AGENT_PID=%s, which is not a good PID", v)
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		return fmt.Errorf("kill agent pid %d: %w", pid, err)
	}
	waitGone(pid, 5*time.Second)
	unset := "unset %s;\n"
	if s.csh(o) {
		unset = "unsetenv %s;\n"
	}
	_, err = fmt.Fprintf(s.env.Stdout, unset+unset+"echo Agent pid %d killed;\n", "SSH_AUTH_SOCK", "SSH_AGENT_PID", pid)
	return err
}

// waitGone waits until process pid has exited (or is a zombie), at most d.
func waitGone(pid int, d time.Duration) {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return
		}
		if i := strings.LastIndexByte(string(b), ')'); i > 0 && i+2 < len(b) && b[i+2] == 'Z' {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// agentSocket is the SSH socket path the options ask for, absolute.
func (s *session) agentSocket(o agentOptions) (string, error) {
	if o.Socket == "" {
		return filepath.Join(runDir(s.env, s.home), daemon.AgentSocketName), nil
	}
	return filepath.Abs(o.Socket)
}

// agentPassphrase reads the store passphrase for the agent: from the
// passphrase file, else the terminal. ok is false when there is neither:
// the agent then starts locked.
func (s *session) agentPassphrase(o agentOptions, st *store.Store) (pass []byte, ok bool, err error) {
	if !st.NeedsPassphrase() {
		return nil, true, nil
	}
	if o.PassFile != "" {
		p, err := readPassphraseFile(o.PassFile)
		return p, err == nil, err
	}
	if f := s.passphraseFile(); f != "" {
		p, err := readPassphraseFile(f)
		return p, err == nil, err
	}
	t, err := s.env.Terminal()
	if err != nil {
		return nil, false, nil
	}
	defer t.Close()
	p, err := t.ReadPassword("Passphrase for the wsx store: ")
	return p, err == nil, err
}

// listen is d.Listen with the fix for an agent already running.
func listen(d *daemon.Daemon) error {
	err := d.Listen()
	if errors.Is(err, sshagent.ErrAgentRunning) {
		return withHint(err, "an agent already serves this store: use it (it is in the run directory named above), or stop it with `SSH_AGENT_PID=PID wsx agent -k`")
	}
	return err
}

// newDaemon opens the store and builds the daemon the options describe.
func (s *session) newDaemon(o agentOptions, logf, debugf func(string, ...any)) (*daemon.Daemon, *store.Store, error) {
	st, err := store.Open(s.home, s.openOptions())
	if err != nil {
		return nil, nil, err
	}
	st.SetClock(s.env.Now)
	sock, err := s.agentSocket(o)
	if err != nil {
		return nil, nil, err
	}
	d, err := daemon.New(daemon.Options{
		Store: st, AuditPath: auditPath(s.home), RunDir: runDir(s.env, s.home), AgentSocket: sock,
		LockAfter: o.LockAfter, DefaultLifetime: o.Lifetime, Env: os.Environ(),
		Logf: logf, Debugf: debugf,
	})
	if err != nil {
		return nil, nil, err
	}
	return d, st, nil
}

// daemonGCPercent is the agent's garbage collector target (GOGC), unless
// GOGC says otherwise: a long-running process with a small heap, where
// memory counts more than the collector's CPU.
const daemonGCPercent = 50

func (s *session) tuneGC() {
	if s.env.Getenv("GOGC") == "" {
		debug.SetGCPercent(daemonGCPercent)
	}
}

// serveUntilSignal serves d until SIGTERM, SIGINT or SIGHUP, or until ctx
// is done.
func serveUntilSignal(ctx context.Context, d *daemon.Daemon) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer stop()
	return d.Serve(ctx)
}

// runAgentForeground is -d and -D: the agent in this process, logging to
// stderr (every request with -d).
func (s *session) runAgentForeground(o agentOptions) error {
	if err := sshagent.Harden(); err != nil {
		return err
	}
	s.tuneGC()
	logf := func(format string, args ...any) {
		fmt.Fprintf(s.env.Stderr, "wsx agent: "+format+"\n", args...)
	}
	var debugf func(string, ...any)
	if o.Debug {
		debugf = logf
		log.SetOutput(s.env.Stderr)
	} else {
		log.SetOutput(io.Discard)
	}
	d, st, err := s.newDaemon(o, logf, debugf)
	if err != nil {
		return err
	}
	pass, ok, err := s.agentPassphrase(o, st)
	if err != nil {
		return err
	}
	if err := listen(d); err != nil {
		return err
	}
	if ok {
		err := d.Unlock(pass)
		clear(pass)
		if err != nil {
			d.Serve(canceled())
			return err
		}
	} else {
		logf("no passphrase file and no terminal: starting locked; `wsx unlock` unlocks")
	}
	if err := s.printAgentEnv(o, d.AgentSocket(), os.Getpid(), false); err != nil {
		return err
	}
	return serveUntilSignal(context.Background(), d)
}

// canceled is a done context: Serve on it only cleans up.
func canceled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// childStatus is what the detached daemon tells `wsx agent` once it
// serves, or why it could not.
type childStatus struct {
	OK    bool   `json:"ok"`
	Code  int    `json:"code,omitempty"`
	Error string `json:"error,omitempty"`
	Hint  string `json:"hint,omitempty"`
}

// Passphrase pipe markers: what follows the first byte.
const (
	passNone   = 'N' // no passphrase: start locked
	passGiven  = 'P' // the passphrase follows
	passNeeded = 'K' // the store needs none (its key is in the OS keyring)
)

// startAgent is the default mode and CMD mode: it starts the daemon in a
// new session, hands it the passphrase over a pipe (never in argv or the
// environment), waits until it serves, then prints the environment or
// runs CMD in its own place.
func (s *session) startAgent(o agentOptions) error {
	st, err := store.Open(s.home, s.openOptions())
	if err != nil {
		return err
	}
	sock, err := s.agentSocket(o)
	if err != nil {
		return err
	}
	pass, ok, err := s.agentPassphrase(o, st)
	if err != nil {
		return err
	}
	defer clear(pass)
	mark := byte(passNone)
	switch {
	case ok && !st.NeedsPassphrase():
		mark = passNeeded
	case ok:
		mark = passGiven
	default:
		fmt.Fprintln(s.env.Stderr, "wsx: no passphrase file and no terminal: the agent starts locked; `wsx unlock` unlocks it")
	}

	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find the wsx binary: %w", err)
	}
	args := []string{"agent", agentChildFlag, "-a", sock, "--lock-after", o.LockAfter.String()}
	if o.Lifetime > 0 {
		args = append(args, "-t", strconv.FormatInt(int64(o.Lifetime/time.Second), 10))
	}
	if len(o.Command) > 0 {
		args = append(args, "--watch-pid", strconv.Itoa(os.Getpid()))
	}
	passR, passW, err := os.Pipe()
	if err != nil {
		return err
	}
	statusR, statusW, err := os.Pipe()
	if err != nil {
		passR.Close()
		passW.Close()
		return err
	}
	child := osexec.Command(exe, args...)
	child.Dir = "/"
	child.ExtraFiles = []*os.File{passR, statusW} // fds 3 and 4
	child.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	// Stdin, stdout and stderr are /dev/null.
	err = child.Start()
	passR.Close()
	statusW.Close()
	if err != nil {
		passW.Close()
		statusR.Close()
		return fmt.Errorf("start the agent: %w", err)
	}
	msg := append([]byte{mark}, pass...)
	passW.Write(msg)
	clear(msg)
	passW.Close()
	pid := child.Process.Pid
	child.Process.Release()

	var cs childStatus
	derr := json.NewDecoder(io.LimitReader(statusR, 64<<10)).Decode(&cs)
	statusR.Close()
	switch {
	case derr != nil:
		return fmt.Errorf("the agent (pid %d) exited while starting", pid)
	case !cs.OK:
		var err error = errors.New(cs.Error)
		if cs.Hint != "" {
			err = withHint(err, "%s", cs.Hint)
		}
		return exitError{code: max(cs.Code, ExitError), err: err}
	}
	if len(o.Command) == 0 {
		return s.printAgentEnv(o, sock, pid, true)
	}
	return execWithAgent(o.Command, sock, pid)
}

// execWithAgent replaces this process with cmd, SSH_AUTH_SOCK and
// SSH_AGENT_PID set (once each), as ssh-agent does: cmd's exit status is
// then the exit status, and the agent, watching this pid, stops with it.
func execWithAgent(cmd []string, sock string, pid int) error {
	path, err := osexec.LookPath(cmd[0])
	if err != nil {
		syscall.Kill(pid, syscall.SIGTERM)
		return fmt.Errorf("agent: %w", err)
	}
	env := make([]string, 0, len(os.Environ())+2)
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); k == "SSH_AUTH_SOCK" || k == "SSH_AGENT_PID" {
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "SSH_AUTH_SOCK="+sock, "SSH_AGENT_PID="+strconv.Itoa(pid))
	err = syscall.Exec(path, cmd, env)
	syscall.Kill(pid, syscall.SIGTERM)
	return fmt.Errorf("agent: run %s: %w", cmd[0], err)
}

// runAgentChild is the detached daemon: it reads the passphrase from fd 3,
// reports on fd 4 once it serves (or why it cannot), and serves until a
// signal, or until the watched process exits.
func (s *session) runAgentChild(o agentOptions) error {
	passFile := os.NewFile(3, "passphrase")
	statusFile := os.NewFile(4, "status")
	if passFile == nil || statusFile == nil {
		return errors.New("agent: started without its pipes")
	}
	report := func(err error) error {
		cs := childStatus{OK: err == nil}
		if err != nil {
			cs.Code, cs.Error, cs.Hint = exitCode(err), err.Error(), hintOf(err)
		}
		json.NewEncoder(statusFile).Encode(cs)
		statusFile.Close()
		return err
	}
	log.SetOutput(io.Discard)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if o.watchPID > 0 {
		if err := watchProcess(o.watchPID, cancel); err != nil {
			passFile.Close()
			return report(err)
		}
	}
	if err := sshagent.Harden(); err != nil {
		passFile.Close()
		return report(err)
	}
	s.tuneGC()
	raw, err := io.ReadAll(io.LimitReader(passFile, maxPassphrase+2))
	passFile.Close()
	if err != nil || len(raw) == 0 || len(raw) > maxPassphrase+1 {
		clear(raw)
		return report(errors.New("agent: no passphrase marker from the parent"))
	}
	defer clear(raw)
	d, _, err := s.newDaemon(o, nil, nil)
	if err != nil {
		return report(err)
	}
	if err := listen(d); err != nil {
		return report(err)
	}
	switch raw[0] {
	case passGiven:
		err = d.Unlock(raw[1:])
	case passNeeded:
		err = d.Unlock(nil)
	}
	clear(raw)
	if err != nil {
		d.Serve(canceled())
		return report(err)
	}
	report(nil)
	return serveUntilSignal(ctx, d)
}

// hintOf is the hint reportError would print under err.
func hintOf(err error) string {
	var he hintedError
	if errors.As(err, &he) && he.hint != "" {
		return he.hint
	}
	return defaultHint(err)
}

// watchProcess calls done when process pid exits: through a pidfd, or by
// polling where pidfds are missing.
func watchProcess(pid int, done func()) error {
	fd, err := unix.PidfdOpen(pid, 0)
	if errors.Is(err, unix.ESRCH) {
		done()
		return nil
	}
	if err != nil {
		go func() {
			for syscall.Kill(pid, 0) == nil {
				time.Sleep(time.Second)
			}
			done()
		}()
		return nil
	}
	go func() {
		defer unix.Close(fd)
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		for {
			if _, err := unix.Poll(fds, -1); err != unix.EINTR {
				break
			}
		}
		done()
	}()
	return nil
}

func lockCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:  "lock",
		Usage: "lock the store in the running wsx agent",
		Description: "Drops the store's key, the parsed SSH keys and the keys added with ssh-add from\n" +
			"the agent; commands then need a passphrase again, or `wsx unlock`.",
		Action: action(env, func(s *session, c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			return s.runLock()
		}),
	}
}

func unlockCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:  "unlock",
		Usage: "unlock the store in the running wsx agent",
		Description: "Asks for the store passphrase (or reads --passphrase-file / WSX_PASSPHRASE_FILE)\n" +
			"and hands it to the agent, which then serves every command without asking.",
		Action: action(env, func(s *session, c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			return s.runUnlock()
		}),
	}
}

func noAgentHint(err error) error {
	return withHint(err, "start one with `eval \"$(wsx agent -s)\"`")
}

func (s *session) runLock() error {
	cl, st, err := s.dialDaemon()
	if errors.Is(err, daemon.ErrNoDaemon) {
		fmt.Fprintln(s.env.Stderr, "wsx: no wsx agent is running; without one the store is unlocked only inside each command")
		return nil
	}
	if err != nil {
		return err
	}
	defer cl.Close()
	if st.Locked {
		fmt.Fprintf(s.env.Stderr, "wsx: the wsx agent (pid %d) is already locked\n", st.PID)
		return nil
	}
	if _, err := cl.Lock(); err != nil {
		return err
	}
	fmt.Fprintf(s.env.Stderr, "wsx: locked the wsx agent (pid %d)\n", st.PID)
	return nil
}

func (s *session) runUnlock() error {
	cl, st, err := s.dialDaemon()
	if errors.Is(err, daemon.ErrNoDaemon) {
		return noAgentHint(err)
	}
	if err != nil {
		return err
	}
	defer cl.Close()
	if !st.Locked {
		fmt.Fprintf(s.env.Stderr, "wsx: the wsx agent (pid %d) is already unlocked\n", st.PID)
		return nil
	}
	if err := s.open(); err != nil {
		return err
	}
	unlock := func(p []byte) error {
		_, err := cl.Unlock(p)
		return err
	}
	if s.st.NeedsPassphrase() {
		err = s.unlockWith("Passphrase for the wsx store: ", unlock)
	} else {
		err = unlock(nil)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(s.env.Stderr, "wsx: unlocked the wsx agent (pid %d)\n", st.PID)
	return nil
}
