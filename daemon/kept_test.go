package daemon

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/wsxdev/wsx/audit"
	"github.com/wsxdev/wsx/internal/release"
	"github.com/wsxdev/wsx/store"
)

// fakeAgent answers POST /v1/use on a unix socket with one secret, and
// closes each connection after closeAfter answers (0: never), as the
// agent closes a connection left idle; or, with dropAt, closes it after
// reading its dropAt-th request, unanswered.
type fakeAgent struct {
	closeAfter int
	dropAt     int
	uses       atomic.Int32 // requests answered
	conns      atomic.Int32 // connections accepted
	wg         sync.WaitGroup
}

func (f *fakeAgent) start(t *testing.T) string {
	t.Helper()
	sock := filepath.Join(shortDir(t), "api.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close(); f.wg.Wait() })
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			f.conns.Add(1)
			f.wg.Add(1)
			go func() {
				defer f.wg.Done()
				defer c.Close()
				br := bufio.NewReader(c)
				for n := 1; ; n++ {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					io.Copy(io.Discard, req.Body)
					f.uses.Add(1)
					if n == f.dropAt {
						return
					}
					body := `[{"meta":{"name":"API_TOKEN","type":"token"},"value":"dmFsdWUtMDEyMzQ1Njc4OQ=="}]`
					fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
					if n == f.closeAfter {
						return
					}
				}
			}()
		}
	}()
	return sock
}

func plainDial(sock string) func(context.Context) (net.Conn, error) {
	return func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}
}

func useOnce(t *testing.T, c *Client) {
	t.Helper()
	secs, err := c.Use(context.Background(), []string{"API_TOKEN"}, release.Record{Via: audit.ViaProxy})
	if err != nil || len(secs) != 1 || string(secs[0].Value.Bytes()) != "value-0123456789" {
		t.Fatalf("Use = %d secrets, %v", len(secs), err)
	}
}

// Requests made one after the other share one connection; requests made
// at the same time each get one, and as many are kept for the next.
func TestKeptConnection(t *testing.T) {
	f := &fakeAgent{}
	sock := f.start(t)
	c := newClient(sock, plainDial(sock))
	defer c.Close()
	for range 5 {
		useOnce(t, c)
	}
	if n := f.conns.Load(); n != 1 {
		t.Fatalf("5 uses one after the other took %d connections, want 1", n)
	}
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			if _, err := c.Use(context.Background(), []string{"API_TOKEN"}, release.Record{Via: audit.ViaProxy}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := f.conns.Load(); n > 3 {
		t.Errorf("3 uses at once took %d connections in all, want at most 3", n)
	}
	before := f.conns.Load()
	useOnce(t, c)
	if f.conns.Load() != before {
		t.Error("a use after the concurrent ones dialled again")
	}
	c.Close()
	useOnce(t, c)
	if f.conns.Load() != before+1 {
		t.Error("a use after Close did not dial a new connection")
	}
}

// A kept connection the agent closed meanwhile is found closed before
// any answer: the request is made once more, on a new connection, and
// reaches the agent once.
func TestKeptConnectionClosedByAgent(t *testing.T) {
	f := &fakeAgent{closeAfter: 1}
	sock := f.start(t)
	c := newClient(sock, plainDial(sock))
	defer c.Close()
	for i := 1; i <= 4; i++ {
		useOnce(t, c)
		if n := f.uses.Load(); n != int32(i) {
			t.Fatalf("after %d uses the agent answered %d requests", i, n)
		}
	}
	if n := f.conns.Load(); n != 4 {
		t.Errorf("%d connections for 4 uses each on a connection the agent closed, want 4", n)
	}
}

// A kept connection the agent closed after reading the request is not
// made again: the agent may have recorded and released the use.
func TestKeptConnectionReadThenClosed(t *testing.T) {
	f := &fakeAgent{dropAt: 2}
	sock := f.start(t)
	c := newClient(sock, plainDial(sock))
	defer c.Close()
	useOnce(t, c)
	if _, err := c.Use(context.Background(), []string{"API_TOKEN"}, release.Record{Via: audit.ViaProxy}); err == nil {
		t.Fatal("Use answered although the agent closed without an answer")
	}
	if n := f.uses.Load(); n != 2 {
		t.Errorf("the agent read %d requests for 2 uses, want 2", n)
	}
}

// Nothing is sent for a request whose context ended, and the client
// works on afterwards.
func TestKeptConnectionContext(t *testing.T) {
	f := &fakeAgent{}
	sock := f.start(t)
	c := newClient(sock, plainDial(sock))
	defer c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Use(ctx, []string{"API_TOKEN"}, release.Record{Via: audit.ViaProxy}); !errors.Is(err, context.Canceled) {
		t.Errorf("Use with its context ended: %v, want context.Canceled", err)
	}
	if n := f.uses.Load(); n != 0 {
		t.Errorf("the agent got %d requests whose context had ended", n)
	}
	useOnce(t, c)
}

// The agent's errors keep their kind, and the connection stays kept.
func TestKeptConnectionRemoteError(t *testing.T) {
	st := newTestStore(t)
	_, c := startDaemon(t, st, nil)
	for range 2 {
		_, err := c.Use(context.Background(), []string{"NOPE"}, release.Record{Via: audit.ViaProxy})
		if !errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), "NOPE") {
			t.Errorf("Use of a missing secret: %v", err)
		}
	}
	kt := c.hc.Transport.(*keptTransport)
	kt.mu.Lock()
	idle := len(kt.idle)
	kt.mu.Unlock()
	if idle != 1 {
		t.Errorf("%d connections kept after two errors on one, want 1", idle)
	}
}
