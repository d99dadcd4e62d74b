package external

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/wsxdev/wsx/provider"
)

// ErrMissing is returned when wsx-provider is neither beside wsx nor on
// PATH.
var ErrMissing = errors.New(Command + " is not installed")

// childEnv are the variables a provider's process gets from wsx's
// environment, when set: the proxy (as AWS's and Azure's tools honour it)
// and the system's certificates. Nothing else: no credential, no
// VAULT_*/AWS_*/AZURE_* variable, no HOME with its SDK files.
var childEnv = []string{
	"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy",
	"SSL_CERT_FILE", "SSL_CERT_DIR",
}

// deadlineMargin is how much earlier than wsx's the child's deadline
// for a fetch is, at most.
const deadlineMargin = 250 * time.Millisecond

// closeWait bounds how long Close waits for the child to exit on its own.
const closeWait = time.Second

// Open returns the Opener of the provider of scheme in wsx-provider. The
// Provider it makes starts the child at its first Fetch; Close ends it.
func Open(scheme string) provider.Opener {
	return func(s provider.Settings, creds provider.Creds) (provider.Provider, error) {
		return &Provider{scheme: scheme, settings: s, creds: creds}, nil
	}
}

// Provider is a provider served by a wsx-provider child.
type Provider struct {
	scheme   string
	settings provider.Settings
	creds    provider.Creds
	path     string   // the executable; "" finds wsx-provider
	args     []string // its arguments (tests)
	env      []string // the child's environment; nil: childEnv from ours

	mu      sync.Mutex
	ch      *child
	openErr error // the child refused the settings: every Fetch says so
}

// child is one running wsx-provider.
type child struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	c      *conn
	msgs   chan read
	done   chan struct{} // closed when the child is let go
	stderr *tail
}

type read struct {
	m   message
	err error
}

// Find is wsx-provider's path: beside this executable, else on PATH.
func Find() (string, error) {
	var beside string
	if exe, err := os.Executable(); err == nil {
		beside = filepath.Join(filepath.Dir(exe), Command)
		if fi, err := os.Stat(beside); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return beside, nil
		}
	}
	if p, err := exec.LookPath(Command); err == nil {
		return p, nil
	}
	where := "on PATH"
	if beside != "" {
		where = "at " + beside + " or on PATH"
	}
	return "", fmt.Errorf("%w (looked %s)", ErrMissing, where)
}

// start starts the child and opens the provider in it.
func (p *Provider) start(ctx context.Context) error {
	path := p.path
	if path == "" {
		var err error
		if path, err = Find(); err != nil {
			return fmt.Errorf("the %s provider runs in %s: %w", p.scheme, Command, err)
		}
	}
	table, err := json.Marshal(p.settings)
	if err != nil {
		return fmt.Errorf("[provider.%s]: %w", p.scheme, err)
	}
	env := p.env
	if env == nil {
		for _, k := range childEnv {
			if v, ok := os.LookupEnv(k); ok {
				env = append(env, k+"="+v)
			}
		}
		if env == nil {
			env = []string{}
		}
	}
	cmd := exec.Command(path, p.args...)
	cmd.Env = env
	// The child dies with the thread that started it, which lives as long
	// as wsx (wsx locks no goroutine to a thread); it also ends when its
	// stdin does.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	ch := &child{cmd: cmd, stdin: stdin, msgs: make(chan read), done: make(chan struct{}), stderr: &tail{}}
	cmd.Stderr = ch.stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("the %s provider: start %s: %w", p.scheme, path, err)
	}
	ch.c = newConn(stdout, stdin)
	go ch.readLoop()
	p.ch = ch
	if err := ch.c.write(message{Open: &openRequest{Provider: p.scheme, Settings: table}}); err != nil {
		return p.gone(err)
	}
	m, err := p.next(ctx)
	switch {
	case err != nil:
		return err
	case m.Error != nil:
		p.openErr = fromWire(m.Error, nil)
		p.stop()
		return p.openErr
	case !m.Opened:
		p.stop()
		return fmt.Errorf("the %s provider: %s answered open with something else", p.scheme, Command)
	}
	return nil
}

// readLoop hands the child's messages to next until it ends.
func (ch *child) readLoop() {
	for {
		m, err := ch.c.read()
		select {
		case ch.msgs <- read{m, err}:
		case <-ch.done:
			return
		}
		if err != nil {
			return
		}
	}
}

// next waits for the child's next message, within ctx. A child that does
// not answer in time is killed.
func (p *Provider) next(ctx context.Context) (message, error) {
	select {
	case r := <-p.ch.msgs:
		if r.err != nil {
			return message{}, p.gone(r.err)
		}
		return r.m, nil
	case <-ctx.Done():
		p.stop()
		return message{}, fmt.Errorf("%s %s: %w", p.scheme, Command, ctx.Err())
	}
}

// gone reports a child that stopped answering, with the last line it
// wrote on stderr.
func (p *Provider) gone(err error) error {
	ch := p.ch
	p.stop() // the child's stderr is all read once it is waited for
	msg := fmt.Sprintf("the %s provider's %s stopped answering (%v)", p.scheme, Command, err)
	if ch != nil {
		if last := ch.stderr.last(); last != "" {
			msg += ": " + last
		}
	}
	return errors.New(msg)
}

// stop kills the child, if any; the next Fetch starts another.
func (p *Provider) stop() {
	ch := p.ch
	if ch == nil {
		return
	}
	close(ch.done)
	ch.stdin.Close()
	ch.cmd.Process.Kill()
	ch.cmd.Wait()
	p.ch = nil
}

// Fetch asks the child for src, answering the credential requests it
// makes on the way through the Creds wsx gave.
func (p *Provider) Fetch(ctx context.Context, src provider.Source) (provider.Result, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.openErr != nil {
		return provider.Result{}, p.openErr
	}
	if p.ch == nil {
		if err := p.start(ctx); err != nil {
			return provider.Result{}, err
		}
	}
	req := &fetchRequest{Source: src.Raw}
	if d, ok := ctx.Deadline(); ok {
		// The child's deadline comes a little earlier, so that its
		// provider says what timed out before this one kills it.
		left := time.Until(d)
		req.TimeoutMS = max(1, (left - min(deadlineMargin, left/5)).Milliseconds())
	}
	if err := p.ch.c.write(message{Fetch: req}); err != nil {
		return provider.Result{}, p.gone(err)
	}
	var credErr error
	for {
		m, err := p.next(ctx)
		if err != nil {
			return provider.Result{}, err
		}
		switch {
		case m.Need != "":
			a := &credAnswer{Name: m.Need}
			v, err := p.creds.Secret(ctx, m.Need)
			if err != nil {
				credErr = err
				a.Error = &wireError{Message: err.Error()}
			} else {
				a.Value = v
			}
			if err := p.ch.c.write(message{Cred: a}); err != nil {
				return provider.Result{}, p.gone(err)
			}
		case m.Result != nil:
			return provider.Result{Value: m.Result.Value, Version: m.Result.Version, Detail: m.Result.Detail}, nil
		case m.Error != nil:
			return provider.Result{}, fromWire(m.Error, credErr)
		default:
			return provider.Result{}, p.gone(errors.New("an unknown answer"))
		}
	}
}

// Close ends the child: its stdin closes, and it is killed when it has not
// exited within a second.
func (p *Provider) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	ch := p.ch
	if ch == nil {
		return nil
	}
	p.ch = nil
	close(ch.done)
	ch.stdin.Close()
	exited := make(chan struct{})
	go func() {
		ch.cmd.Wait()
		close(exited)
	}()
	select {
	case <-exited:
	case <-time.After(closeWait):
		ch.cmd.Process.Kill()
		<-exited
	}
	return nil
}

// tail keeps the end of what the child writes on stderr, for the message
// of a child that stopped.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

const tailMax = 1024

func (t *tail) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if len(t.buf) > tailMax {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-tailMax:]...)
	}
	return len(b), nil
}

// last is the last non-empty line written, cut to 200 bytes.
func (t *tail) last() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := strings.Split(strings.TrimSpace(string(t.buf)), "\n")
	l := strings.TrimSpace(lines[len(lines)-1])
	if len(l) > 200 {
		l = l[:200]
	}
	return l
}
