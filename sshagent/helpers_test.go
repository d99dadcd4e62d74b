package sshagent

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"os"
	osexec "os/exec"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/wsxdev/wsx/internal/unixsock"
)

// fakeClock is a Clock whose time moves only when told to.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
	slept  []time.Duration
}

type fakeTimer struct {
	c       *fakeClock
	at      time.Time
	f       func()
	stopped bool
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2024, 6, 12, 14, 31, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	return t
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := !t.stopped
	t.stopped = true
	return was
}

// Sleep records the wait and lets the fake time pass.
func (c *fakeClock) Sleep(d time.Duration) {
	c.mu.Lock()
	c.slept = append(c.slept, d)
	c.mu.Unlock()
	c.Advance(d)
}

func (c *fakeClock) Slept() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.slept...)
}

// Advance moves time forward and runs the timers that come due, in order.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []*fakeTimer
	rest := c.timers[:0]
	for _, t := range c.timers {
		switch {
		case t.stopped:
		case !t.at.After(c.now):
			t.stopped = true
			due = append(due, t)
		default:
			rest = append(rest, t)
		}
	}
	c.timers = rest
	c.mu.Unlock()
	sort.Slice(due, func(i, j int) bool { return due[i].at.Before(due[j].at) })
	for _, t := range due {
		t.f()
	}
}

// Test keys are generated once per test binary: RSA generation is slow.
type testKey struct {
	name string
	priv crypto.Signer
}

var testKeys = sync.OnceValue(func() []testKey {
	must := func(k crypto.Signer, err error) crypto.Signer {
		if err != nil {
			panic(err)
		}
		return k
	}
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	return []testKey{
		{"ed25519", ed},
		{"rsa2048", must(rsa.GenerateKey(rand.Reader, 2048))},
		{"ecdsa256", must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))},
		{"ecdsa384", must(ecdsa.GenerateKey(elliptic.P384(), rand.Reader))},
		{"ecdsa521", must(ecdsa.GenerateKey(elliptic.P521(), rand.Reader))},
	}
})

func keyNamed(t testing.TB, name string) crypto.Signer {
	t.Helper()
	for _, k := range testKeys() {
		if k.name == name {
			return k.priv
		}
	}
	t.Fatalf("no test key %s", name)
	return nil
}

func newEd25519(t testing.TB) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func sshPub(t testing.TB, k crypto.Signer) ssh.PublicKey {
	t.Helper()
	p, err := ssh.NewPublicKey(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func sshSigner(t testing.TB, k crypto.Signer) ssh.Signer {
	t.Helper()
	s, err := ssh.NewSignerFromKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// shortDir returns a fresh 0700 directory with a short path, for sockets.
func shortDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "wsxag")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return dir
}

// startOpenSSH runs OpenSSH's ssh-agent in the foreground on a new socket
// with the given extra environment and returns the socket path.
func startOpenSSH(t testing.TB, env ...string) string {
	sock, _ := startOpenSSHProc(t, env...)
	return sock
}

// startOpenSSHProc is startOpenSSH returning the agent's pid too.
func startOpenSSHProc(t testing.TB, env ...string) (string, int) {
	t.Helper()
	bin, err := osexec.LookPath("ssh-agent")
	if err != nil {
		t.Skip("ssh-agent not installed")
	}
	dir := shortDir(t)
	sock := filepath.Join(dir, "agent.sock")
	cmd := osexec.Command(bin, "-D", "-a", sock)
	cmd.Env = append([]string{"HOME=" + dir, "PATH=/usr/bin:/bin"}, env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start ssh-agent: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	deadline := time.Now().Add(5 * time.Second)
	for {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			return sock, cmd.Process.Pid
		}
		if time.Now().After(deadline) {
			t.Fatalf("ssh-agent did not start: %s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// startOurs serves a new Agent on a new socket through Listen and Serve.
func startOurs(t testing.TB, opts Options, sopts ServeOptions) (*Agent, string) {
	t.Helper()
	a := New(opts)
	sock := filepath.Join(shortDir(t), "agent.sock")
	l, err := unixsock.Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, l, a, sopts) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return a, sock
}

// dial returns a client of the agent at sock.
func dial(t testing.TB, sock string) agent.ExtendedAgent {
	t.Helper()
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return agent.NewClient(c)
}

// roundTrip sends one raw request on c and returns the reply body, or an
// error when the agent closed the connection instead.
func roundTrip(c net.Conn, msg []byte) ([]byte, error) {
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], uint32(len(msg)))
	if _, err := c.Write(append(hdr[:], msg...)); err != nil {
		return nil, err
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > 1<<20 {
		return nil, errors.New("reply too large")
	}
	body := make([]byte, n)
	_, err := io.ReadFull(c, body)
	return body, err
}

// rawRequest sends msg on a new connection to sock.
func rawRequest(t testing.TB, sock string, msg []byte) ([]byte, error) {
	t.Helper()
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return roundTrip(c, msg)
}

// sshString encodes s as an SSH string.
func sshString(s []byte) []byte {
	return appendString(nil, string(s))
}

func concat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// listComments lists the agent's keys by comment.
func listComments(t testing.TB, a agent.Agent) []string {
	t.Helper()
	keys, err := a.List()
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	var out []string
	for _, k := range keys {
		out = append(out, k.Comment)
	}
	return out
}

func pemEncode(b *pem.Block) []byte { return pem.EncodeToMemory(b) }
