package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	osexec "os/exec"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/wsxdev/wsx/internal/erase"
	"github.com/wsxdev/wsx/internal/unixsock"
	"github.com/wsxdev/wsx/store"
)

// ChildFlag marks the detached daemon process started by StartDetached.
const ChildFlag = "--daemon-child"

// maxPassphrase bounds the passphrase read from the parent.
const maxPassphrase = 4096

// GCPercent is the agent's garbage collector target (GOGC), unless GOGC
// says otherwise: a long-running process with a small heap, where memory
// counts more than the collector's CPU.
const GCPercent = 50

// Config is what `wsx agent` asks of the daemon.
type Config struct {
	Home, RunDir, AuditPath string
	// StoreOptions are the store's settings (the pass backend's directory).
	StoreOptions store.OpenOptions
	// AgentSocket is -a; empty for the run directory's agent.sock.
	AgentSocket string
	LockAfter   time.Duration
	Lifetime    time.Duration
	// SharedDir is Options.SharedDir.
	SharedDir string
	// Shared: start even if another agent serves the run directory's API.
	Shared bool
	// Env is the daemon's environment (SSH_ASKPASS, GOGC).
	Env          []string
	Logf, Debugf func(string, ...any)
	Now          func() time.Time
}

// Open opens the store and builds the daemon c describes, locked.
func Open(c Config) (*Daemon, *store.Store, error) {
	st, err := store.Open(c.Home, c.StoreOptions)
	if err != nil {
		return nil, nil, err
	}
	if c.Now != nil {
		st.SetClock(c.Now)
	}
	sock := c.AgentSocket
	if sock != "" {
		if sock, err = filepath.Abs(sock); err != nil {
			return nil, nil, err
		}
	}
	d, err := New(Options{
		Store: st, StoreOptions: c.StoreOptions, AuditPath: c.AuditPath, RunDir: c.RunDir, AgentSocket: sock, Shared: c.Shared, SharedDir: c.SharedDir,
		LockAfter: c.LockAfter, DefaultLifetime: c.Lifetime, Env: c.Env,
		Logf: c.Logf, Debugf: c.Debugf,
	})
	if err != nil {
		return nil, nil, err
	}
	return d, st, nil
}

// prepareProcess hardens the daemon's process and sets its GC target.
func prepareProcess(env []string) error {
	if err := unixsock.Harden(); err != nil {
		return err
	}
	for _, kv := range env {
		if strings.HasPrefix(kv, "GOGC=") {
			return nil
		}
	}
	debug.SetGCPercent(GCPercent)
	return nil
}

// Running returns the status of the agent that serves the store at home
// from runDir, when one answers there. An agent that is not the user's
// own is an error wrapping ErrUntrusted; no agent, or one serving another
// store, is (Status{}, false, nil).
func Running(runDir, home string, timeout time.Duration) (Status, bool, error) {
	c, st, err := Dial(filepath.Join(runDir, APISocketName), timeout)
	if err != nil {
		if errors.Is(err, ErrUntrusted) {
			return Status{}, false, err
		}
		return Status{}, false, nil
	}
	c.Close()
	if filepath.Clean(st.Home) != filepath.Clean(home) {
		return Status{}, false, nil
	}
	return st, true, nil
}

// Unlocking says how a daemon unlocks at start.
type Unlocking struct {
	Passphrase []byte // the store passphrase, when Given
	Given      bool   // false: the daemon starts locked
	NotNeeded  bool   // the store needs no passphrase (OS keyring)
}

// Passphrase pipe markers: the first byte on fd 3.
const (
	passNone   = 'N' // no passphrase: start locked
	passGiven  = 'P' // the passphrase follows
	passNeeded = 'K' // the store needs none
)

// childStatus is what the detached daemon tells its parent once it
// serves, or why it could not.
type childStatus struct {
	OK     bool   `json:"ok"`
	PID    int    `json:"pid,omitempty"`
	Socket string `json:"socket,omitempty"`
	Code   int    `json:"code,omitempty"`
	Error  string `json:"error,omitempty"`
	Hint   string `json:"hint,omitempty"`
}

// ChildError is the start-up failure the detached daemon reported: its
// message, the exit code and the hint the command line chose for it.
type ChildError struct {
	Code      int
	Msg, Hint string
}

func (e *ChildError) Error() string { return e.Msg }

// Started is a daemon running in the background.
type Started struct {
	PID    int
	Socket string // the SSH agent socket
}

// StartDetached starts exe with args (which must run RunChild: `wsx agent
// --daemon-child ...`) in a new session, hands it u over a pipe, and
// waits until it serves or says why it cannot.
func StartDetached(exe string, args []string, u Unlocking) (Started, error) {
	mark := byte(passNone)
	switch {
	case u.Given && u.NotNeeded:
		mark = passNeeded
	case u.Given:
		mark = passGiven
	}
	passR, passW, err := os.Pipe()
	if err != nil {
		return Started{}, err
	}
	statusR, statusW, err := os.Pipe()
	if err != nil {
		passR.Close()
		passW.Close()
		return Started{}, err
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
		return Started{}, fmt.Errorf("start the agent: %w", err)
	}
	msg := append([]byte{mark}, u.Passphrase...)
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
		return Started{}, fmt.Errorf("the agent (pid %d) exited while starting", pid)
	case !cs.OK:
		return Started{}, &ChildError{Code: cs.Code, Msg: cs.Error, Hint: cs.Hint}
	}
	return Started{PID: pid, Socket: cs.Socket}, nil
}

// RunChild is the detached daemon: it reads how to unlock from fd 3,
// reports on fd 4 once it serves (or why it cannot, with the exit code
// and hint describe gives the error), and serves until SIGTERM, SIGINT or
// SIGHUP, or until process watchPID (when > 0) exits.
func RunChild(c Config, watchPID int, describe func(error) (code int, hint string)) error {
	passFile := os.NewFile(3, "passphrase")
	statusFile := os.NewFile(4, "status")
	if passFile == nil || statusFile == nil {
		return errors.New("agent: started without its pipes")
	}
	report := func(d *Daemon, err error) error {
		cs := childStatus{OK: err == nil, PID: os.Getpid()}
		if d != nil {
			cs.Socket = d.AgentSocket()
		}
		if err != nil {
			cs.Error = err.Error()
			cs.Code, cs.Hint = describe(err)
		}
		json.NewEncoder(statusFile).Encode(cs)
		statusFile.Close()
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if watchPID > 0 {
		if err := watchProcess(watchPID, cancel); err != nil {
			passFile.Close()
			return report(nil, err)
		}
	}
	if err := prepareProcess(c.Env); err != nil {
		passFile.Close()
		return report(nil, err)
	}
	raw, err := io.ReadAll(io.LimitReader(passFile, maxPassphrase+2))
	passFile.Close()
	if err != nil || len(raw) == 0 || len(raw) > maxPassphrase+1 {
		clear(raw)
		return report(nil, errors.New("agent: no passphrase marker from the parent"))
	}
	defer clear(raw)
	d, _, err := Open(c)
	if err != nil {
		return report(nil, err)
	}
	if err := d.Listen(); err != nil {
		return report(nil, err)
	}
	erase.Do(func() {
		switch raw[0] {
		case passGiven:
			err = d.Unlock(raw[1:])
		case passNeeded:
			err = d.Unlock(nil)
		}
	})
	clear(raw)
	if err != nil {
		d.Serve(canceled())
		return report(d, err)
	}
	report(d, nil)
	return serveUntilSignal(ctx, d)
}

// RunForeground is -d and -D: it listens, unlocks with u, calls ready
// (which prints the environment), and serves until a signal.
func RunForeground(d *Daemon, u Unlocking, env []string, ready func() error) error {
	if err := prepareProcess(env); err != nil {
		return err
	}
	if err := d.Listen(); err != nil {
		return err
	}
	if u.Given {
		var err error
		erase.Do(func() { err = d.Unlock(u.Passphrase) })
		if err != nil {
			d.Serve(canceled())
			return err
		}
	} else {
		d.logf("no passphrase file and no terminal: starting locked; `wsx unlock` unlocks")
	}
	if err := ready(); err != nil {
		d.Serve(canceled())
		return err
	}
	return serveUntilSignal(context.Background(), d)
}

// serveUntilSignal serves d until SIGTERM, SIGINT or SIGHUP, or until ctx
// is done.
func serveUntilSignal(ctx context.Context, d *Daemon) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer stop()
	return d.Serve(ctx)
}

// canceled is a done context: Serve on it only cleans up.
func canceled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// ExecWith replaces this process with cmd, SSH_AUTH_SOCK and
// SSH_AGENT_PID set (once each), as ssh-agent does: cmd's exit status is
// then the exit status, and the agent, watching this pid, stops with it.
// It returns only on failure, after stopping the agent.
func ExecWith(cmd []string, s Started) error {
	path, err := osexec.LookPath(cmd[0])
	if err != nil {
		syscall.Kill(s.PID, syscall.SIGTERM)
		return fmt.Errorf("agent: %w", err)
	}
	env := make([]string, 0, len(os.Environ())+2)
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); k == "SSH_AUTH_SOCK" || k == "SSH_AGENT_PID" {
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "SSH_AUTH_SOCK="+s.Socket, "SSH_AGENT_PID="+strconv.Itoa(s.PID))
	err = syscall.Exec(path, cmd, env)
	syscall.Kill(s.PID, syscall.SIGTERM)
	return fmt.Errorf("agent: run %s: %w", cmd[0], err)
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
