package daemon

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"
)

// keptTransport is the client's http.RoundTripper. Each request is
// written, and its answer read, in the caller's goroutine, on a
// connection kept open for the next request: net/http's Transport hands
// each request to a writer goroutine and the answer back from a reader
// goroutine, and those wake-ups cost more than a request to the agent
// itself. The exec proxy asks the agent for a use (POST /v1/use) for
// every request it puts a value into.
//
// Requests made one after the other share one connection, so the agent
// reads the process facts once (Peer.Conn); requests made at the same
// time each get a connection.
type keptTransport struct {
	dial func(context.Context) (net.Conn, error)

	mu   sync.Mutex
	idle []*keptConn
	gen  uint64 // bumped by CloseIdleConnections: connections out now are not kept
}

// maxIdleKept bounds the connections kept idle; keptIdle, how long one
// is (the agent closes its side after apiIdleTimeout).
const (
	maxIdleKept = 4
	keptIdle    = 30 * time.Second
)

// keptConn is one connection of a keptTransport.
type keptConn struct {
	conn  net.Conn
	br    *bufio.Reader
	bw    *bufio.Writer
	gen   uint64
	since time.Time // idle since
}

// errStale is a kept connection the agent closed while it was idle:
// nothing was answered on it, so the request is made again on a new one.
var errStale = errors.New("kept connection closed by the agent")

// aLongTimeAgo is a deadline that has passed: it stops a read or write.
var aLongTimeAgo = time.Unix(1, 0)

func (t *keptTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			closeBody(req)
			return nil, err
		}
		kc, reused, err := t.get(ctx)
		if err != nil {
			closeBody(req)
			return nil, err
		}
		resp, err := t.send(ctx, kc, req)
		if err == nil {
			return resp, nil
		}
		kc.conn.Close()
		if !errors.Is(err, errStale) || !reused || attempt > 0 {
			return nil, err
		}
		// Made again, with the body from its start.
		if req.Body != nil && req.Body != http.NoBody {
			if req.GetBody == nil {
				return nil, err
			}
			body, gerr := req.GetBody()
			if gerr != nil {
				return nil, err
			}
			r2 := *req
			r2.Body = body
			req = &r2
		}
	}
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// get returns an idle connection, or dials one; reused says which.
func (t *keptTransport) get(ctx context.Context) (kc *keptConn, reused bool, err error) {
	var old []*keptConn
	t.mu.Lock()
	for len(t.idle) > 0 {
		n := len(t.idle)
		kc, t.idle = t.idle[n-1], t.idle[:n-1]
		if time.Since(kc.since) < keptIdle {
			break
		}
		old = append(old, kc)
		kc = nil
	}
	gen := t.gen
	t.mu.Unlock()
	for _, o := range old {
		o.conn.Close()
	}
	if kc != nil {
		return kc, true, nil
	}
	conn, err := t.dial(ctx)
	if err != nil {
		return nil, false, err
	}
	return &keptConn{conn: conn, br: bufio.NewReader(conn), bw: bufio.NewWriter(conn), gen: gen}, false, nil
}

// put keeps kc for the next request, or closes it.
func (t *keptTransport) put(kc *keptConn) {
	kc.since = time.Now()
	t.mu.Lock()
	if kc.gen == t.gen && len(t.idle) < maxIdleKept {
		t.idle = append(t.idle, kc)
		kc = nil
	}
	t.mu.Unlock()
	if kc != nil {
		kc.conn.Close()
	}
}

// CloseIdleConnections closes the idle connections; those in use are
// closed when their answer was read (http.Client.CloseIdleConnections).
func (t *keptTransport) CloseIdleConnections() {
	t.mu.Lock()
	idle := t.idle
	t.idle = nil
	t.gen++
	t.mu.Unlock()
	for _, kc := range idle {
		kc.conn.Close()
	}
}

// send writes req on kc and reads the answer's header. The body is read
// from kc until it is closed; ctx's end stops both.
func (t *keptTransport) send(ctx context.Context, kc *keptConn, req *http.Request) (*http.Response, error) {
	d, _ := ctx.Deadline()
	kc.conn.SetDeadline(d)
	stop := context.AfterFunc(ctx, func() { kc.conn.SetDeadline(aLongTimeAgo) })
	fail := func(err error) (*http.Response, error) {
		stop()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	err := req.Write(kc.bw)
	if err == nil {
		err = kc.bw.Flush()
	}
	if err == nil {
		_, err = kc.br.Peek(1)
	}
	if err != nil {
		// EPIPE: the agent closed before the write; ECONNRESET: it
		// closed with the request unread. A plain end (EOF) after the
		// write means it read the request, and may have acted on it:
		// making it again could record and release twice.
		if errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) {
			err = fmt.Errorf("%w: %w", errStale, err)
		}
		return fail(err)
	}
	resp, err := http.ReadResponse(kc.br, req)
	if err != nil {
		return fail(err)
	}
	resp.Body = &keptBody{rc: resp.Body, t: t, kc: kc, stop: stop, keep: !resp.Close}
	return resp, nil
}

// keptBody is an answer's body; its connection is kept once the body was
// read to its end.
type keptBody struct {
	rc   io.ReadCloser
	t    *keptTransport
	kc   *keptConn
	stop func() bool
	keep bool
	done bool
}

func (b *keptBody) Read(p []byte) (int, error) {
	if b.done {
		return 0, io.EOF
	}
	n, err := b.rc.Read(p)
	if err == io.EOF {
		b.finish(true)
	} else if err != nil {
		b.finish(false)
	}
	return n, err
}

// Close keeps the connection when little of the body was left.
func (b *keptBody) Close() error {
	if b.done {
		return nil
	}
	n, err := io.Copy(io.Discard, io.LimitReader(b.rc, 4<<10))
	b.finish(err == nil && n < 4<<10)
	return nil
}

// finish ends the body: its connection is kept when it was read whole,
// the agent keeps it, and ctx did not stop it meanwhile.
func (b *keptBody) finish(whole bool) {
	b.done = true
	b.rc.Close()
	if b.stop() && whole && b.keep {
		b.t.put(b.kc)
		return
	}
	b.kc.conn.Close()
}
