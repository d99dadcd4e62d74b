package sshagent

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/wsxdev/wsx/internal/access"
	"github.com/wsxdev/wsx/internal/erase"
	"github.com/wsxdev/wsx/internal/unixsock"
)

// Serving limits.
const (
	// MaxRequestSize is the largest request accepted, as ssh-agent's.
	MaxRequestSize = 256 << 10
	// DefaultIdleTimeout closes a connection that sends no request for
	// this long, or stalls in the middle of one.
	DefaultIdleTimeout = 60 * time.Second
	// DefaultMaxConns is the default cap on concurrent connections.
	DefaultMaxConns = 128
)

// Errors of Serve.
var (
	ErrPeerDenied  = unixsock.ErrPeerDenied
	ErrRequestSize = errors.New("request size out of bounds")
)

// ServeOptions configures Serve. The zero value allows the agent's owner
// (the effective uid) and root, with the default limits.
type ServeOptions struct {
	// AllowedUIDs are the uids that may connect besides root; empty means
	// the effective uid of this process.
	AllowedUIDs []int
	// Authorize, when set, replaces the uid check (root included). It is
	// asked with access.Connect at accept and again before each request
	// (an error then closes the connection, so revoking a peer cuts its
	// next request on an open connection), and with the request's action
	// (access.Read for the key list, Sign, Write for ssh-add and ssh-add
	// -d/-D, Lock, Unlock) before the agent sees it: an error then
	// answers SSH_AGENT_FAILURE.
	Authorize func(Peer, access.Action) error
	// OnDenied is told of every refused peer, for the audit log. The
	// peer's fields are -1 when its credentials could not be read.
	OnDenied func(peer Peer, err error)
	// OnClose is told when the connection of an admitted peer ends.
	OnClose func(peer Peer)
	// IdleTimeout defaults to DefaultIdleTimeout.
	IdleTimeout time.Duration
	// MaxConns defaults to DefaultMaxConns. When it is reached, the
	// connection idle for longest is closed to make room; when none is
	// idle, the new one is closed.
	MaxConns int
	// MaxRequest lowers MaxRequestSize; zero or larger values mean
	// MaxRequestSize.
	MaxRequest int
}

// Serve accepts agent connections on l until ctx is done or accepting
// fails. Each connection's peer is checked before anything is read from
// it; requests are then served by a.Conn(peer). When Serve returns, the
// listener and every connection it accepted are closed.
func Serve(ctx context.Context, l net.Listener, a *Agent, opts ServeOptions) error {
	s := newServer(a, opts)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		<-ctx.Done()
		l.Close()
	}()
	var wg sync.WaitGroup
	defer func() {
		s.closeAll()
		wg.Wait()
	}()
	backoff := time.Duration(0)
	var conns uint64
	for {
		c, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if temporaryAccept(err) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				a.logf("sshagent: accept: %v; retrying in %v", err, backoff)
				select {
				case <-time.After(backoff):
				case <-ctx.Done():
					return nil
				}
				continue
			}
			return fmt.Errorf("accept agent connection: %w", err)
		}
		backoff = 0
		peer, err := unixsock.PeerOf(c)
		if err == nil {
			err = s.authorize(peer)
		}
		if err != nil {
			c.Close()
			s.denied(peer, err)
			continue
		}
		conns++
		peer.Conn = conns
		t := s.admit(c)
		if t == nil {
			a.logf("sshagent: %d connections busy, refusing pid %d", s.maxConns, peer.PID)
			c.Close()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.serveConn(t, peer)
		}()
	}
}

func temporaryAccept(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.ENOBUFS) ||
		errors.Is(err, syscall.ENOMEM) || errors.Is(err, syscall.EINTR)
}

type server struct {
	a        *Agent
	opts     ServeOptions
	idle     time.Duration
	maxConns int
	maxReq   uint32
	allowed  map[int]bool

	mu     sync.Mutex
	conns  map[*tracked]struct{}
	closed bool
}

// tracked is an accepted connection.
type tracked struct {
	c net.Conn
	// idleSince is when the connection started waiting for a request
	// (unix nanoseconds), 0 while a request is being read or served.
	idleSince atomic.Int64
}

func newServer(a *Agent, opts ServeOptions) *server {
	s := &server{a: a, opts: opts, idle: opts.IdleTimeout, maxConns: opts.MaxConns,
		maxReq: MaxRequestSize, allowed: map[int]bool{}, conns: map[*tracked]struct{}{}}
	if s.idle <= 0 {
		s.idle = DefaultIdleTimeout
	}
	if s.maxConns <= 0 {
		s.maxConns = DefaultMaxConns
	}
	if opts.MaxRequest > 0 && opts.MaxRequest < MaxRequestSize {
		s.maxReq = uint32(opts.MaxRequest)
	}
	if len(opts.AllowedUIDs) == 0 {
		s.allowed[os.Geteuid()] = true
	}
	for _, uid := range opts.AllowedUIDs {
		s.allowed[uid] = true
	}
	return s
}

func (s *server) authorize(p Peer) error {
	if s.opts.Authorize != nil {
		return s.opts.Authorize(p, access.Connect)
	}
	if p.UID == 0 || s.allowed[p.UID] {
		return nil
	}
	return fmt.Errorf("uid %d (pid %d): %w", p.UID, p.PID, ErrPeerDenied)
}

func (s *server) denied(p Peer, err error) {
	s.a.logf("sshagent: refused connection: %v", err)
	if s.opts.OnDenied != nil {
		s.opts.OnDenied(p, err)
	}
}

// admit registers c, closing the longest idle connection when the cap is
// reached. It returns nil when there is no room.
func (s *server) admit(c net.Conn) *tracked {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	if len(s.conns) >= s.maxConns {
		var victim *tracked
		for t := range s.conns {
			since := t.idleSince.Load()
			if since != 0 && (victim == nil || since < victim.idleSince.Load()) {
				victim = t
			}
		}
		if victim == nil {
			return nil
		}
		delete(s.conns, victim)
		victim.c.Close()
	}
	t := &tracked{c: c}
	t.idleSince.Store(time.Now().UnixNano())
	s.conns[t] = struct{}{}
	return t
}

func (s *server) release(t *tracked) {
	s.mu.Lock()
	delete(s.conns, t)
	s.mu.Unlock()
	t.c.Close()
}

func (s *server) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for t := range s.conns {
		t.c.Close()
	}
}

func (s *server) serveConn(t *tracked, peer Peer) {
	defer s.release(t)
	if s.opts.OnClose != nil {
		defer s.opts.OnClose(peer)
	}
	defer func() {
		// Last resort: a panic must cost one connection, not the agent.
		if r := recover(); r != nil {
			s.a.logf("sshagent: internal error serving pid %d: %v", peer.PID, r)
		}
	}()
	f := &framer{s: s, t: t, peer: peer}
	var err error
	// Requests carry keys (ssh-add) and make signatures: what they leave
	// on the heap is erased once garbage, where the build allows it.
	var ag agent.ExtendedAgent = s.a.Conn(peer)
	if s.opts.Authorize != nil {
		ag = &guard{ExtendedAgent: ag, s: s, peer: peer}
	}
	erase.Do(func() { err = agent.ServeAgent(ag, f) })
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
		s.a.logf("sshagent: closed connection of pid %d: %v", peer.PID, err)
	}
}

// framer sits between ServeAgent and the connection. It reads each
// request's 4-byte length itself, refuses a length of 0 or above the cap
// before ServeAgent allocates anything, applies the idle timeout to every
// read and write, and re-authorizes the peer before each request.
type framer struct {
	s         *server
	t         *tracked
	peer      Peer
	hdr       [4]byte
	hdrLeft   int    // header bytes not yet handed to ServeAgent
	remaining uint32 // body bytes of the current request still to read
	served    int    // requests begun
}

func (f *framer) Read(p []byte) (int, error) {
	if f.hdrLeft == 0 && f.remaining == 0 {
		if err := f.next(); err != nil {
			return 0, err
		}
	}
	if f.hdrLeft > 0 {
		n := copy(p, f.hdr[len(f.hdr)-f.hdrLeft:])
		f.hdrLeft -= n
		return n, nil
	}
	if uint64(len(p)) > uint64(f.remaining) {
		p = p[:f.remaining]
	}
	n, err := f.t.c.Read(p)
	f.remaining -= uint32(n)
	return n, err
}

// next waits for the next request's header.
func (f *framer) next() error {
	c := f.t.c
	if f.served > 0 {
		// Before the first request, the time of admission stands.
		f.t.idleSince.Store(time.Now().UnixNano())
	}
	f.served++
	// What the last request left below this frame (a key's bytes,
	// registers a preemption saved) goes before the wait, during which
	// the collector may move the stack and free the old copy as it is.
	erase.Stack()
	if err := c.SetReadDeadline(time.Now().Add(f.s.idle)); err != nil {
		return err
	}
	if _, err := io.ReadFull(c, f.hdr[:]); err != nil {
		return err
	}
	f.t.idleSince.Store(0)
	n := binary.BigEndian.Uint32(f.hdr[:])
	if n == 0 || n > f.s.maxReq {
		return fmt.Errorf("request of %d bytes, want 1 to %d: %w", n, f.s.maxReq, ErrRequestSize)
	}
	if f.s.opts.Authorize != nil {
		if err := f.s.opts.Authorize(f.peer, access.Connect); err != nil {
			f.s.denied(f.peer, err)
			return err
		}
	}
	if err := c.SetReadDeadline(time.Now().Add(f.s.idle)); err != nil {
		return err
	}
	f.hdrLeft, f.remaining = len(f.hdr), n
	return nil
}

func (f *framer) Write(p []byte) (int, error) {
	if err := f.t.c.SetWriteDeadline(time.Now().Add(f.s.idle)); err != nil {
		return 0, err
	}
	return f.t.c.Write(p)
}

// guard asks ServeOptions.Authorize, before each request reaches the
// agent, whether the peer may do what it asks.
type guard struct {
	agent.ExtendedAgent
	s    *server
	peer Peer
}

func (g *guard) check(a access.Action) error {
	if err := g.s.opts.Authorize(g.peer, a); err != nil {
		g.s.denied(g.peer, err)
		return err
	}
	return nil
}

func (g *guard) List() ([]*agent.Key, error) {
	if err := g.check(access.Read); err != nil {
		return nil, err
	}
	return g.ExtendedAgent.List()
}

func (g *guard) Sign(key ssh.PublicKey, data []byte) (*ssh.Signature, error) {
	return g.SignWithFlags(key, data, 0)
}

func (g *guard) SignWithFlags(key ssh.PublicKey, data []byte, flags agent.SignatureFlags) (*ssh.Signature, error) {
	if err := g.check(access.Sign); err != nil {
		return nil, err
	}
	return g.ExtendedAgent.SignWithFlags(key, data, flags)
}

func (g *guard) Add(key agent.AddedKey) error {
	if err := g.check(access.Write); err != nil {
		return err
	}
	return g.ExtendedAgent.Add(key)
}

func (g *guard) Remove(key ssh.PublicKey) error {
	if err := g.check(access.Write); err != nil {
		return err
	}
	return g.ExtendedAgent.Remove(key)
}

func (g *guard) RemoveAll() error {
	if err := g.check(access.Write); err != nil {
		return err
	}
	return g.ExtendedAgent.RemoveAll()
}

func (g *guard) Lock(passphrase []byte) error {
	if err := g.check(access.Lock); err != nil {
		return err
	}
	return g.ExtendedAgent.Lock(passphrase)
}

func (g *guard) Unlock(passphrase []byte) error {
	if err := g.check(access.Unlock); err != nil {
		return err
	}
	return g.ExtendedAgent.Unlock(passphrase)
}

func (g *guard) Signers() ([]ssh.Signer, error) {
	if err := g.check(access.Sign); err != nil {
		return nil, err
	}
	return g.ExtendedAgent.Signers()
}

// Extension: session-bind and query tell the agent about the connection
// and ask what it supports; reading the key list's right covers them.
func (g *guard) Extension(extensionType string, contents []byte) ([]byte, error) {
	if err := g.check(access.Read); err != nil {
		return nil, err
	}
	return g.ExtendedAgent.Extension(extensionType, contents)
}
