package proxy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/wsxdev/wsx/audit"
	"github.com/wsxdev/wsx/internal/caller"
	"github.com/wsxdev/wsx/internal/release"
)

// Secret is a secret the proxy puts into requests.
type Secret struct {
	Name        string   // the secret, as its records name it
	Placeholder string   // what the command holds instead (NewPlaceholder)
	Hosts       []string // the secret's Hosts: where its value may go
}

// Recorder appends records of events other than a use (the `denied`
// records of placeholders sent elsewhere).
type Recorder interface {
	Record(rs ...audit.Record) error
}

// Config is what New needs.
type Config struct {
	Secrets []Secret
	// Releaser hands out the values, one Use per request that needs them.
	Releaser release.Releaser
	Recorder Recorder
	// RootCAs verify the hosts' certificates; nil: the system's roots.
	RootCAs *x509.CertPool
	// BodyTypes are the media types (application/json, ...) whose bodies
	// get the placeholders replaced too; others pass as they are.
	BodyTypes []string
	// Peer finds who is at the other end of an accepted connection:
	// its uid and program name. Nil: caller.TCPPeer and /proc.
	Peer func(local, remote netip.AddrPort) (uid int, program string, err error)
}

// Errors of New.
var ErrNoHosts = errors.New("secret has no host to send it to")

// maxBody bounds a body read whole to replace its placeholders.
const maxBody = 8 << 20

// Proxy is one run's proxy. Serve it on a listener; Close stops it.
type Proxy struct {
	cfg      Config
	ca       *authority
	secrets  []bound
	bodies   map[string]bool
	uid      int
	upstream *http.Transport
	rp       *httputil.ReverseProxy
	outer    *http.Server
	inner    *http.Server
	conns    *connListener
	masks    masks
}

type bound struct {
	name, ph string
	hosts    []binding
}

// New makes the run's authority and a proxy for cfg.Secrets, each of
// which must have a host.
func New(cfg Config) (*Proxy, error) {
	p := &Proxy{cfg: cfg, bodies: map[string]bool{}, uid: os.Getuid()}
	var names []string
	for _, s := range cfg.Secrets {
		if !IsPlaceholder(s.Placeholder) {
			return nil, fmt.Errorf("secret %s: placeholder of the wrong shape", s.Name)
		}
		if len(s.Hosts) == 0 {
			return nil, fmt.Errorf("secret %s: %w", s.Name, ErrNoHosts)
		}
		b := bound{name: s.Name, ph: s.Placeholder}
		for _, h := range s.Hosts {
			bd, err := parseBinding(h)
			if err != nil {
				return nil, fmt.Errorf("secret %s: %w", s.Name, err)
			}
			b.hosts = append(b.hosts, bd)
			names = append(names, bd.host)
		}
		p.secrets = append(p.secrets, b)
	}
	for _, t := range cfg.BodyTypes {
		p.bodies[strings.ToLower(t)] = true
	}
	ca, err := newAuthority(names, time.Now())
	if err != nil {
		return nil, err
	}
	p.ca = ca
	p.upstream = &http.Transport{
		Proxy:                 nil, // straight to the host
		DialContext:           dialUpstream,
		TLSClientConfig:       &tls.Config{RootCAs: cfg.RootCAs, MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2:     true,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   15 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	p.rp = &httputil.ReverseProxy{
		Rewrite:        p.rewrite,
		Transport:      p.upstream,
		ModifyResponse: p.maskResponse,
		ErrorHandler:   p.upstreamError,
		FlushInterval:  -1,
		BufferPool:     &bufferPool{},
		ErrorLog:       quietLog(),
	}
	p.conns = newConnListener()
	p.inner = &http.Server{Handler: http.HandlerFunc(p.serveIntercepted), ConnContext: withConn,
		ReadHeaderTimeout: time.Minute, ErrorLog: quietLog()}
	p.outer = &http.Server{Handler: http.HandlerFunc(p.serveOuter), ConnContext: withConn,
		ReadHeaderTimeout: time.Minute, ErrorLog: quietLog()}
	return p, nil
}

// CAPEM returns the run's authority certificate, for the command to trust.
func (p *Proxy) CAPEM() []byte { return p.ca.PEM() }

// Serve serves the proxy on l until Close.
func (p *Proxy) Serve(l net.Listener) error {
	go p.inner.Serve(p.conns)
	err := p.outer.Serve(l)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Close stops the proxy and closes its connections.
func (p *Proxy) Close() error {
	p.outer.Close()
	p.inner.Close()
	p.conns.Close()
	p.upstream.CloseIdleConnections()
	return nil
}

// client is what the proxy knows of one accepted connection: who is at
// the other end (found once, from /proc), and for an intercepted one the
// host CONNECT named.
type client struct {
	conn net.Conn

	uidOnce sync.Once
	uid     int
	sock    caller.TCPSocket
	err     error

	progOnce sync.Once
	prog     string

	to    target
	outer *client // of an intercepted connection: the CONNECT's, which knows the rest
}

// intercepted returns what is known of c for the requests read from
// its TLS connection to t.
func (c *client) intercepted(t target) *client {
	return &client{conn: c.conn, to: t, outer: c}
}

type connKey struct{}

func withConn(ctx context.Context, c net.Conn) context.Context {
	if ic, ok := c.(*interceptedConn); ok {
		return context.WithValue(ctx, connKey{}, ic.cl)
	}
	return context.WithValue(ctx, connKey{}, &client{conn: c})
}

func clientOf(ctx context.Context) *client {
	c, _ := ctx.Value(connKey{}).(*client)
	return c
}

// peerUID returns the uid of the process at the other end of c.
func (p *Proxy) peerUID(c *client) (int, error) {
	if c.outer != nil {
		return p.peerUID(c.outer)
	}
	c.uidOnce.Do(func() {
		l, err1 := netip.ParseAddrPort(c.conn.LocalAddr().String())
		r, err2 := netip.ParseAddrPort(c.conn.RemoteAddr().String())
		switch {
		case err1 != nil || err2 != nil:
			c.uid, c.err = -1, errors.New("not a TCP connection")
		case p.cfg.Peer != nil:
			c.uid, c.prog, c.err = p.cfg.Peer(l, r)
			c.progOnce.Do(func() {})
		default:
			c.sock, c.err = caller.TCPPeer(l, r)
			c.uid = c.sock.UID
		}
	})
	return c.uid, c.err
}

// program names the program at the other end of c, for records: the base
// name of its executable, or "" when it cannot be told.
func (p *Proxy) program(c *client) string {
	if c.outer != nil {
		return p.program(c.outer)
	}
	if _, err := p.peerUID(c); err != nil {
		return ""
	}
	c.progOnce.Do(func() {
		if pid := c.sock.Holder(); pid > 0 {
			if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err == nil {
				c.prog = caller.Printable(filepath.Base(exe))
			}
		}
	})
	return c.prog
}

// mine says whether the connection of r comes from this user; others get
// their connection closed.
func (p *Proxy) mine(w http.ResponseWriter, r *http.Request) bool {
	c := clientOf(r.Context())
	if c == nil {
		return false
	}
	uid, err := p.peerUID(c)
	if err == nil && uid == p.uid {
		return true
	}
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
			return false
		}
	}
	http.Error(w, "wsx proxy: only the user who ran wsx exec may use this proxy", http.StatusForbidden)
	return false
}

// serveOuter answers the command's requests to the proxy: CONNECT, and
// plain HTTP requests with an absolute URL.
func (p *Proxy) serveOuter(w http.ResponseWriter, r *http.Request) {
	if !p.mine(w, r) {
		return
	}
	if r.Method == http.MethodConnect {
		p.connect(w, r)
		return
	}
	if r.URL.Scheme != "http" || r.URL.Host == "" {
		http.Error(w, "wsx proxy: send http:// URLs in full, and https:// through CONNECT", http.StatusBadRequest)
		return
	}
	t, err := parseAuthority(r.URL.Host, "http")
	if err != nil {
		http.Error(w, "wsx proxy: "+err.Error(), http.StatusBadRequest)
		return
	}
	p.forward(w, r, t)
}

// intercepts says whether some secret is bound to t.
func (p *Proxy) intercepts(t target) bool {
	for _, s := range p.secrets {
		for _, b := range s.hosts {
			if b.target == t {
				return true
			}
		}
	}
	return false
}

// connect intercepts a CONNECT to a bound host and tunnels any other.
func (p *Proxy) connect(w http.ResponseWriter, r *http.Request) {
	t, err := parseAuthority(r.Host, "https")
	if err != nil || !strings.Contains(r.Host, ":") {
		http.Error(w, "wsx proxy: CONNECT needs host:port", http.StatusBadRequest)
		return
	}
	if !p.intercepts(t) {
		p.tunnel(w, r, t)
		return
	}
	cert, err := p.ca.leaf(t.host, time.Now())
	if err != nil {
		http.Error(w, "wsx proxy: "+err.Error(), http.StatusInternalServerError)
		return
	}
	conn, rw, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return
	}
	conn.SetDeadline(time.Time{})
	if _, err := io.WriteString(conn, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		conn.Close()
		return
	}
	raw := conn
	if n := rw.Reader.Buffered(); n > 0 {
		b, _ := rw.Reader.Peek(n)
		raw = &prefixConn{Conn: conn, r: io.MultiReader(strings.NewReader(string(b)), conn)}
	}
	bc := &batchConn{Conn: raw}
	tc := tls.Server(bc, &tls.Config{
		Certificates: []tls.Certificate{*cert},
		NextProtos:   []string{"http/1.1"},
		MinVersion:   tls.VersionTLS12,
		// Full records from the first byte: the command is on this
		// machine, and small first records only cost more of them.
		DynamicRecordSizingDisabled: true,
	})
	tc.SetDeadline(time.Now().Add(30 * time.Second))
	if err := tc.Handshake(); err != nil {
		tc.Close()
		return
	}
	tc.SetDeadline(time.Time{})
	p.conns.push(&interceptedConn{Conn: tc, batch: bc, cl: clientOf(r.Context()).intercepted(t)})
}

// tunnel passes the bytes of a CONNECT to t both ways, unread.
func (p *Proxy) tunnel(w http.ResponseWriter, r *http.Request, t target) {
	up, err := (&net.Dialer{Timeout: 30 * time.Second}).DialContext(r.Context(), "tcp", t.authority())
	if err != nil {
		http.Error(w, "wsx proxy: "+t.authority()+": "+err.Error(), http.StatusBadGateway)
		return
	}
	conn, rw, err := w.(http.Hijacker).Hijack()
	if err != nil {
		up.Close()
		return
	}
	conn.SetDeadline(time.Time{})
	if _, err := io.WriteString(conn, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		conn.Close()
		up.Close()
		return
	}
	if n := rw.Reader.Buffered(); n > 0 {
		b, _ := rw.Reader.Peek(n)
		up.Write(b)
	}
	go func() {
		io.Copy(up, conn)
		if tc, ok := up.(*net.TCPConn); ok {
			tc.CloseWrite()
		}
	}()
	io.Copy(conn, up)
	conn.Close()
	up.Close()
}

// serveIntercepted answers a request read from an intercepted TLS
// connection.
func (p *Proxy) serveIntercepted(w http.ResponseWriter, r *http.Request) {
	cl := clientOf(r.Context())
	if cl == nil {
		http.Error(w, "wsx proxy: lost connection", http.StatusInternalServerError)
		return
	}
	if r.Host != "" {
		if t, err := parseAuthority(r.Host, "https"); err != nil || t != cl.to {
			http.Error(w, "wsx proxy: the request's Host is not the host CONNECT named", http.StatusMisdirectedRequest)
			return
		}
	}
	r.URL.Scheme, r.URL.Host = "https", cl.to.authority()
	p.forward(w, r, cl.to)
}

type targetKey struct{}

// forward replaces in r the placeholders of the secrets bound to t,
// records each use (and each placeholder that goes elsewhere as denied),
// and passes r on to t.
func (p *Proxy) forward(w http.ResponseWriter, r *http.Request, t target) {
	prog := p.program(clientOf(r.Context()))
	found, err := p.find(r)
	if err != nil {
		http.Error(w, "wsx proxy: "+err.Error(), http.StatusBadRequest)
		return
	}
	path := r.URL.Path
	what := fmt.Sprintf("proxy: %s %s %s", t, r.Method, caller.Printable(cut(path, 200)))
	if prog != "" {
		what += ", by " + prog
	}
	ctx := audit.Context{Command: what, Protocol: t.scheme, Host: t.String(), Path: cut(path, 1024)}
	var use []bound
	var denied []audit.Record
	for _, s := range found.secrets {
		if s.boundTo(t, path) {
			use = append(use, s)
			continue
		}
		c := ctx
		denied = append(denied, audit.Record{Event: audit.EventDenied, Secret: s.name, Via: audit.ViaProxy,
			Result: audit.ResultDenied, Context: &c, Detail: "placeholder sent to " + t.String() + ", a host the secret is not bound to; left as it was"})
	}
	if len(denied) > 0 {
		if err := p.cfg.Recorder.Record(denied...); err != nil {
			http.Error(w, "wsx proxy: audit log unavailable, request not sent: "+err.Error(), http.StatusBadGateway)
			return
		}
	}
	out := r
	if len(use) > 0 {
		names := make([]string, len(use))
		for i, s := range use {
			names[i] = s.name
		}
		secs, err := p.cfg.Releaser.Use(r.Context(), names, release.Record{Via: audit.ViaProxy, Context: ctx})
		if err != nil {
			http.Error(w, fmt.Sprintf("wsx proxy: %s not put into the request: %v", strings.Join(names, ", "), err), http.StatusBadGateway)
			return
		}
		if out, err = p.substitute(r, found, use, secs); err != nil {
			http.Error(w, "wsx proxy: "+err.Error(), http.StatusBadGateway)
			return
		}
	}
	if p.intercepts(t) {
		// Asked for in plain so echoed values can be masked; the transport
		// still takes gzip from the host and unpacks it.
		out.Header.Del("Accept-Encoding")
	}
	if p.intercepts(t) && out.Header.Get("Upgrade") != "" {
		// After a switch of protocols the bytes would pass unmasked.
		http.Error(w, "wsx proxy: protocol upgrades (WebSocket, ...) to a host a secret is bound to are refused: what it sends back could not be masked", http.StatusNotImplemented)
		return
	}
	mw := &maskingWriter{ResponseWriter: w, p: p}
	rctx := context.WithValue(context.WithValue(out.Context(), targetKey{}, t), writerKey{}, mw)
	defer mw.end(true) // a body not closed is one that broke off
	p.rp.ServeHTTP(mw, out.WithContext(rctx))
}

func (s bound) boundTo(t target, path string) bool {
	for _, b := range s.hosts {
		if b.matches(t, path) {
			return true
		}
	}
	return false
}

func (p *Proxy) rewrite(pr *httputil.ProxyRequest) {
	t := pr.In.Context().Value(targetKey{}).(target)
	pr.Out.URL.Scheme, pr.Out.URL.Host = t.scheme, t.authority()
	pr.Out.Host = t.authority()
	if t.port == defaultPort(t.scheme) {
		pr.Out.Host = t.String()
	}
}

// upstreamError answers a request the host could not be reached for,
// naming the host and why (a certificate that does not verify, ...).
// The message never holds the URL (its query may hold a value), and is
// masked all the same.
func (p *Proxy) upstreamError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	var cert *tls.CertificateVerificationError
	var ue *url.Error
	switch {
	case errors.As(err, &cert):
		err = errors.New("the host's certificate does not verify: " + cert.Err.Error())
	case errors.As(err, &ue):
		err = ue.Err
	}
	msg := "wsx proxy: " + r.URL.Host + ": " + err.Error()
	if m := p.masks.get(); m != nil {
		msg = string(m.Mask([]byte(msg)))
	}
	http.Error(w, msg, http.StatusBadGateway)
}

func cut(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// interceptedConn is a TLS connection from the command to a bound host,
// after the handshake, with what the proxy knows of it.
type interceptedConn struct {
	net.Conn
	batch *batchConn
	cl    *client
}

// Write writes b in as few writes to the socket as its TLS records allow.
func (c *interceptedConn) Write(b []byte) (int, error) {
	c.batch.gather()
	n, err := c.Conn.Write(b)
	if serr := c.batch.send(); err == nil && serr != nil {
		return 0, serr
	}
	return n, err
}

// prefixConn reads bytes already buffered before the connection's own.
type prefixConn struct {
	net.Conn
	r io.Reader
}

func (c *prefixConn) Read(b []byte) (int, error) { return c.r.Read(b) }

// connListener hands intercepted connections to the inner server.
type connListener struct {
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

func newConnListener() *connListener {
	return &connListener{ch: make(chan net.Conn), done: make(chan struct{})}
}

func (l *connListener) push(c net.Conn) {
	select {
	case l.ch <- c:
	case <-l.done:
		c.Close()
	}
}

func (l *connListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *connListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *connListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }
