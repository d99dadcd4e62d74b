package proxy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsxdev/wsx/audit"
	"github.com/wsxdev/wsx/internal/release"
	"github.com/wsxdev/wsx/store"
)

const testValue = "ghp_realvalue0123456789abcdefABCDEF"

// fakeStore releases testValue for API_TOKEN and remembers what it was
// told.
type fakeStore struct {
	mu      sync.Mutex
	uses    []release.Record
	names   [][]string
	records []audit.Record
	fail    error
}

func (f *fakeStore) Use(_ context.Context, names []string, rec release.Record) ([]store.Secret, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return nil, f.fail
	}
	f.uses = append(f.uses, rec)
	f.names = append(f.names, names)
	var out []store.Secret
	for _, n := range names {
		out = append(out, store.Secret{Meta: store.Meta{Name: n, Type: store.TypeToken}, Value: store.NewValue([]byte(testValue))})
	}
	return out, nil
}

func (f *fakeStore) Record(rs ...audit.Record) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.records = append(f.records, rs...)
	return nil
}

type rig struct {
	p      *Proxy
	fs     *fakeStore
	ph     string
	client *http.Client
	up     *httptest.Server
}

// newRig starts an upstream TLS server running h, and a proxy with
// API_TOKEN bound to it; the client trusts the proxy's CA and the
// upstream's (for tunnels).
func newRig(t *testing.T, h http.HandlerFunc, cfg func(*Config)) *rig { return newRigTB(t, h, cfg) }

func newRigTB(t testing.TB, h http.HandlerFunc, cfg func(*Config)) *rig {
	t.Helper()
	up := httptest.NewTLSServer(h)
	t.Cleanup(up.Close)
	upHost := strings.TrimPrefix(up.URL, "https://")
	roots := x509.NewCertPool()
	roots.AddCert(up.Certificate())
	fs := &fakeStore{}
	ph := NewPlaceholder(len(testValue))
	c := Config{
		Secrets:  []Secret{{Name: "API_TOKEN", Placeholder: ph, Hosts: []string{upHost}}},
		Releaser: fs, Recorder: fs, RootCAs: roots,
		Peer: func(_, _ netip.AddrPort) (int, string, error) { return os.Getuid(), "curl", nil },
	}
	if cfg != nil {
		cfg(&c)
	}
	p, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go p.Serve(l)
	t.Cleanup(func() { p.Close() })
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(p.CAPEM()) {
		t.Fatal("CA PEM does not parse")
	}
	pool.AddCert(up.Certificate())
	pu, _ := url.Parse("http://" + l.Addr().String())
	client := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(pu), TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 10 * time.Second}
	t.Cleanup(client.CloseIdleConnections)
	return &rig{p: p, fs: fs, ph: ph, client: client, up: up}
}

func get(t *testing.T, c *http.Client, req *http.Request) (int, string) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestSubstitutesEverywhere(t *testing.T) {
	var got struct {
		auth, basic, custom, path, query, body string
	}
	r := newRig(t, func(w http.ResponseWriter, r *http.Request) {
		got.auth = r.Header.Get("Authorization")
		got.custom = r.Header.Get("X-Api-Key")
		got.path, got.query = r.URL.Path, r.URL.Query().Get("token")
		b, _ := io.ReadAll(r.Body)
		got.body = string(b)
		io.WriteString(w, "you sent "+got.auth+" and "+got.custom)
	}, func(c *Config) { c.BodyTypes = []string{"application/json"} })

	req, _ := http.NewRequest("POST", r.up.URL+"/v1/"+r.ph+"/x?token="+r.ph, strings.NewReader(`{"t":"`+r.ph+`"}`))
	req.Header.Set("Authorization", "Bearer "+r.ph)
	req.Header.Set("X-Api-Key", r.ph)
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	code, body := get(t, r.client, req)
	if code != 200 {
		t.Fatalf("status %d: %s", code, body)
	}
	if got.auth != "Bearer "+testValue || got.custom != testValue || got.path != "/v1/"+testValue+"/x" ||
		got.query != testValue || got.body != `{"t":"`+testValue+`"}` {
		t.Errorf("upstream got %+v", got)
	}
	if strings.Contains(body, testValue) || !strings.Contains(body, "***") {
		t.Errorf("response not masked: %q", body)
	}
	if len(r.fs.uses) != 1 || r.fs.uses[0].Via != audit.ViaProxy || r.fs.names[0][0] != "API_TOKEN" {
		t.Fatalf("uses: %+v %v", r.fs.uses, r.fs.names)
	}
	host := strings.TrimPrefix(r.up.URL, "https://")
	want := "proxy: " + host + " POST /v1/" + r.ph + "/x, by curl"
	if c := r.fs.uses[0].Context; c.Command != want || c.Host != host || c.Protocol != "https" {
		t.Errorf("record context %+v, want command %q", c, want)
	}
	if len(r.fs.records) != 0 {
		t.Errorf("denied records: %+v", r.fs.records)
	}
}

func TestBasicAuth(t *testing.T) {
	var user, pass string
	r := newRig(t, func(w http.ResponseWriter, r *http.Request) { user, pass, _ = r.BasicAuth() }, nil)
	req, _ := http.NewRequest("GET", r.up.URL+"/repo.git/info/refs", nil)
	req.SetBasicAuth("git", r.ph)
	if code, body := get(t, r.client, req); code != 200 {
		t.Fatalf("status %d: %s", code, body)
	}
	if user != "git" || pass != testValue {
		t.Errorf("basic auth %q:%q", user, pass)
	}
}

func TestNoPlaceholderNoUse(t *testing.T) {
	r := newRig(t, func(w http.ResponseWriter, r *http.Request) {}, nil)
	req, _ := http.NewRequest("GET", r.up.URL+"/", nil)
	if code, _ := get(t, r.client, req); code != 200 {
		t.Fatal(code)
	}
	if len(r.fs.uses) != 0 {
		t.Errorf("a request without a placeholder was a use: %+v", r.fs.uses)
	}
}

func TestBodyOfUndeclaredTypeUntouched(t *testing.T) {
	var body string
	r := newRig(t, func(w http.ResponseWriter, r *http.Request) { b, _ := io.ReadAll(r.Body); body = string(b) }, nil)
	req, _ := http.NewRequest("POST", r.up.URL+"/", strings.NewReader(r.ph))
	req.Header.Set("Content-Type", "application/json")
	get(t, r.client, req)
	if body != r.ph {
		t.Errorf("body %q", body)
	}
}

func TestPlainHTTPElsewhereDenied(t *testing.T) {
	var auth string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { auth = r.Header.Get("Authorization") }))
	defer other.Close()
	r := newRig(t, func(w http.ResponseWriter, r *http.Request) {}, nil)
	req, _ := http.NewRequest("GET", other.URL+"/steal", nil)
	req.Header.Set("Authorization", "Bearer "+r.ph)
	if code, body := get(t, r.client, req); code != 200 {
		t.Fatalf("status %d: %s", code, body)
	}
	if auth != "Bearer "+r.ph {
		t.Errorf("other host got %q, want the placeholder", auth)
	}
	if len(r.fs.uses) != 0 {
		t.Errorf("uses: %+v", r.fs.uses)
	}
	if len(r.fs.records) != 1 || r.fs.records[0].Event != audit.EventDenied || r.fs.records[0].Secret != "API_TOKEN" ||
		r.fs.records[0].Via != audit.ViaProxy {
		t.Fatalf("records: %+v", r.fs.records)
	}
}

func TestOtherSecretsPlaceholderDenied(t *testing.T) {
	var key string
	other := NewPlaceholder(30)
	r := newRig(t, func(w http.ResponseWriter, r *http.Request) { key = r.Header.Get("X-Key") }, func(c *Config) {
		c.Secrets = append(c.Secrets, Secret{Name: "OTHER", Placeholder: other, Hosts: []string{"api.example.com"}})
	})
	req, _ := http.NewRequest("GET", r.up.URL+"/", nil)
	req.Header.Set("X-Key", other)
	get(t, r.client, req)
	if key != other {
		t.Errorf("upstream got %q, want the placeholder", key)
	}
	if len(r.fs.records) != 1 || r.fs.records[0].Secret != "OTHER" || r.fs.records[0].Result != audit.ResultDenied {
		t.Fatalf("records: %+v", r.fs.records)
	}
}

// The host's certificate is verified: one that does not verify gets
// nothing, and the command a 502 that says why.
func TestWrongUpstreamCertificate(t *testing.T) {
	called := false
	r := newRig(t, func(w http.ResponseWriter, r *http.Request) { called = true }, func(c *Config) { c.RootCAs = x509.NewCertPool() })
	req, _ := http.NewRequest("GET", r.up.URL+"/", nil)
	req.Header.Set("Authorization", "Bearer "+r.ph)
	code, body := get(t, r.client, req)
	if code != http.StatusBadGateway || !strings.Contains(body, "certificate") {
		t.Errorf("status %d body %q", code, body)
	}
	if called {
		t.Error("the request reached a host whose certificate does not verify")
	}
}

// SECURITY.md 53: no record, no value: the request is not sent.
func TestUseFailsNothingSent(t *testing.T) {
	called := false
	r := newRig(t, func(w http.ResponseWriter, r *http.Request) { called = true }, nil)
	r.fs.fail = errors.New("audit log unavailable")
	req, _ := http.NewRequest("GET", r.up.URL+"/", nil)
	req.Header.Set("Authorization", "Bearer "+r.ph)
	code, body := get(t, r.client, req)
	if code != http.StatusBadGateway || !strings.Contains(body, "API_TOKEN") || called {
		t.Errorf("status %d body %q called %v", code, body, called)
	}
}

func TestUnboundHostTunnelled(t *testing.T) {
	var auth string
	other := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { auth = r.Header.Get("Authorization") }))
	defer other.Close()
	r := newRig(t, func(w http.ResponseWriter, r *http.Request) {}, nil)
	r.client.Transport.(*http.Transport).TLSClientConfig.RootCAs.AddCert(other.Certificate())
	req, _ := http.NewRequest("GET", other.URL+"/", nil)
	req.Header.Set("Authorization", "Bearer "+r.ph)
	resp, err := r.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// The host's own certificate: the bytes went through untouched.
	if got := resp.TLS.PeerCertificates[0]; !got.Equal(other.Certificate()) {
		t.Errorf("tunnelled connection has certificate %v", got.Subject)
	}
	if auth != "Bearer "+r.ph || len(r.fs.uses) != 0 {
		t.Errorf("auth %q uses %v", auth, r.fs.uses)
	}
}

// SECURITY.md 25, for the proxy: a connection from another uid is closed
// before a request is read.
func TestOtherUserRefused(t *testing.T) {
	called := false
	r := newRig(t, func(w http.ResponseWriter, r *http.Request) { called = true }, func(c *Config) {
		c.Peer = func(_, _ netip.AddrPort) (int, string, error) { return os.Getuid() + 1, "", nil }
	})
	req, _ := http.NewRequest("GET", r.up.URL+"/", nil)
	req.Header.Set("Authorization", "Bearer "+r.ph)
	if resp, err := r.client.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("another user's request answered %d", resp.StatusCode)
	}
	if called || len(r.fs.uses) != 0 {
		t.Error("another user's request went through")
	}
}

func TestMisdirectedHost(t *testing.T) {
	r := newRig(t, func(w http.ResponseWriter, r *http.Request) {}, nil)
	req, _ := http.NewRequest("GET", r.up.URL+"/", nil)
	req.Host = "evil.example"
	req.Header.Set("Authorization", "Bearer "+r.ph)
	resp, err := r.client.Do(req)
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusMisdirectedRequest {
			t.Errorf("status %d", resp.StatusCode)
		}
	}
	if len(r.fs.uses) != 0 {
		t.Errorf("uses %v", r.fs.uses)
	}
}

// The authority signs for the bound hosts alone: a certificate it made
// for another name does not verify.
func TestAuthorityConstrained(t *testing.T) {
	a, err := newAuthority([]string{"api.example.com", "127.0.0.1"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	blk, _ := pem.Decode(a.PEM())
	ca, _ := x509.ParseCertificate(blk.Bytes)
	pool.AddCert(ca)
	for host, ok := range map[string]bool{"api.example.com": true, "x.api.example.com": true, "127.0.0.1": true, "evil.example": false, "10.0.0.1": false} {
		c, err := a.leaf(host, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: host})
		if (err == nil) != ok {
			t.Errorf("leaf for %s: verify error %v, want ok=%v", host, err, ok)
		}
	}
}

func TestPlaceholderShape(t *testing.T) {
	for _, n := range []int{0, 8, 40, 1000} {
		ph := NewPlaceholder(n)
		if !IsPlaceholder(ph) || len(ph) < minPlaceholder || len(ph) > maxPlaceholder {
			t.Errorf("NewPlaceholder(%d) = %q", n, ph)
		}
		if n >= minPlaceholder && n <= maxPlaceholder && len(ph) != n {
			t.Errorf("NewPlaceholder(%d) has length %d", n, len(ph))
		}
	}
	if NewPlaceholder(40) == NewPlaceholder(40) {
		t.Error("two placeholders are equal")
	}
	if IsPlaceholder(testValue) {
		t.Error("a token taken for a placeholder")
	}
}

func TestEchoesMaskedEverywhere(t *testing.T) {
	r := newRig(t, func(w http.ResponseWriter, r *http.Request) {
		v := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		w.Header().Set("Link", "<https://x/"+v+">")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Set("Trailer", "X-Echo")
		w.Header().Set("X-Header-Echo", v)
		w.WriteHeader(200)
		io.WriteString(w, "body "+v)
		w.Header().Set("X-Echo", v)
	}, nil)
	resp := r.get(t, "/")
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	all := string(b) + resp.Header.Get("X-Header-Echo") + resp.Trailer.Get("X-Echo") + resp.Header.Get("Link")
	if strings.Contains(all, testValue) || string(b) != "body ***" || resp.Trailer.Get("X-Echo") != "***" {
		t.Errorf("echo not masked: body %q header %q trailer %q", b, resp.Header.Get("X-Header-Echo"), resp.Trailer.Get("X-Echo"))
	}
}

func TestUpgradeRefused(t *testing.T) {
	called := false
	r := newRig(t, func(w http.ResponseWriter, r *http.Request) { called = true }, nil)
	req, _ := http.NewRequest("GET", r.up.URL+"/ws", nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Authorization", "Bearer "+r.ph)
	if code, _ := get(t, r.client, req); code != http.StatusNotImplemented || called {
		t.Errorf("upgrade: status %d, reached the host %v", code, called)
	}
}

// An error naming the request never shows a value put into its URL.
func TestErrorMasked(t *testing.T) {
	r := newRig(t, func(w http.ResponseWriter, r *http.Request) {}, func(c *Config) { c.RootCAs = x509.NewCertPool() })
	// A first request, so the value is among those masked.
	req, _ := http.NewRequest("GET", r.up.URL+"/?key="+r.ph, nil)
	for range 2 {
		code, body := get(t, r.client, req)
		if code != http.StatusBadGateway || strings.Contains(body, testValue) {
			t.Errorf("status %d body %q", code, body)
		}
	}
}

// get makes GET path to the upstream through the proxy, with the
// placeholder in its Authorization header.
func (r *rig) get(t testing.TB, path string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("GET", r.up.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+r.ph)
	resp, err := r.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}
