package ui

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wsxdev/wsx/audit"
	"github.com/wsxdev/wsx/internal/access"
	"github.com/wsxdev/wsx/internal/erase"
	"github.com/wsxdev/wsx/store"
)

// DefaultIdleTimeout stops a page nobody used for this long.
const DefaultIdleTimeout = 15 * time.Minute

// Backend is what the page needs of the agent. None of its methods
// returns a value.
type Backend interface {
	// Locked reports whether the store is locked.
	Locked() bool
	// Unlock unlocks the store; a wrong passphrase returns
	// store.ErrWrongPassphrase after the agent's backoff, and is noted
	// for the audit log.
	Unlock(passphrase []byte) error
	List() ([]store.Meta, error)
	Add(sec store.Secret, opts store.AddOptions) (store.Meta, error)
	Edit(name string, e store.Edit) (store.Meta, error)
	Remove(name string) error
	// Record appends records of the page's events, made by the process
	// that asked for the page.
	Record(rs ...audit.Record) error
	// AuditRecords returns the audit log's records, oldest first.
	AuditRecords() ([]audit.Record, error)
	// Status describes the agent, as label and value pairs.
	Status() []Fact
}

// Fact is one line of the status page.
type Fact struct {
	Label, Value string
}

// Sharing is what the Sharing page needs: who the workspace is shared
// with, and `wsx share` / `wsx unshare` from the page. A Backend that
// implements it gets the page. Share checks that the page's owner may
// make the change and records it (granted or revoked, via ui) as `wsx
// share` does.
type Sharing interface {
	Grants() (access.Grants, error)
	// Share grants req.Role to req.Subject (alice, @dev), or takes the
	// subject's grant back when req.Revoke; it returns the grant made or
	// taken back.
	Share(req access.Request) (access.Grant, error)
	// GuestEnv is what a guest exports to reach the agent
	// (WSX_AGENT=... SSH_AUTH_SOCK=...), "" when it serves no shared
	// directory.
	GuestEnv() string
}

// Options configure a Server.
type Options struct {
	Backend Backend
	// Addr is where to listen: 127.0.0.1:PORT, port 0 for a free one.
	Addr string
	// Dir is the working directory of `wsx ui`, where the project's
	// wsx.toml is looked for.
	Dir string
	// IdleTimeout stops the server after this long without a request;
	// DefaultIdleTimeout when zero.
	IdleTimeout time.Duration
	Now         func() time.Time
	// Logf receives what the server has to say; never a value.
	Logf func(format string, args ...any)
}

// Server is one page session; see the package doc.
type Server struct {
	opts  Options
	host  string // the Host requests must name: 127.0.0.1:PORT
	l     net.Listener
	pages *pages

	mu      sync.Mutex
	token   string // the one-time token; "" once spent
	session string // the cookie's value; "" until the token is spent
	csrf    string // the forms' token
	idle    *time.Timer
	done    chan struct{}
	once    sync.Once
	reason  string // why the server stopped
}

// cookieName is the session cookie.
const cookieName = "wsx_ui"

// New returns a server with opts; it does not listen yet.
func New(opts Options) (*Server, error) {
	if opts.Backend == nil {
		return nil, errors.New("ui: no backend")
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = DefaultIdleTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	p, err := newPages()
	if err != nil {
		return nil, err
	}
	s := &Server{opts: opts, pages: p, token: randomToken(), csrf: randomToken(), done: make(chan struct{})}
	s.idle = time.AfterFunc(opts.IdleTimeout, func() { s.stop("idle for " + opts.IdleTimeout.String()) })
	return s, nil
}

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Listen listens on Options.Addr, which must be a loopback address, and
// returns the URL to open: it holds the one-time token.
func (s *Server) Listen() (string, error) {
	host, _, err := net.SplitHostPort(s.opts.Addr)
	if err != nil {
		return "", fmt.Errorf("ui address %q: %w", s.opts.Addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() || ip.To4() == nil {
		return "", fmt.Errorf("ui address %q: the page is served on 127.0.0.1 only", s.opts.Addr)
	}
	l, err := net.Listen("tcp4", s.opts.Addr)
	if err != nil {
		return "", fmt.Errorf("serve the page: %w", err)
	}
	s.l = &uidListener{Listener: l, owner: os.Geteuid(), logf: s.logf, tcp: "/proc/net/tcp"}
	s.host = l.Addr().String()
	return s.URL(), nil
}

// URL is the address to open, with the one-time token.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return "http://" + s.host + "/login?token=" + s.token
}

// Done is closed when the server stops: Close was called, or it was idle.
func (s *Server) Done() <-chan struct{} { return s.done }

// Reason says why the server stopped, once Done is closed.
func (s *Server) Reason() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reason
}

func (s *Server) stop(reason string) {
	s.once.Do(func() {
		s.mu.Lock()
		s.reason = reason
		s.mu.Unlock()
		s.idle.Stop()
		close(s.done)
	})
}

// Close stops the server.
func (s *Server) Close() { s.stop("closed") }

// Serve serves the page until ctx is done, Close is called or the server
// was idle for Options.IdleTimeout. Listen must have been called.
func (s *Server) Serve(ctx context.Context) error {
	if s.l == nil {
		return errors.New("ui: Serve before Listen")
	}
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          log.New(logWriter{s.logf}, "ui: ", 0),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(s.l) }()
	var err error
	select {
	case <-ctx.Done():
		s.stop("stopped")
	case <-s.done:
	case err = <-errc:
		s.stop("failed")
	}
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	srv.Shutdown(sctx)
	cancel()
	srv.Close()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

func (s *Server) logf(format string, args ...any) {
	if s.opts.Logf != nil {
		s.opts.Logf(format, args...)
	}
}

// logWriter turns the http server's log lines into Logf calls.
type logWriter struct{ logf func(string, ...any) }

func (w logWriter) Write(p []byte) (int, error) {
	w.logf("%s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// csp allows the page's own script and style and nothing else: no inline
// script, no other origin, no framing, forms posted back here only.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// Handler is the page's handler: the checks of every request around the
// pages.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	s.routes(mux)
	mux.HandleFunc("GET /static/{file}", serveStatic)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		if err := s.check(r); err != nil {
			s.logf("refused %s %s: %v", r.Method, r.URL.Path, err)
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		if r.URL.Path == "/login" {
			s.login(w, r)
			return
		}
		if !s.hasSession(r) {
			http.Error(w, "no session: run `wsx ui` and open the address it prints", http.StatusUnauthorized)
			return
		}
		s.touch()
		// Values pass through the forms: what the handler leaves on the
		// heap is erased once garbage, where the build allows it.
		erase.Do(func() {
			if r.Method == http.MethodPost && !s.csrfOK(r) {
				http.Error(w, "the form is stale or not this page's: reload the page and try again", http.StatusForbidden)
				return
			}
			mux.ServeHTTP(w, r)
		})
	})
}

// touch puts off the idle stop.
func (s *Server) touch() { s.idle.Reset(s.opts.IdleTimeout) }

// check refuses a request for another host (DNS rebinding) or from
// another origin (CSRF).
func (s *Server) check(r *http.Request) error {
	if r.Host != s.host {
		return fmt.Errorf("host %q is not this page's (%s)", r.Host, s.host)
	}
	if o := r.Header.Get("Origin"); o != "" && o != "http://"+s.host {
		return fmt.Errorf("origin %q is not this page's", o)
	}
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		return fmt.Errorf("a request from another site")
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodPost:
		// Browsers send Origin with every POST; one without is not a
		// form of this page. (Referrer-Policy same-origin, not
		// no-referrer, under which the page's own forms send "null".)
		if r.Header.Get("Origin") == "" {
			return errors.New("a form without an origin")
		}
	default:
		return fmt.Errorf("method %s", r.Method)
	}
	return nil
}

// login spends the one-time token for the session cookie, and sends the
// browser to the page without the token in its address bar.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	got := r.URL.Query().Get("token")
	s.mu.Lock()
	ok := s.token != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.token)) == 1
	if ok {
		s.token = ""
		s.session = randomToken()
	}
	session := s.session
	s.mu.Unlock()
	if !ok {
		s.logf("refused a login with a wrong or spent token")
		http.Error(w, "this address was used already or is wrong: run `wsx ui` again", http.StatusForbidden)
		return
	}
	s.touch()
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: session, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *Server) hasSession(r *http.Request) bool {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return false
	}
	s.mu.Lock()
	session := s.session
	s.mu.Unlock()
	return session != "" && subtle.ConstantTimeCompare([]byte(c.Value), []byte(session)) == 1
}

// csrfOK checks the form's CSRF token. The form must be parsed first:
// parseForm does it, bounded.
func (s *Server) csrfOK(r *http.Request) bool {
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		if err := parseForm(r); err != nil {
			return false
		}
		got = r.FormValue("csrf")
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(s.csrf)) == 1
}

// Form limits: a key file of store.MaxFileSize and the other fields.
const (
	maxFormBody  = store.MaxFileSize + 256<<10
	maxFieldSize = 64 << 10
	fileField    = "file"
)

// parseForm reads a POST body once, into r.PostForm, and a file sent
// with it into the request's context (formFile). Multipart bodies are
// read into memory only: a value is never written to a temporary file.
func parseForm(r *http.Request) error {
	if r.PostForm != nil {
		return nil
	}
	r.Body = http.MaxBytesReader(nil, r.Body, maxFormBody)
	ct := r.Header.Get("Content-Type")
	if !strings.HasPrefix(ct, "multipart/form-data") {
		return r.ParseForm()
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return err
	}
	r.PostForm = map[string][]string{}
	r.Form = r.PostForm
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		limit := int64(maxFieldSize)
		if part.FormName() == fileField {
			limit = store.MaxFileSize
		}
		b, err := readLimited(part, limit)
		part.Close()
		if err != nil {
			return fmt.Errorf("form field %s: %w", strconv.Quote(part.FormName()), err)
		}
		if part.FormName() == fileField {
			if len(b) > 0 {
				*r = *r.WithContext(context.WithValue(r.Context(), fileKey{}, b))
			}
			continue
		}
		r.PostForm[part.FormName()] = append(r.PostForm[part.FormName()], string(b))
	}
}

type fileKey struct{}

// formFile is the file sent with the form, nil when none.
func formFile(r *http.Request) []byte {
	b, _ := r.Context().Value(fileKey{}).([]byte)
	return b
}

// readLimited reads r, refusing more than limit bytes.
func readLimited(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		clear(b)
		return nil, fmt.Errorf("larger than %d bytes", limit)
	}
	return b, nil
}

// serveStatic serves the page's style sheet and script: named files of
// assets/static, no listing.
func serveStatic(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	b, err := fs.ReadFile(assets, "assets/static/"+name)
	if err != nil || strings.Contains(name, "/") {
		http.NotFound(w, r)
		return
	}
	switch path.Ext(name) {
	case ".css":
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
	case ".js":
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	default:
		http.NotFound(w, r)
		return
	}
	w.Write(b)
}
