package sshagent

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"
	mrand "math/rand/v2"
	"net"
	"os"
	osexec "os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/sys/unix"

	"github.com/wsxdev/wsx/internal/access"
	"github.com/wsxdev/wsx/internal/unixsock"
)

// logRecorder collects an agent's diagnostics.
type logRecorder struct {
	mu    sync.Mutex
	lines []string
}

func (r *logRecorder) logf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, fmt.Sprintf(format, args...))
}

func (r *logRecorder) contains(s string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.ContainsFunc(r.lines, func(l string) bool { return strings.Contains(l, s) })
}

// closedWithin reports whether the agent closes c within d (a read ends
// in EOF or a reset rather than a timeout).
func closedWithin(c net.Conn, d time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 64)
	for {
		_, err := c.Read(buf)
		if err == nil {
			continue
		}
		var ne net.Error
		return !(errors.As(err, &ne) && ne.Timeout())
	}
}

func dialRaw(t testing.TB, sock string) net.Conn {
	t.Helper()
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func header(n uint32) []byte {
	return binary.BigEndian.AppendUint32(nil, n)
}

// checkStillServes proves a real client (x/crypto's and OpenSSH's
// ssh-add) is served, and that no connection hit the panic guard.
func checkStillServes(t *testing.T, sock string, logs *logRecorder, pub ssh.PublicKey) {
	t.Helper()
	keys, err := dial(t, sock).List()
	if err != nil || len(keys) != 1 || string(keys[0].Blob) != string(pub.Marshal()) {
		t.Fatalf("agent no longer serves: %v, %v", keys, err)
	}
	if _, err := osexec.LookPath("ssh-add"); err == nil {
		cmd := osexec.Command("ssh-add", "-l")
		cmd.Env = []string{"SSH_AUTH_SOCK=" + sock, "PATH=/usr/bin:/bin"}
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), ssh.FingerprintSHA256(pub)) {
			t.Fatalf("ssh-add -l: %v\n%s", err, out)
		}
	}
	if logs.contains("internal error") {
		t.Fatal("a request panicked")
	}
}

// SECURITY 35: bad lengths close the connection before anything is
// allocated for them; the agent goes on serving.
func TestRequestLengths(t *testing.T) {
	logs := &logRecorder{}
	a, sock := startOurs(t, Options{Clock: newFakeClock(), Logf: logs.logf}, ServeOptions{IdleTimeout: 30 * time.Second})
	k := newEd25519(t)
	if err := a.Add(agent.AddedKey{PrivateKey: k, Comment: "survivor"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		n    uint32
		body int
	}{
		{"length 0", 0, 0},
		{"length 2^31", 1 << 31, 0},
		{"length 2^32-1", 1<<32 - 1, 0},
		{"300 KiB", 300 << 10, 300 << 10},
		{"256 KiB + 1", MaxRequestSize + 1, 1024},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			c := dialRaw(t, sock)
			if _, err := c.Write(header(tc.n)); err != nil {
				t.Fatal(err)
			}
			if tc.body > 0 {
				// The agent may close before the body is written.
				go c.Write(make([]byte, tc.body))
			}
			if !closedWithin(c, 5*time.Second) {
				t.Fatal("connection not closed")
			}
			runtime.ReadMemStats(&after)
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 8<<20 {
				t.Errorf("allocated %d bytes for a refused request", grew)
			}
		})
	}
	// The largest allowed size is read and answered.
	c := dialRaw(t, sock)
	reply, err := roundTrip(c, append([]byte{27}, make([]byte, MaxRequestSize-1)...))
	if err != nil || len(reply) == 0 {
		t.Fatalf("request of MaxRequestSize: %v, %v", reply, err)
	}
	checkStillServes(t, sock, logs, sshPub(t, k))
}

// SECURITY 35: a client that stops in the middle, or never starts, is
// closed after the idle timeout.
func TestIdleTimeout(t *testing.T) {
	const idle = 300 * time.Millisecond
	logs := &logRecorder{}
	a, sock := startOurs(t, Options{Clock: newFakeClock(), Logf: logs.logf}, ServeOptions{IdleTimeout: idle})
	k := newEd25519(t)
	if err := a.Add(agent.AddedKey{PrivateKey: k}); err != nil {
		t.Fatal(err)
	}
	for name, send := range map[string][]byte{
		"silence":              nil,
		"partial header":       {0, 0},
		"header then silence":  header(100),
		"part of body":         append(header(100), 13, 0, 0),
		"request then silence": append(header(1), 11),
	} {
		t.Run(name, func(t *testing.T) {
			c := dialRaw(t, sock)
			start := time.Now()
			if len(send) > 0 {
				if _, err := c.Write(send); err != nil {
					t.Fatal(err)
				}
			}
			if !closedWithin(c, 10*time.Second) {
				t.Fatal("not closed")
			}
			if el := time.Since(start); el < idle-50*time.Millisecond {
				t.Fatalf("closed after %v, before the idle timeout", el)
			}
		})
	}
	checkStillServes(t, sock, logs, sshPub(t, k))
}

// hugeRSAAdd encodes an add request for an RSA "key" of random numbers of
// the given size, with primes of half that size.
func hugeRSAAdd(bits int) []byte {
	rnd := func(bits int) *big.Int {
		n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), uint(bits)))
		return n.SetBit(n, bits-1, 1)
	}
	return ssh.Marshal(struct {
		Type                string `sshtype:"17"`
		Name                string
		N, E, D, Iqmp, P, Q *big.Int
		Comment             string
	}{Name: ssh.KeyAlgoRSA, N: rnd(bits), E: big.NewInt(65537), D: rnd(bits), Iqmp: rnd(bits / 2),
		P: rnd(bits / 2), Q: rnd(bits / 2), Comment: "huge"})
}

// SECURITY 36 and 37: malformed blobs, huge RSA keys, smartcard requests
// and random requests get an error reply on a connection that stays
// usable, in bounded time, without a panic.
func TestMalformedRequests(t *testing.T) {
	logs := &logRecorder{}
	a, sock := startOurs(t, Options{Clock: newFakeClock(), Logf: logs.logf}, ServeOptions{IdleTimeout: 30 * time.Second})
	k := newEd25519(t)
	pub := sshPub(t, k)
	if err := a.Add(agent.AddedKey{PrivateKey: k, Comment: "survivor"}); err != nil {
		t.Fatal(err)
	}
	junk := []byte{0, 0, 0, 9, 'g', 'a', 'r', 'b'}
	str := func(s string) []byte { return sshString([]byte(s)) }
	failures := map[string][]byte{
		"empty sign":             {13},
		"sign garbage":           append([]byte{13}, junk...),
		"sign garbage key":       concat([]byte{13}, str("ssh-ed25519"), str("data"), []byte{0, 0, 0, 0}),
		"sign unknown key":       concat([]byte{13}, sshString(sshPub(t, newEd25519(t)).Marshal()), str("data"), []byte{0, 0, 0, 0}),
		"empty add":              {17},
		"add unknown type":       concat([]byte{17}, str("ssh-dss"), junk),
		"add short ed25519":      concat([]byte{17}, str(ssh.KeyAlgoED25519), str("pub"), str("priv"), str("c")),
		"add ecdsa off curve":    concat([]byte{17}, str("ecdsa-sha2-nistp256"), str("nistp256"), sshString(append([]byte{4}, make([]byte, 64)...)), sshString([]byte{1}), str("c")),
		"add ecdsa wrong curve":  concat([]byte{17}, str("ecdsa-sha2-nistp256"), str("nistp999"), str("x"), sshString([]byte{1}), str("c")),
		"add rsa zeros":          concat([]byte{17}, str(ssh.KeyAlgoRSA), sshString(nil), sshString(nil), sshString(nil), sshString(nil), sshString(nil), sshString(nil), str("c")),
		"add cert garbage":       concat([]byte{17}, str(ssh.CertAlgoED25519v01), str("cert"), str("pub"), str("priv"), str("c")),
		"add sk key":             concat([]byte{17}, str("sk-ssh-ed25519@openssh.com"), junk),
		"huge rsa 16384":         hugeRSAAdd(16384),
		"huge rsa 20000":         hugeRSAAdd(20000),
		"remove garbage":         append([]byte{18}, junk...),
		"remove empty":           {18},
		"lock without string":    {22},
		"unlock without string":  {23},
		"unknown type 0":         {0},
		"unknown type 255":       {255},
		"smartcard add":          concat([]byte{20}, str("/usr/lib/p11.so"), str("pin")),
		"smartcard constrained":  concat([]byte{26}, str("/usr/lib/p11.so"), str("pin"), []byte{1, 0, 0, 0, 1}),
		"smartcard remove":       concat([]byte{21}, str("/usr/lib/p11.so"), str("pin")),
		"extension without name": {27},
	}
	c := dialRaw(t, sock)
	for name, msg := range failures {
		start := time.Now()
		reply, err := roundTrip(c, msg)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(reply) != 1 || reply[0] != 5 {
			t.Errorf("%s: reply %v, want SSH_AGENT_FAILURE", name, reply)
		}
		if el := time.Since(start); el > 3*time.Second {
			t.Errorf("%s: took %v", name, el)
		}
	}
	for name, msg := range map[string][]byte{
		"session-bind garbage":      concat([]byte{27}, str(extSessionBind), junk),
		"session-bind empty":        concat([]byte{27}, str(extSessionBind)),
		"session-bind huge sid":     concat([]byte{27}, str(extSessionBind), mustBindWithSID(t, make([]byte, 4096))),
		"unknown extension garbage": concat([]byte{27}, str("x@example.com"), junk),
	} {
		reply, err := roundTrip(c, msg)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(reply) != 1 || (reply[0] != 5 && reply[0] != 28) {
			t.Errorf("%s: reply %v, want a failure", name, reply)
		}
	}
	// Random requests of every type but lock and remove-all, which could
	// legitimately succeed and change the agent's state.
	rng := mrand.New(mrand.NewPCG(1, 2))
	for i := 0; i < 500; i++ {
		typ := byte(rng.IntN(256))
		if typ == 22 || typ == 19 {
			continue
		}
		body := make([]byte, rng.IntN(80))
		for j := range body {
			body[j] = byte(rng.IntN(256))
		}
		if rng.IntN(2) == 0 && len(body) >= 4 {
			binary.BigEndian.PutUint32(body, uint32(len(body)-4))
		}
		reply, err := roundTrip(c, append([]byte{typ}, body...))
		if err != nil || len(reply) == 0 {
			t.Fatalf("random request %d (type %d): %v", i, typ, err)
		}
	}
	if got := listComments(t, dial(t, sock)); !slices.Equal(got, []string{"survivor"}) {
		t.Fatalf("garbage changed the keys: %q", got)
	}
	checkStillServes(t, sock, logs, pub)
}

func mustBindWithSID(t testing.TB, sid []byte) []byte {
	return bindMsg(t, newHostKey(t), sid, false)
}

// panicSource panics when listed, standing for a bug behind a request.
type panicSource struct{ armed atomic.Bool }

func (p *panicSource) Keys() ([]StoredKey, error) {
	if p.armed.Load() {
		panic("bug")
	}
	return nil, nil
}
func (p *panicSource) Signer(string) (ssh.Signer, error) { return nil, ErrKeyNotFound }

// A panic while serving costs its connection only.
func TestPanicCostsOneConnection(t *testing.T) {
	logs := &logRecorder{}
	src := &panicSource{}
	_, sock := startOurs(t, Options{Clock: newFakeClock(), Source: src, Logf: logs.logf}, ServeOptions{})
	src.armed.Store(true)
	c := dialRaw(t, sock)
	if _, err := roundTrip(c, []byte{11}); err == nil {
		t.Fatal("panicking request answered")
	}
	if !logs.contains("internal error") {
		t.Fatal("panic not reported")
	}
	src.armed.Store(false)
	if got := listComments(t, dial(t, sock)); len(got) != 0 {
		t.Fatalf("listed %q", got)
	}
}

// SECURITY 35: 1000 idle connections; the cap (128) holds, the longest
// idle ones make room, and a real client is served at once.
func TestIdleConnectionFlood(t *testing.T) {
	logs := &logRecorder{}
	a, sock := startOurs(t, Options{Clock: newFakeClock(), Logf: logs.logf}, ServeOptions{})
	k := newEd25519(t)
	if err := a.Add(agent.AddedKey{PrivateKey: k}); err != nil {
		t.Fatal(err)
	}
	const flood = 1000
	conns := make([]net.Conn, flood)
	for i := range conns {
		conns[i] = dialRaw(t, sock)
	}
	checkStillServes(t, sock, logs, sshPub(t, k))
	// Every connection accepted before the client's is now either open or
	// closed by the agent; peek at each without blocking.
	open := 0
	for _, c := range conns {
		if !peerClosed(t, c) {
			open++
		}
	}
	// The x/crypto client (still open) and ssh-add (gone) each took the
	// place of one idle connection.
	want := DefaultMaxConns - 1
	if _, err := osexec.LookPath("ssh-add"); err == nil {
		want--
	}
	if open != want {
		t.Fatalf("%d of %d idle connections still open, want %d", open, flood, want)
	}
}

// peerClosed reports, without blocking, whether the other end closed c.
func peerClosed(t testing.TB, c net.Conn) bool {
	t.Helper()
	raw, err := c.(*net.UnixConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	buf := make([]byte, 1)
	if err := raw.Control(func(fd uintptr) {
		n, _, err := unix.Recvfrom(int(fd), buf, unix.MSG_PEEK|unix.MSG_DONTWAIT)
		closed = n == 0 && err == nil || errors.Is(err, unix.ECONNRESET)
	}); err != nil {
		t.Fatal(err)
	}
	return closed
}

// When every connection is busy, a new one is closed.
func TestConnectionCapAllBusy(t *testing.T) {
	release := make(chan struct{})
	busy := make(chan struct{}, 2)
	a, sock := startOurs(t, Options{Clock: newFakeClock(), Confirm: func(ConfirmRequest) error {
		busy <- struct{}{}
		<-release
		return nil
	}}, ServeOptions{MaxConns: 2})
	k := newEd25519(t)
	if err := a.Add(agent.AddedKey{PrivateKey: k, ConfirmBeforeUse: true}); err != nil {
		t.Fatal(err)
	}
	pub := sshPub(t, k)
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		c := dial(t, sock)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.Sign(pub, []byte("x")); err != nil {
				t.Errorf("busy client: %v", err)
			}
		}()
		select {
		case <-busy:
		case <-time.After(10 * time.Second):
			t.Fatal("signature did not ask for confirmation")
		}
	}
	if !closedWithin(dialRaw(t, sock), 5*time.Second) {
		t.Fatal("connection beyond the cap of busy ones was not closed")
	}
	close(release)
	wg.Wait()
	if _, err := dial(t, sock).List(); err != nil {
		t.Fatalf("after the busy clients left: %v", err)
	}
}

// countingSource counts list requests that reached the agent.
type countingSource struct{ lists atomic.Int32 }

func (s *countingSource) Keys() ([]StoredKey, error) {
	s.lists.Add(1)
	return nil, nil
}
func (s *countingSource) Signer(string) (ssh.Signer, error) { return nil, ErrKeyNotFound }

// SECURITY 25: a peer of another uid is closed before any request is
// read, even on a socket anyone may connect to, and the refusal is
// reported. The client runs as nobody, which needs root.
func TestPeerCheck(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("running a client as another uid needs root")
	}
	if _, err := osexec.LookPath("ssh-add"); err != nil {
		t.Skip("ssh-add not installed")
	}
	const nobody = 65534
	serve := func(t *testing.T, sopts ServeOptions) (string, *countingSource) {
		dir, err := os.MkdirTemp("", "wsxpeer")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		sock := filepath.Join(dir, "agent.sock")
		l, err := net.Listen("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(sock, 0o666); err != nil {
			t.Fatal(err)
		}
		src := &countingSource{}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- Serve(ctx, l, New(Options{Source: src}), sopts) }()
		t.Cleanup(func() { cancel(); <-done })
		return sock, src
	}
	sshAddAs := func(uid int, sock string) string {
		cmd := osexec.Command("ssh-add", "-l")
		cmd.Env = []string{"SSH_AUTH_SOCK=" + sock, "HOME=/", "PATH=/usr/bin:/bin"}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}}
		out, _ := cmd.CombinedOutput()
		return string(out)
	}
	const served = "The agent has no identities"

	var mu sync.Mutex
	var denied []Peer
	sock, src := serve(t, ServeOptions{OnDenied: func(p Peer, err error) {
		mu.Lock()
		defer mu.Unlock()
		if errors.Is(err, ErrPeerDenied) {
			denied = append(denied, p)
		}
	}})
	if out := sshAddAs(nobody, sock); strings.Contains(out, served) {
		t.Fatalf("uid %d was served: %s", nobody, out)
	}
	mu.Lock()
	if len(denied) != 1 || denied[0].UID != nobody || denied[0].PID <= 0 {
		t.Errorf("OnDenied saw %+v, want one peer of uid %d", denied, nobody)
	}
	mu.Unlock()
	if n := src.lists.Load(); n != 0 {
		t.Fatalf("the refused peer's request reached the agent (%d lists)", n)
	}
	if out := sshAddAs(0, sock); !strings.Contains(out, served) {
		t.Fatalf("root was not served: %s", out)
	}
	if src.lists.Load() != 1 {
		t.Fatal("root's request did not reach the agent")
	}

	sock2, _ := serve(t, ServeOptions{AllowedUIDs: []int{nobody}})
	if out := sshAddAs(nobody, sock2); !strings.Contains(out, served) {
		t.Fatalf("allowed uid %d was not served: %s", nobody, out)
	}
}

// Authorize is asked again before each request: revoking a peer cuts its
// open connection at the next request.
func TestAuthorizeEachRequest(t *testing.T) {
	var allowed atomic.Bool
	allowed.Store(true)
	var deniedCount atomic.Int32
	_, sock := startOurs(t, Options{Clock: newFakeClock()}, ServeOptions{
		Authorize: func(p Peer, a access.Action) error {
			if p.PID != os.Getpid() || !allowed.Load() {
				return ErrPeerDenied
			}
			if a != access.Connect && a != access.Read {
				return fmt.Errorf("%s: %w", a, ErrPeerDenied)
			}
			return nil
		},
		OnDenied: func(Peer, error) { deniedCount.Add(1) },
	})
	c := dialRaw(t, sock)
	if reply, err := roundTrip(c, []byte{11}); err != nil || reply[0] != 12 {
		t.Fatalf("allowed request: %v, %v", reply, err)
	}
	// A lock (22, passphrase "p") its role does not allow: a failure
	// answer, the agent untouched, the connection kept.
	if reply, err := roundTrip(c, []byte{22, 0, 0, 0, 1, 'p'}); err != nil || reply[0] != 5 {
		t.Fatalf("refused request: %v, %v", reply, err)
	}
	if reply, err := roundTrip(c, []byte{11}); err != nil || reply[0] != 12 {
		t.Fatalf("request after a refusal: %v, %v", reply, err)
	}
	allowed.Store(false)
	if _, err := roundTrip(c, []byte{11}); err == nil {
		t.Fatal("revoked peer served")
	}
	if deniedCount.Load() != 2 {
		t.Fatalf("OnDenied called %d times", deniedCount.Load())
	}
}

// A listener without peer credentials (TCP) serves no one.
func TestServeRequiresPeerCredentials(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skip(err)
	}
	denied := make(chan Peer, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, l, New(Options{}), ServeOptions{OnDenied: func(p Peer, err error) { denied <- p }})
	}()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := roundTrip(c, []byte{11}); err == nil {
		t.Fatal("served over TCP")
	}
	if p := <-denied; p != unixsock.UnknownPeer {
		t.Fatalf("denied peer %+v", p)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// Stopping Serve closes the connections it accepted.
func TestServeStop(t *testing.T) {
	a := New(Options{})
	sock := filepath.Join(shortDir(t), "s")
	l, err := unixsock.Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, l, a, ServeOptions{}) }()
	c := dialRaw(t, sock)
	if _, err := roundTrip(c, []byte{11}); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if !closedWithin(c, 5*time.Second) {
		t.Fatal("connection left open")
	}
	if _, err := os.Stat(sock); err == nil {
		t.Error("socket left behind")
	}
	_ = io.EOF
}

// Each request is asked of Authorize with its action before the agent
// sees it: a role without it gets a failure and the agent is untouched.
func TestAuthorizeActions(t *testing.T) {
	var mu sync.Mutex
	var asked []access.Action
	allow := map[access.Action]bool{access.Connect: true, access.Read: true}
	a, sock := startOurs(t, Options{Clock: newFakeClock()}, ServeOptions{
		Authorize: func(p Peer, act access.Action) error {
			mu.Lock()
			defer mu.Unlock()
			if act != access.Connect {
				asked = append(asked, act)
			}
			if !allow[act] {
				return fmt.Errorf("%s: %w", act, ErrPeerDenied)
			}
			return nil
		},
	})
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Add(agent.AddedKey{PrivateKey: priv, Comment: "local"}); err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	client := agent.NewClient(c).(agent.ExtendedAgent)
	keys, err := client.List()
	if err != nil || len(keys) != 1 {
		t.Fatalf("list: %v, %v", keys, err)
	}
	pub := keys[0]
	if _, err := client.Sign(pub, []byte("data")); err == nil {
		t.Error("signed")
	}
	if err := client.Add(agent.AddedKey{PrivateKey: priv}); err == nil {
		t.Error("added")
	}
	if err := client.Remove(pub); err == nil {
		t.Error("removed")
	}
	if err := client.RemoveAll(); err == nil {
		t.Error("removed all")
	}
	if err := client.Lock([]byte("p")); err == nil {
		t.Error("locked")
	}
	if err := client.Unlock([]byte("p")); err == nil {
		t.Error("unlocked")
	}
	if _, err := client.Extension("query", nil); err != nil {
		t.Errorf("query: %v", err)
	}
	want := []access.Action{access.Read, access.Sign, access.Write, access.Write, access.Write, access.Lock, access.Unlock, access.Read}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(asked, want) {
		t.Fatalf("asked %v, want %v", asked, want)
	}
	if a.AddedKeys() != 1 || a.Locked() {
		t.Fatalf("the agent changed: %d keys, locked %v", a.AddedKeys(), a.Locked())
	}
}
