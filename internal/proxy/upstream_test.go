package proxy

import (
	"compress/gzip"
	"crypto/x509"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// conns counts the connections a host was asked on.
type conns struct {
	mu   sync.Mutex
	seen map[string]bool
}

func (c *conns) add(r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil {
		c.seen = map[string]bool{}
	}
	c.seen[r.RemoteAddr] = true
}

func (c *conns) n() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}

func bearer(t *testing.T, r *rig, method, path string) *http.Request {
	t.Helper()
	var body io.Reader
	if method == "POST" {
		body = strings.NewReader("x")
	}
	req, err := http.NewRequest(method, r.up.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+r.ph)
	return req
}

// GETs and HEADs one after the other go to the host on one connection,
// each with the value and its use recorded; a HEAD's answer leaves the
// connection in step.
func TestUpstreamConnectionKept(t *testing.T) {
	var c conns
	r := newRig(t, func(w http.ResponseWriter, r *http.Request) {
		c.add(r)
		w.Header().Set("Content-Length", "10")
		if r.Method != "HEAD" {
			io.WriteString(w, r.Header.Get("Authorization")[:10])
		}
	}, nil)
	for i, m := range []string{"GET", "HEAD", "GET", "GET"} {
		code, body := get(t, r.client, bearer(t, r, m, "/"))
		want := "Bearer ghp"
		if m == "HEAD" {
			want = ""
		}
		if code != 200 || body != want {
			t.Fatalf("request %d (%s): status %d body %q", i, m, code, body)
		}
	}
	if c.n() != 1 {
		t.Errorf("%d connections to the host, want 1", c.n())
	}
	if len(r.fs.uses) != 4 {
		t.Errorf("%d uses recorded, want 4", len(r.fs.uses))
	}
}

// A connection to the host that the host closed while it was idle costs
// the next request nothing: it goes on a new one.
func TestUpstreamClosedConnection(t *testing.T) {
	r := newRig(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }, nil)
	for i := range 3 {
		if code, body := get(t, r.client, bearer(t, r, "GET", "/")); code != 200 || body != "ok" {
			t.Fatalf("request %d: status %d body %q", i, code, body)
		}
		r.up.CloseClientConnections()
	}
}

// The host's gzip is unpacked, so an echoed value is masked.
func TestUpstreamGzipMasked(t *testing.T) {
	r := newRig(t, func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			io.WriteString(w, "not asked for gzip")
			return
		}
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		io.WriteString(zw, "you sent "+r.Header.Get("Authorization"))
		zw.Close()
	}, nil)
	code, body := get(t, r.client, bearer(t, r, "GET", "/"))
	if code != 200 || body != "you sent Bearer ***" {
		t.Errorf("status %d body %q", code, body)
	}
}

// The host's certificate is verified for a request with a body as for one
// without.
func TestWrongUpstreamCertificateBothWays(t *testing.T) {
	called := false
	r := newRig(t, func(w http.ResponseWriter, r *http.Request) { called = true }, func(c *Config) { c.RootCAs = x509.NewCertPool() })
	for _, m := range []string{"GET", "HEAD", "POST"} {
		code, body := get(t, r.client, bearer(t, r, m, "/"))
		if code != http.StatusBadGateway || m != "HEAD" && !strings.Contains(body, "certificate") {
			t.Errorf("%s: status %d body %q", m, code, body)
		}
	}
	if called {
		t.Error("a request reached a host whose certificate does not verify")
	}
}
