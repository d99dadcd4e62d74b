package daemon

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

	"github.com/wsxdev/wsx/internal/hint"
	"github.com/wsxdev/wsx/internal/unixsock"
	"github.com/wsxdev/wsx/store"
)

// Launch is `wsx agent` as the command line asked for it: ssh-agent's
// options and what the process life cycle needs from cmd.
type Launch struct {
	Args
	Home, RunDir, AuditPath string
	StoreOptions            store.OpenOptions
	Getenv                  func(string) string
	Stdout, Stderr          io.Writer
	Now                     func() time.Time
	// Passphrase reads the store passphrase for the agent; Given is false
	// when there is none to read: the agent then starts locked.
	Passphrase func(*store.Store) (Unlocking, error)
	// Describe gives the exit code and hint cmd would show for err: the
	// detached child hands them to the process that started it.
	Describe func(error) (int, string)
	// BeforeStart, when set, runs once the passphrase is read and before
	// the agent serves: `wsx agent` fetches the sourced secrets that are
	// missing or stale, so the agent starts with them.
	BeforeStart func(Unlocking) error
}

// dialTimeout bounds the wait for a running agent's status.
const dialTimeout = 2 * time.Second

// Args are ssh-agent's options, and wsx's own.
type Args struct {
	Csh        bool          // -c; -s clears it
	ShellSet   bool          // -c or -s given
	Socket     string        // -a
	Debug      bool          // -d
	Foreground bool          // -D (or -d)
	Kill       bool          // -k
	Lifetime   time.Duration // -t
	LockAfter  time.Duration // --lock-after
	PassFile   string        // --passphrase-file after `agent`
	SharedDir  string        // --shared-dir: sockets for guests (wsx share)
	Command    []string      // CMD ARGS
	Help       bool
	Reload     bool // `wsx agent reload`

	Child    bool   // the detached daemon
	Shared   bool   // the detached daemon of CMD mode: may start beside another
	WatchPID int    // the child exits when this process does (CMD mode)
	RunDir   string // the child's run directory, when not the usual one (a git session)
}

// ParseArgs reads ssh-agent's command line, getopt style: clustered
// flags (-Dd), values attached or not (-a SOCK, -aSOCK), the command at
// the first argument that is not an option.
func ParseArgs(args []string) (Args, error) {
	o := Args{LockAfter: DefaultLockAfter}
	if len(args) == 1 && args[0] == "reload" {
		o.Reload = true
		return o, nil
	}
	bad := func(format string, a ...any) (Args, error) {
		return Args{}, hint.Usagef("agent: "+format+"; see `wsx agent --help`", a...)
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
			case "shared-dir":
				v, ok := value()
				if !ok || !filepath.IsAbs(v) {
					return bad("--shared-dir needs an absolute directory")
				}
				o.SharedDir = filepath.Clean(v)
			case "passphrase-file":
				v, ok := value()
				if !ok {
					return bad("--passphrase-file needs a file")
				}
				o.PassFile = v
			case ChildFlag[2:]:
				o.Child = true
			case "shared":
				o.Shared = true
			case "run-dir":
				v, ok := value()
				if !ok || !filepath.IsAbs(v) {
					return bad("bad --run-dir")
				}
				o.RunDir = v
			case "watch-pid":
				v, ok := value()
				pid, err := strconv.Atoi(v)
				if !ok || err != nil || pid < 1 {
					return bad("bad --watch-pid")
				}
				o.WatchPID = pid
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

// Run is `wsx agent` once its command line is read (ParseArgs): it kills
// the agent (-k), runs the detached child, runs in the foreground (-d,
// -D), or starts the agent in the background and prints its environment
// or runs CMD.
func (l *Launch) Run() error {
	o := l.Args
	switch {
	case o.Kill:
		return l.killAgent(o)
	case o.Child:
		err := RunChild(l.agentConfig(o, nil, nil), o.WatchPID, func(err error) (int, string) {
			return l.Describe(agentHint(err))
		})
		if o.RunDir != "" {
			os.Remove(o.RunDir) // a git session's, empty once its sockets are gone
		}
		return err
	case o.Foreground:
		return l.runAgentForeground(o)
	}
	return l.startAgent(o)
}

// csh reports whether to print the environment for csh: -c, or $SHELL
// ending in csh when neither -c nor -s is given, as ssh-agent.
func (l *Launch) csh(o Args) bool {
	if o.ShellSet {
		return o.Csh
	}
	return strings.HasSuffix(l.Getenv("SHELL"), "csh")
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
func (l *Launch) printAgentEnv(o Args, sock string, pid int, background bool) error {
	var b strings.Builder
	set := func(name, value string) {
		if l.csh(o) {
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
	_, err := io.WriteString(l.Stdout, b.String())
	return err
}

// killAgent is -k: it stops the agent named by SSH_AGENT_PID, if it is a
// wsx agent of this user, and prints the lines that unset the environment.
func (l *Launch) killAgent(o Args) error {
	v := l.Getenv("SSH_AGENT_PID")
	if v == "" {
		return errors.New("SSH_AGENT_PID not set, cannot kill agent")
	}
	pid, err := strconv.Atoi(v)
	if err != nil || pid < 1 {
		return fmt.Errorf("SSH_AGENT_PID=%s, which is not a good PID", v)
	}
	api := filepath.Join(l.RunDir, APISocketName)
	if err := Kill(pid, l.Getenv("SSH_AUTH_SOCK"), api); err != nil {
		if errors.Is(err, ErrNotAgent) {
			return hint.With(err, "SSH_AGENT_PID must name the wsx agent that `wsx agent -s` printed; nothing was signalled")
		}
		return err
	}
	unset := "unset %s;\n"
	if l.csh(o) {
		unset = "unsetenv %s;\n"
	}
	_, err = fmt.Fprintf(l.Stdout, unset+unset+"echo Agent pid %d killed;\n", "SSH_AUTH_SOCK", "SSH_AGENT_PID", pid)
	return err
}

// alwaysNewAgent is WSX_AGENT_REUSE=0: -s and -c start a new agent even
// when one serves the store, as ssh-agent always does (scripts that
// want an agent of their own, OpenSSH's regress tests).
func (l *Launch) alwaysNewAgent() bool { return l.Getenv("WSX_AGENT_REUSE") == "0" }

// agentConfig is the daemon configuration the options describe.
func (l *Launch) agentConfig(o Args, logf, debugf func(string, ...any)) Config {
	dir := o.RunDir
	if dir == "" {
		dir = l.RunDir
	}
	return Config{
		Home: l.Home, RunDir: dir, AuditPath: l.AuditPath, SharedDir: o.SharedDir,
		StoreOptions: l.StoreOptions, AgentSocket: o.Socket, LockAfter: o.LockAfter, Lifetime: o.Lifetime,
		// A second agent beside one that serves the store: asked for by
		// a socket of its own, the foreground or a command.
		Shared: o.Socket != "" || o.Foreground || len(o.Command) > 0 || o.Shared,
		Env:    os.Environ(), Logf: logf, Debugf: debugf, Now: l.Now,
	}
}

// agentHint adds the fix for an agent already running.
func agentHint(err error) error {
	if errors.Is(err, ErrAgentRunning) {
		return hint.With(err, "an agent already serves this store: use it (it is in the run directory named above), or stop it with `SSH_AGENT_PID=PID wsx agent -k`")
	}
	return err
}

// warnSharedDir says so when -a names a directory others may enter: the
// agent accepts it, as ssh-agent does.
func (l *Launch) warnSharedDir(o Args) {
	if o.Socket == "" {
		return
	}
	abs, err := filepath.Abs(o.Socket)
	if err != nil {
		return
	}
	if err := unixsock.CheckPrivateDir(filepath.Dir(abs)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(l.Stderr, "wsx: warning: %v; the socket is 0600 and each peer's uid is checked, but others may remove it\n", err)
	}
}

// runAgentForeground is -d and -D: the agent in this process, logging to
// stderr (every request with -d).
func (l *Launch) runAgentForeground(o Args) error {
	logf := func(format string, args ...any) {
		fmt.Fprintf(l.Stderr, "wsx agent: "+format+"\n", args...)
	}
	var debugf func(string, ...any)
	if o.Debug {
		debugf = logf
		log.SetOutput(l.Stderr)
	} else {
		log.SetOutput(io.Discard)
	}
	l.warnSharedDir(o)
	d, st, err := Open(l.agentConfig(o, logf, debugf))
	if err != nil {
		return err
	}
	u, err := l.Passphrase(st)
	if err != nil {
		return err
	}
	defer clear(u.Passphrase)
	if err := l.beforeStart(u); err != nil {
		return err
	}
	err = RunForeground(d, u, os.Environ(), func() error {
		clear(u.Passphrase)
		return l.printAgentEnv(o, d.AgentSocket(), os.Getpid(), false)
	})
	return agentHint(err)
}

func (l *Launch) beforeStart(u Unlocking) error {
	if l.BeforeStart == nil {
		return nil
	}
	return l.BeforeStart(u)
}

// startAgent is the default mode and CMD mode. When an agent of this
// user already serves the store, the default mode prints its variables
// (no prompt), as keychain does. Else it starts the daemon in the
// background, then prints the environment or runs CMD in its own place.
func (l *Launch) startAgent(o Args) error {
	if o.Socket == "" && len(o.Command) == 0 && !l.alwaysNewAgent() {
		st, ok, err := Running(l.RunDir, l.Home, dialTimeout)
		if err != nil {
			return err
		}
		if ok && o.SharedDir != "" && st.SharedDir != o.SharedDir {
			return hint.With(fmt.Errorf("the wsx agent (pid %d) already serves this store, not in %s: %w", st.PID, o.SharedDir, ErrAgentRunning),
				"stop it (`wsx agent -k`, with its SSH_AGENT_PID) and start it again with --shared-dir")
		}
		if ok {
			return l.printAgentEnv(o, st.AgentSocket, st.PID, true)
		}
	}
	st, err := store.Open(l.Home, l.StoreOptions)
	if err != nil {
		return err
	}
	l.warnSharedDir(o)
	u, err := l.Passphrase(st)
	if err != nil {
		return err
	}
	defer clear(u.Passphrase)
	if !u.Given {
		fmt.Fprintln(l.Stderr, "wsx: no passphrase file and no terminal: the agent starts locked; `wsx unlock` unlocks it")
	}
	if err := l.beforeStart(u); err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find the wsx binary: %w", err)
	}
	args := []string{"agent", ChildFlag, "--lock-after", o.LockAfter.String()}
	if o.Socket != "" {
		args = append(args, "-a", o.Socket)
	}
	if o.SharedDir != "" {
		args = append(args, "--shared-dir", o.SharedDir)
	}
	if o.Lifetime > 0 {
		args = append(args, "-t", strconv.FormatInt(int64(o.Lifetime/time.Second), 10))
	}
	if len(o.Command) > 0 {
		args = append(args, "--watch-pid", strconv.Itoa(os.Getpid()))
	}
	if len(o.Command) > 0 || l.alwaysNewAgent() {
		args = append(args, "--shared")
	}
	started, err := StartDetached(exe, args, u)
	var ce *ChildError
	if errors.As(err, &ce) {
		err = errors.New(ce.Msg)
		if ce.Hint != "" {
			err = hint.With(err, "%s", ce.Hint)
		}
		return hint.Exit{Code: max(ce.Code, 1), Err: err}
	}
	if err != nil {
		return err
	}
	if len(o.Command) == 0 {
		return l.printAgentEnv(o, started.Socket, started.PID, true)
	}
	return ExecWith(o.Command, started)
}
