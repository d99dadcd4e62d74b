package cmd

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/wsxdev/wsx/daemon"
	"github.com/wsxdev/wsx/internal/unixsock"
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
	Reload     bool // `wsx agent reload`

	child    bool // the detached daemon
	shared   bool // the detached daemon of CMD mode: may start beside another
	watchPID int  // the child exits when this process does (CMD mode)
}

const agentUsage = `usage: wsx agent [-c | -s] [-Dd] [-a SOCKET] [-t LIFE] [--lock-after DURATION] [CMD [ARG...]]
       wsx agent [-c | -s] -k
       wsx agent reload

Runs the wsx agent: an SSH agent serving the store's keys (and keys added with
ssh-add), and the local API through which wsx commands use the unlocked store.
The store is unlocked once at start (--passphrase-file, WSX_PASSPHRASE_FILE or
the terminal; with none of them it starts locked until ` + "`wsx unlock`" + `).

  -s, -c          print the environment in sh or csh form (default: from $SHELL)
  -a SOCKET       the SSH agent socket (default: the run directory's agent.sock)
  -d              debug: stay in the foreground and log to stderr
  -D              stay in the foreground
  -k              kill the agent named by SSH_AGENT_PID (a wsx agent of yours)
  -t LIFE         default lifetime of added keys: 600, 10m, 1h30m
  --lock-after D  lock the store after D without use (default 1h; 0 never)
  CMD [ARG...]    run CMD with the agent, and stop the agent when CMD exits
  reload          serve again the store keys removed with ssh-add -d/-D

Sockets live in $WSX_HOME/run when WSX_HOME is set, else $XDG_RUNTIME_DIR/wsx.
When an agent already serves the store, -s/-c print its variables. With -a,
-d, -D or CMD a second agent starts beside it: it serves the store's keys and
its own ssh-add'ed keys; wsx commands keep using the first.
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
	if len(args) == 1 && args[0] == "reload" {
		o.Reload = true
		return o, nil
	}
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
			case daemon.ChildFlag[2:]:
				o.child = true
			case "shared":
				o.shared = true
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
	case o.Reload:
		return s.reloadAgent()
	case o.Kill:
		return s.killAgent(o)
	case o.child:
		return daemon.RunChild(s.agentConfig(o, nil, nil), o.watchPID, func(err error) (int, string) {
			return exitCode(err), hintOf(err)
		})
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

// killAgent is -k: it stops the agent named by SSH_AGENT_PID, if it is a
// wsx agent of this user, and prints the lines that unset the environment.
func (s *session) killAgent(o agentOptions) error {
	v := s.env.Getenv("SSH_AGENT_PID")
	if v == "" {
		return errors.New("SSH_AGENT_PID not set, cannot kill agent")
	}
	pid, err := strconv.Atoi(v)
	if err != nil || pid < 1 {
		return fmt.Errorf("SSH_AGENT_PID=%s, which is not a good PID", v)
	}
	api := filepath.Join(runDir(s.env, s.home), daemon.APISocketName)
	if err := daemon.Kill(pid, s.env.Getenv("SSH_AUTH_SOCK"), api); err != nil {
		if errors.Is(err, daemon.ErrNotAgent) {
			return withHint(err, "SSH_AGENT_PID must name the wsx agent that `wsx agent -s` printed; nothing was signalled")
		}
		return err
	}
	unset := "unset %s;\n"
	if s.csh(o) {
		unset = "unsetenv %s;\n"
	}
	_, err = fmt.Fprintf(s.env.Stdout, unset+unset+"echo Agent pid %d killed;\n", "SSH_AUTH_SOCK", "SSH_AGENT_PID", pid)
	return err
}

// alwaysNewAgent is WSX_AGENT_REUSE=0: -s and -c start a new agent even
// when one serves the store, as ssh-agent always does (scripts that
// want an agent of their own, OpenSSH's regress tests).
func (s *session) alwaysNewAgent() bool { return s.env.Getenv("WSX_AGENT_REUSE") == "0" }

// agentConfig is the daemon configuration the options describe.
func (s *session) agentConfig(o agentOptions, logf, debugf func(string, ...any)) daemon.Config {
	return daemon.Config{
		Home: s.home, RunDir: runDir(s.env, s.home), AuditPath: auditPath(s.home),
		StoreOptions: s.openOptions(), AgentSocket: o.Socket, LockAfter: o.LockAfter, Lifetime: o.Lifetime,
		// A second agent beside one that serves the store: asked for by
		// a socket of its own, the foreground or a command.
		Shared: o.Socket != "" || o.Foreground || len(o.Command) > 0 || o.shared,
		Env:    os.Environ(), Logf: logf, Debugf: debugf, Now: s.env.Now,
	}
}

// agentPassphrase reads the store passphrase for the agent: from the
// passphrase file, else the terminal. Given is false when there is
// neither: the agent then starts locked.
func (s *session) agentPassphrase(o agentOptions, st *store.Store) (daemon.Unlocking, error) {
	if !st.NeedsPassphrase() {
		return daemon.Unlocking{Given: true, NotNeeded: true}, nil
	}
	read := func(f string) (daemon.Unlocking, error) {
		p, err := readPassphraseFile(f)
		return daemon.Unlocking{Passphrase: p, Given: err == nil}, err
	}
	if o.PassFile != "" {
		return read(o.PassFile)
	}
	if f := s.passphraseFile(); f != "" {
		return read(f)
	}
	t, err := s.env.Terminal()
	if err != nil {
		return daemon.Unlocking{}, nil
	}
	defer t.Close()
	p, err := t.ReadPassword("Passphrase for the wsx store: ")
	return daemon.Unlocking{Passphrase: p, Given: err == nil}, err
}

// agentHint adds the fix for an agent already running.
func agentHint(err error) error {
	if errors.Is(err, daemon.ErrAgentRunning) {
		return withHint(err, "an agent already serves this store: use it (it is in the run directory named above), or stop it with `SSH_AGENT_PID=PID wsx agent -k`")
	}
	return err
}

// warnSharedDir says so when -a names a directory others may enter: the
// agent accepts it, as ssh-agent does.
func (s *session) warnSharedDir(o agentOptions) {
	if o.Socket == "" {
		return
	}
	abs, err := filepath.Abs(o.Socket)
	if err != nil {
		return
	}
	if err := unixsock.CheckPrivateDir(filepath.Dir(abs)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(s.env.Stderr, "wsx: warning: %v; the socket is 0600 and each peer's uid is checked, but others may remove it\n", err)
	}
}

// runAgentForeground is -d and -D: the agent in this process, logging to
// stderr (every request with -d).
func (s *session) runAgentForeground(o agentOptions) error {
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
	s.warnSharedDir(o)
	d, st, err := daemon.Open(s.agentConfig(o, logf, debugf))
	if err != nil {
		return err
	}
	u, err := s.agentPassphrase(o, st)
	if err != nil {
		return err
	}
	defer clear(u.Passphrase)
	if err := s.fetchBeforeAgent(u); err != nil {
		return err
	}
	err = daemon.RunForeground(d, u, os.Environ(), func() error {
		clear(u.Passphrase)
		return s.printAgentEnv(o, d.AgentSocket(), os.Getpid(), false)
	})
	return agentHint(err)
}

// startAgent is the default mode and CMD mode. When an agent of this
// user already serves the store, the default mode prints its variables
// (no prompt), as keychain does. Else it starts the daemon in the
// background, then prints the environment or runs CMD in its own place.
func (s *session) startAgent(o agentOptions) error {
	if o.Socket == "" && len(o.Command) == 0 && !s.alwaysNewAgent() {
		st, ok, err := daemon.Running(runDir(s.env, s.home), s.home, daemonDialTimeout)
		if err != nil {
			return err
		}
		if ok {
			return s.printAgentEnv(o, st.AgentSocket, st.PID, true)
		}
	}
	st, err := store.Open(s.home, s.openOptions())
	if err != nil {
		return err
	}
	s.warnSharedDir(o)
	u, err := s.agentPassphrase(o, st)
	if err != nil {
		return err
	}
	defer clear(u.Passphrase)
	if !u.Given {
		fmt.Fprintln(s.env.Stderr, "wsx: no passphrase file and no terminal: the agent starts locked; `wsx unlock` unlocks it")
	}
	if err := s.fetchBeforeAgent(u); err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find the wsx binary: %w", err)
	}
	args := []string{"agent", daemon.ChildFlag, "--lock-after", o.LockAfter.String()}
	if o.Socket != "" {
		args = append(args, "-a", o.Socket)
	}
	if o.Lifetime > 0 {
		args = append(args, "-t", strconv.FormatInt(int64(o.Lifetime/time.Second), 10))
	}
	if len(o.Command) > 0 {
		args = append(args, "--watch-pid", strconv.Itoa(os.Getpid()))
	}
	if len(o.Command) > 0 || s.alwaysNewAgent() {
		args = append(args, "--shared")
	}
	started, err := daemon.StartDetached(exe, args, u)
	var ce *daemon.ChildError
	if errors.As(err, &ce) {
		err = errors.New(ce.Msg)
		if ce.Hint != "" {
			err = withHint(err, "%s", ce.Hint)
		}
		return exitError{code: max(ce.Code, ExitError), err: err}
	}
	if err != nil {
		return err
	}
	if len(o.Command) == 0 {
		return s.printAgentEnv(o, started.Socket, started.PID, true)
	}
	return daemon.ExecWith(o.Command, started)
}

// hintOf is the hint reportError would print under err.
func hintOf(err error) string {
	err = agentHint(err)
	var he hintedError
	if errors.As(err, &he) && he.hint != "" {
		return he.hint
	}
	return defaultHint(err)
}

func lockCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:  "lock",
		Usage: "lock the store in the running wsx agent",
		Description: "Drops the store's key and the parsed SSH keys from the agent, and seals the keys\n" +
			"added with ssh-add until the unlock; commands then need a passphrase again, or\n" +
			"`wsx unlock`. `ssh-add -X` with the store passphrase unlocks too.",
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
			"and hands it to the agent, which then serves every command without asking. It also\n" +
			"lifts a lock made with `ssh-add -x` and serves again the store keys removed with\n" +
			"ssh-add -d/-D.",
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

// reloadAgent is `wsx agent reload`: the agent serves again the store
// keys removed with ssh-add -d/-D.
func (s *session) reloadAgent() error {
	cl, st, err := s.dialDaemon()
	if errors.Is(err, daemon.ErrNoDaemon) {
		return noAgentHint(err)
	}
	if err != nil {
		return err
	}
	defer cl.Close()
	if st.Locked {
		return withHint(fmt.Errorf("the wsx agent (pid %d): %w", st.PID, store.ErrLocked), "`wsx unlock` unlocks it and serves every store key again")
	}
	if _, err := cl.Reload(); err != nil {
		return err
	}
	if len(st.HiddenKeys) > 0 {
		fmt.Fprintf(s.env.Stderr, "wsx: the wsx agent (pid %d) serves again: %s\n", st.PID, strings.Join(st.HiddenKeys, ", "))
	} else {
		fmt.Fprintf(s.env.Stderr, "wsx: the wsx agent (pid %d) reloaded the store's keys\n", st.PID)
	}
	return nil
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
	if !st.Locked && !st.AgentLocked {
		if len(st.HiddenKeys) > 0 {
			if _, err := cl.Reload(); err != nil {
				return err
			}
			fmt.Fprintf(s.env.Stderr, "wsx: the wsx agent (pid %d) serves the store keys removed with ssh-add again: %s\n", st.PID, strings.Join(st.HiddenKeys, ", "))
			return nil
		}
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
