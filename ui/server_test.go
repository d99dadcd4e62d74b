package ui

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/wsxdev/wsx/audit"
	"github.com/wsxdev/wsx/internal/access"
	"github.com/wsxdev/wsx/store"
)

const canary = "ui-canary-Zq8v3XkP0w"

// fakeBackend is an in-memory store with the rules the page relies on.
type fakeBackend struct {
	mu      sync.Mutex
	locked  bool
	pass    string
	wrong   int
	metas   map[string]store.Meta
	values  map[string][]byte
	records []audit.Record
	now     time.Time
}

func newFake() *fakeBackend {
	return &fakeBackend{pass: "right passphrase", metas: map[string]store.Meta{}, values: map[string][]byte{},
		now: time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)}
}

func (f *fakeBackend) Locked() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.locked
}

func (f *fakeBackend) Unlock(p []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if string(p) != f.pass {
		f.wrong++
		return store.ErrWrongPassphrase
	}
	f.locked = false
	return nil
}

func (f *fakeBackend) List() ([]store.Meta, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.locked {
		return nil, store.ErrLocked
	}
	var out []store.Meta
	for _, m := range f.metas {
		out = append(out, m)
	}
	return out, nil
}

func (f *fakeBackend) Add(sec store.Secret, o store.AddOptions) (store.Meta, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := store.ValidateName(sec.Name); err != nil {
		return store.Meta{}, err
	}
	if !o.AllowDangerousName {
		if err := store.CheckDangerousName(sec.Name); err != nil {
			return store.Meta{}, err
		}
	}
	for n := range f.metas {
		if strings.EqualFold(n, sec.Name) {
			return store.Meta{}, fmt.Errorf("secret %s: %w", sec.Name, store.ErrExists)
		}
	}
	v := sec.Value.Bytes()
	if sec.Type == store.TypeKey {
		canon, info, err := store.ParseKey(v, o.KeyPassphrase)
		if err != nil {
			return store.Meta{}, fmt.Errorf("secret %s: %w", sec.Name, err)
		}
		v, sec.SSH = canon, info
	}
	sec.Created, sec.Updated, sec.Version = f.now, f.now, 1
	f.metas[sec.Name] = sec.Meta
	f.values[sec.Name] = v
	return sec.Meta, nil
}

func (f *fakeBackend) Edit(name string, e store.Edit) (store.Meta, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, ok := f.metas[name]
	if !ok {
		return store.Meta{}, fmt.Errorf("secret %s: %w", name, store.ErrNotFound)
	}
	switch {
	case e.Rotate:
		m.Previous = &store.PreviousMeta{Version: m.Version, Type: m.Type}
		f.values[name] = e.Value.Bytes()
	case e.Undo, e.Finish:
		if m.Previous == nil {
			return store.Meta{}, store.ErrNoPrevious
		}
		m.Previous = nil
	}
	m.Version++
	f.metas[name] = m
	return m, nil
}

func (f *fakeBackend) Remove(name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.metas[name]; !ok {
		return fmt.Errorf("secret %s: %w", name, store.ErrNotFound)
	}
	delete(f.metas, name)
	return nil
}

func (f *fakeBackend) Record(rs ...audit.Record) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range rs {
		r.Time = f.now
		f.records = append(f.records, r)
	}
	return nil
}

func (f *fakeBackend) AuditRecords() ([]audit.Record, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]audit.Record(nil), f.records...), nil
}

func (f *fakeBackend) Status() []Fact { return []Fact{{"Store", "unlocked"}} }

// sharingBackend has grants, changed as access.Change changes them.
type sharingBackend struct {
	*fakeBackend
	grants   access.Grants
	guestEnv string
}

func (s *sharingBackend) Grants() (access.Grants, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.grants), nil
}

func (s *sharingBackend) Share(req access.Request) (access.Grant, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, name, err := access.ParseSubject(req.Subject)
	if err != nil {
		return access.Grant{}, err
	}
	g := access.Grant{Kind: k, ID: 1000 + len(name), Name: name, Role: req.Role}
	gs, prev, err := access.Change(s.grants, access.Owner, g, req.Revoke, 0)
	if err != nil {
		return access.Grant{}, err
	}
	s.grants = gs
	if req.Revoke {
		return prev, nil
	}
	return g, nil
}

func (s *sharingBackend) GuestEnv() string { return s.guestEnv }

// page is a logged-in browser of a server under test.
type page struct {
	t      *testing.T
	s      *Server
	h      http.Handler
	cookie *http.Cookie
	bodies []string // every answer's body, for the canary check
}

const testHost = "127.0.0.1:45678"

func newPage(t *testing.T, b Backend, dir string) *page {
	t.Helper()
	s, err := New(Options{Backend: b, Dir: dir, Now: func() time.Time { return time.Date(2026, 3, 12, 12, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	s.host = testHost
	p := &page{t: t, s: s, h: s.Handler()}
	resp := p.do(httptest.NewRequest("GET", "http://"+testHost+"/login?token="+s.token, nil))
	if resp.Code != http.StatusSeeOther || resp.Header().Get("Location") != "/" {
		t.Fatalf("login: %d to %q, want 303 to /", resp.Code, resp.Header().Get("Location"))
	}
	for _, c := range resp.Result().Cookies() {
		if c.Name == cookieName {
			p.cookie = c
		}
	}
	if p.cookie == nil {
		t.Fatal("login set no session cookie")
	}
	return p
}

func (p *page) do(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	p.h.ServeHTTP(w, r)
	p.bodies = append(p.bodies, w.Body.String())
	return w
}

func (p *page) get(path string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", "http://"+testHost+path, nil)
	r.AddCookie(p.cookie)
	return p.do(r)
}

// post sends a urlencoded form with the CSRF token, as the page's forms do.
func (p *page) post(path string, form url.Values) *httptest.ResponseRecorder {
	if form.Get("csrf") == "" {
		form.Set("csrf", p.s.csrf)
	}
	r := httptest.NewRequest("POST", "http://"+testHost+path, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Origin", "http://"+testHost)
	r.AddCookie(p.cookie)
	return p.do(r)
}

// postMultipart sends a multipart form, with a file when file is not nil.
func (p *page) postMultipart(path string, fields map[string]string, file []byte) *httptest.ResponseRecorder {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	mw.WriteField("csrf", p.s.csrf)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	if file != nil {
		fw, _ := mw.CreateFormFile(fileField, "id_ed25519")
		fw.Write(file)
	}
	mw.Close()
	r := httptest.NewRequest("POST", "http://"+testHost+path, &b)
	r.Header.Set("Content-Type", mw.FormDataContentType())
	r.Header.Set("Origin", "http://"+testHost)
	r.AddCookie(p.cookie)
	return p.do(r)
}

func (p *page) noCanary() {
	p.t.Helper()
	for i, b := range p.bodies {
		if strings.Contains(b, canary) {
			p.t.Fatalf("answer %d holds the value: %.200s", i, b)
		}
	}
}

func TestLoginTokenIsSpent(t *testing.T) {
	f := newFake()
	s, _ := New(Options{Backend: f})
	defer s.Close()
	s.host = testHost
	h := s.Handler()
	tok := s.token
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "http://"+testHost+"/login?token="+tok, nil))
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/" {
		t.Fatalf("first login: %d %q", w.Code, w.Header().Get("Location"))
	}
	c := w.Result().Cookies()
	if len(c) != 1 || !c[0].HttpOnly || c[0].SameSite != http.SameSiteStrictMode || c[0].Path != "/" {
		t.Fatalf("cookie %+v: want one HttpOnly SameSite=Strict cookie", c)
	}
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "http://"+testHost+"/login?token="+tok, nil))
	if w.Code != http.StatusForbidden || len(w.Result().Cookies()) != 0 {
		t.Fatalf("second login with the same token: %d, cookies %v; want 403 and none", w.Code, w.Result().Cookies())
	}
}

func TestRefusals(t *testing.T) {
	p := newPage(t, newFake(), "")
	cases := []struct {
		name   string
		req    func() *http.Request
		status int
	}{
		{"no cookie", func() *http.Request { return httptest.NewRequest("GET", "http://"+testHost+"/", nil) }, 401},
		{"wrong cookie", func() *http.Request {
			r := httptest.NewRequest("GET", "http://"+testHost+"/", nil)
			r.AddCookie(&http.Cookie{Name: cookieName, Value: "guess"})
			return r
		}, 401},
		{"rebound host", func() *http.Request {
			r := httptest.NewRequest("GET", "http://evil.test:45678/", nil)
			r.AddCookie(p.cookie)
			return r
		}, 403},
		{"localhost is another host", func() *http.Request {
			r := httptest.NewRequest("GET", "http://localhost:45678/", nil)
			r.AddCookie(p.cookie)
			return r
		}, 403},
		{"other origin", func() *http.Request {
			r := httptest.NewRequest("POST", "http://"+testHost+"/secrets/A/delete", strings.NewReader("csrf="+p.s.csrf+"&confirm=A"))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.Header.Set("Origin", "http://evil.test")
			r.AddCookie(p.cookie)
			return r
		}, 403},
		{"post without origin", func() *http.Request {
			r := httptest.NewRequest("POST", "http://"+testHost+"/secrets/A/delete", strings.NewReader("csrf="+p.s.csrf+"&confirm=A"))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.AddCookie(p.cookie)
			return r
		}, 403},
		{"cross-site fetch", func() *http.Request {
			r := httptest.NewRequest("GET", "http://"+testHost+"/audit", nil)
			r.Header.Set("Sec-Fetch-Site", "cross-site")
			r.AddCookie(p.cookie)
			return r
		}, 403},
		{"no csrf token", func() *http.Request {
			r := httptest.NewRequest("POST", "http://"+testHost+"/secrets/A/delete", strings.NewReader("confirm=A"))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.Header.Set("Origin", "http://"+testHost)
			r.AddCookie(p.cookie)
			return r
		}, 403},
		{"wrong csrf token", func() *http.Request {
			r := httptest.NewRequest("POST", "http://"+testHost+"/secrets/A/delete", strings.NewReader("csrf=x&confirm=A"))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.Header.Set("Origin", "http://"+testHost)
			r.AddCookie(p.cookie)
			return r
		}, 403},
		{"other method", func() *http.Request {
			r := httptest.NewRequest("DELETE", "http://"+testHost+"/secrets/A/delete", nil)
			r.Header.Set("Origin", "http://"+testHost)
			r.AddCookie(p.cookie)
			return r
		}, 403},
	}
	f := p.s.opts.Backend.(*fakeBackend)
	f.metas["A"] = store.Meta{Name: "A", Type: store.TypeToken}
	for _, c := range cases {
		if w := p.do(c.req()); w.Code != c.status {
			t.Errorf("%s: %d, want %d", c.name, w.Code, c.status)
		}
	}
	if _, ok := f.metas["A"]; !ok {
		t.Fatal("a refused request deleted the secret")
	}
}

var inlineScript = regexp.MustCompile(`(?i)<script(?:\s[^>]*)?>\s*[^<\s]|\son[a-z]+\s*=|javascript:`)

func TestHeadersAndNoInlineScript(t *testing.T) {
	f := newFake()
	f.Add(store.Secret{Meta: store.Meta{Name: "GITHUB_TOKEN", Type: store.TypeToken}, Value: store.NewValue([]byte(canary))}, store.AddOptions{})
	p := newPage(t, &sharingBackend{fakeBackend: f, grants: access.Grants{{Kind: access.User, ID: 1001, Name: "bob", Role: "view"}}}, "")
	for _, path := range []string{"/", "/add", "/audit", "/status", "/templates", "/sharing", "/secrets/GITHUB_TOKEN/rotate", "/secrets/GITHUB_TOKEN/delete"} {
		w := p.get(path)
		if w.Code != 200 {
			t.Errorf("GET %s: %d", path, w.Code)
			continue
		}
		h := w.Header()
		if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") ||
			!strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("GET %s: CSP %q", path, csp)
		}
		for k, v := range map[string]string{"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store", "X-Frame-Options": "DENY"} {
			if h.Get(k) != v {
				t.Errorf("GET %s: %s %q, want %q", path, k, h.Get(k), v)
			}
		}
		if m := inlineScript.FindString(w.Body.String()); m != "" {
			t.Errorf("GET %s: inline script %q", path, m)
		}
		if strings.Contains(w.Body.String(), "http://") && !strings.Contains(w.Body.String(), "http://www.w3.org/2000/svg") &&
			path != "/status" {
			t.Errorf("GET %s: links to another origin", path)
		}
	}
	if !strings.Contains(p.get("/").Body.String(), `href="/sharing"`) {
		t.Error("with roles, the menu has no Sharing entry")
	}
	p.noCanary()
}

func TestNoSharingWithoutGrants(t *testing.T) {
	p := newPage(t, newFake(), "")
	if w := p.get("/sharing"); w.Code != 404 {
		t.Errorf("GET /sharing of a backend without grants: %d, want 404", w.Code)
	}
	if w := p.post("/sharing", url.Values{"subject": {"bob"}, "role": {"view"}}); w.Code != 404 {
		t.Errorf("POST /sharing of a backend without grants: %d, want 404", w.Code)
	}
	if strings.Contains(p.get("/").Body.String(), "/sharing") {
		t.Error("without grants, the menu has a Sharing entry")
	}
}

// The Sharing page lists the grants, shares and revokes through the
// backend (which checks and records), and shows a refused change with the
// form filled in again.
func TestSharing(t *testing.T) {
	b := &sharingBackend{fakeBackend: newFake()}
	p := newPage(t, b, "")
	body := p.get("/sharing").Body.String()
	if !strings.Contains(body, `id="no-grants"`) || !strings.Contains(body, "wsx agent --shared-dir DIR") {
		t.Fatalf("no grants, no shared dir: %s", body)
	}
	w := p.post("/sharing", url.Values{"subject": {"bob"}, "role": {"edit"}})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("share: %d %s", w.Code, w.Body.String())
	}
	if gs, _ := b.Grants(); len(gs) != 1 || gs[0].Name != "bob" || gs[0].Role != "edit" {
		t.Fatalf("grants after share: %v", gs)
	}
	body = p.get(w.Header().Get("Location")).Body.String()
	if !strings.Contains(body, "Shared with bob: edit.") || !strings.Contains(body, `<tr data-subject="bob">`) {
		t.Fatalf("after share: %s", body)
	}
	p.post("/sharing", url.Values{"subject": {"@dev"}, "role": {"view"}})
	w = p.post("/sharing", url.Values{"subject": {"carol"}, "role": {"owner"}})
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "view, edit or admin") ||
		!strings.Contains(w.Body.String(), `value="carol"`) {
		t.Fatalf("share the owner role: %d %s", w.Code, w.Body.String())
	}
	w = p.post("/sharing/revoke", url.Values{"subject": {"bob"}})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("revoke: %d %s", w.Code, w.Body.String())
	}
	body = p.get(w.Header().Get("Location")).Body.String()
	if !strings.Contains(body, "Unshared: bob had edit.") || strings.Contains(body, `data-subject="bob"`) ||
		!strings.Contains(body, `data-subject="@dev"`) {
		t.Fatalf("after revoke: %s", body)
	}
	if w := p.post("/sharing/revoke", url.Values{"subject": {"bob"}}); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "has no grant") {
		t.Fatalf("revoke twice: %d %s", w.Code, w.Body.String())
	}
	// A flash is only drawn from a subject and a role.
	if body := p.get("/sharing?done=shared&subject=%3Cb%3Ex&role=edit").Body.String(); strings.Contains(body, "Shared with") {
		t.Fatalf("a made-up flash is shown: %s", body)
	}
	b.guestEnv = "WSX_AGENT=me:/srv/wsx SSH_AUTH_SOCK=/srv/wsx/agent.sock"
	if body := p.get("/sharing").Body.String(); !strings.Contains(body, "export WSX_AGENT=me:/srv/wsx SSH_AUTH_SOCK=/srv/wsx/agent.sock") {
		t.Fatalf("guest lines: %s", body)
	}
}

func TestAddRotateUndoFinishDelete(t *testing.T) {
	f := newFake()
	p := newPage(t, f, "")
	// A refused add shows the form again: the fields, never the value.
	w := p.postMultipart("/add", map[string]string{"name": "PATH", "type": "token", "description": "mine", "value": canary}, nil)
	if w.Code != 400 || !strings.Contains(w.Body.String(), "allow a dangerous name") || !strings.Contains(w.Body.String(), `value="mine"`) {
		t.Fatalf("add PATH: %d %s", w.Code, w.Body.String())
	}
	w = p.postMultipart("/add", map[string]string{"name": "GITHUB_TOKEN", "type": "token", "hosts": "github.com, gitlab.com",
		"rotate_every": "30d", "value": canary + "\n"}, nil)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("add: %d %s", w.Code, w.Body.String())
	}
	m := f.metas["GITHUB_TOKEN"]
	if string(f.values["GITHUB_TOKEN"]) != canary || m.RotateEvery != 30*store.Day || len(m.Hosts) != 2 {
		t.Fatalf("stored %+v (value trimmed: %v)", m, string(f.values["GITHUB_TOKEN"]) == canary)
	}
	list := p.get(w.Header().Get("Location")).Body.String()
	if !strings.Contains(list, "Added GITHUB_TOKEN.") || !strings.Contains(list, "github.com, gitlab.com") {
		t.Fatalf("list after add: %s", list)
	}
	if w := p.postMultipart("/secrets/GITHUB_TOKEN/rotate", map[string]string{"value": canary + "-2"}, nil); w.Code != http.StatusSeeOther {
		t.Fatalf("rotate: %d %s", w.Code, w.Body.String())
	}
	if !strings.Contains(p.get("/").Body.String(), "old value (version 1) kept") {
		t.Fatal("the list does not show the pending rotation")
	}
	if w := p.postMultipart("/secrets/GITHUB_TOKEN/rotate", map[string]string{"value": canary + "-3"}, nil); w.Code != http.StatusConflict {
		t.Fatalf("second rotate: %d, want 409", w.Code)
	}
	if w := p.post("/secrets/GITHUB_TOKEN/undo", url.Values{}); w.Code != http.StatusSeeOther {
		t.Fatalf("undo: %d %s", w.Code, w.Body.String())
	}
	p.postMultipart("/secrets/GITHUB_TOKEN/rotate", map[string]string{"value": canary + "-4"}, nil)
	if w := p.post("/secrets/GITHUB_TOKEN/finish", url.Values{}); w.Code != http.StatusSeeOther {
		t.Fatalf("finish: %d %s", w.Code, w.Body.String())
	}
	if w := p.post("/secrets/GITHUB_TOKEN/delete", url.Values{"confirm": {"github_token"}}); w.Code != 400 || f.metas["GITHUB_TOKEN"].Name == "" {
		t.Fatalf("delete with a wrong confirmation: %d", w.Code)
	}
	if w := p.post("/secrets/GITHUB_TOKEN/delete", url.Values{"confirm": {"GITHUB_TOKEN"}}); w.Code != http.StatusSeeOther {
		t.Fatalf("delete: %d %s", w.Code, w.Body.String())
	}
	if _, ok := f.metas["GITHUB_TOKEN"]; ok {
		t.Fatal("still there after delete")
	}
	type rec struct{ ev, detail, cmd string }
	want := []rec{
		{"created", "", ""},
		{"rotated", "previous value (version 1) kept", ""},
		{"updated", "rotation undone: value of version 1 restored", "wsx rotate GITHUB_TOKEN --undo"},
		{"rotated", "previous value (version 3) kept", ""},
		{"deleted", "previous value", "wsx rotate GITHUB_TOKEN --finish"},
		{"deleted", "", ""},
	}
	if len(f.records) != len(want) {
		t.Fatalf("records %+v, want %d", f.records, len(want))
	}
	for i, r := range f.records {
		cmd := ""
		if r.Context != nil {
			cmd = r.Context.Command
		}
		if got := (rec{string(r.Event), r.Detail, cmd}); got != want[i] || r.Via != audit.ViaUI || r.Secret != "GITHUB_TOKEN" {
			t.Errorf("record %d: %+v via %s, want %+v via ui", i, got, r.Via, want[i])
		}
	}
	p.noCanary()
}

func TestAddKeyFile(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	blk, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	key := pem.EncodeToMemory(blk)
	f := newFake()
	p := newPage(t, f, "")
	w := p.postMultipart("/add", map[string]string{"name": "DEPLOY_SSH_KEY", "type": "key"}, key)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("add key: %d %s", w.Code, w.Body.String())
	}
	if m := f.metas["DEPLOY_SSH_KEY"]; m.SSH == nil || m.RotateEvery != 365*store.Day {
		t.Fatalf("key stored as %+v", m)
	}
	body := p.get("/").Body.String()
	if !strings.Contains(body, ">ssh<") || strings.Contains(body, "PRIVATE KEY") {
		t.Fatalf("list: %s", body)
	}
	for _, b := range p.bodies {
		if strings.Contains(b, string(key[40:80])) {
			t.Fatal("an answer holds the key")
		}
	}
}

func TestAdvice(t *testing.T) {
	f := newFake()
	f.metas["GITHUB_TOKEN"] = store.Meta{Name: "GITHUB_TOKEN"}
	p := newPage(t, f, "")
	for name, want := range map[string]string{
		"LD_PRELOAD":   `"problem"`,
		"github_token": "exists already",
		"stripe_key":   "STRIPE_KEY",
		"secret123":    "does not say which service",
		"1ABC":         `"problem"`,
		"STRIPE_TOKEN": `{}`,
	} {
		w := p.get("/advice?name=" + url.QueryEscape(name))
		if w.Code != 200 || w.Header().Get("Content-Type") != "application/json" || !strings.Contains(w.Body.String(), want) {
			t.Errorf("advice for %s: %d %s, want %s", name, w.Code, w.Body.String(), want)
		}
	}
}

func TestLocked(t *testing.T) {
	f := newFake()
	f.locked = true
	p := newPage(t, f, "")
	if w := p.get("/"); w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/unlock" {
		t.Fatalf("locked list: %d %q", w.Code, w.Header().Get("Location"))
	}
	if w := p.post("/secrets/A/delete", url.Values{"confirm": {"A"}}); w.Code != http.StatusLocked {
		t.Fatalf("locked delete: %d", w.Code)
	}
	if w := p.post("/unlock", url.Values{"passphrase": {"wrong " + canary}}); w.Code != 401 || f.wrong != 1 {
		t.Fatalf("wrong passphrase: %d (wrong %d)", w.Code, f.wrong)
	}
	if w := p.post("/unlock", url.Values{"passphrase": {"right passphrase"}}); w.Code != http.StatusSeeOther || f.locked {
		t.Fatalf("right passphrase: %d, locked %v", w.Code, f.locked)
	}
	if w := p.get("/"); w.Code != 200 {
		t.Fatalf("after unlock: %d", w.Code)
	}
	p.noCanary()
}

func TestTemplates(t *testing.T) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, ".git"), 0o700)
	toml := "[[secret]]\nname = \"GITHUB_TOKEN\"\nhosts = [\"github.com\"]\n\n[[secret]]\nname = \"NPM_TOKEN\"\ndescription = \"npm publish\"\n"
	if err := os.WriteFile(filepath.Join(dir, "wsx.toml"), []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	f := newFake()
	f.metas["GITHUB_TOKEN"] = store.Meta{Name: "GITHUB_TOKEN"}
	p := newPage(t, f, dir)
	body := p.get("/templates").Body.String()
	if !strings.Contains(body, "1 missing") || !strings.Contains(body, "Add NPM_TOKEN") || strings.Contains(body, "Add GITHUB_TOKEN") {
		t.Fatalf("templates: %s", body)
	}
	w := p.postMultipart("/add", map[string]string{"from": "templates", "name": "NPM_TOKEN", "type": "token", "description": "npm publish", "value": canary}, nil)
	if w.Code != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), "/templates") {
		t.Fatalf("add in place: %d %q", w.Code, w.Header().Get("Location"))
	}
	if f.metas["NPM_TOKEN"].Description != "npm publish" {
		t.Fatalf("added %+v", f.metas["NPM_TOKEN"])
	}
	if body := p.get("/templates").Body.String(); !strings.Contains(body, "all in the store") {
		t.Fatalf("templates after adding: %s", body)
	}
	p.noCanary()
}

func TestAuditPageAndChart(t *testing.T) {
	f := newFake()
	day := time.Date(2026, 3, 11, 10, 0, 0, 0, time.Local)
	for i := range 3 {
		f.records = append(f.records, audit.Record{Time: day.Add(time.Duration(i) * time.Minute), Event: audit.EventUsed, Secret: "GITHUB_TOKEN", Via: "exec", Result: "ok",
			Context: &audit.Context{File: "deploy.sh", Line: 3}})
	}
	f.records = append(f.records, audit.Record{Time: day.AddDate(0, 0, -1), Event: audit.EventUsed, Secret: "NPM_TOKEN", Via: "exec", Result: "ok"},
		audit.Record{Time: day, Event: audit.EventDenied, Secret: "NPM_TOKEN", Via: "api", Result: "denied"})
	p := newPage(t, f, "")
	body := p.get("/audit").Body.String()
	if n := strings.Count(body, `<rect class="bar"`); n != 2 {
		t.Errorf("chart has %d bars, want 2 (one a day a secret): %s", n, body)
	}
	if !strings.Contains(body, "2026-03-11: GITHUB_TOKEN used 3 times") || !strings.Contains(body, "GITHUB_TOKEN (3)") ||
		!strings.Contains(body, "deploy.sh:3") || !strings.Contains(body, `class="denied"`) {
		t.Errorf("audit page: %s", body)
	}
	body = p.get("/audit?secret=NPM_TOKEN&since=2026-03-10&until=2026-03-10").Body.String()
	if strings.Contains(body, "deploy.sh") || strings.Count(body, `<rect class="bar"`) != 1 || !strings.Contains(body, "Records (1)") {
		t.Errorf("filtered audit page: %s", body)
	}
	if w := p.get("/audit?since=yesterday"); w.Code != 200 || !strings.Contains(w.Body.String(), "use YYYY-MM-DD") {
		t.Errorf("bad date: %d", w.Code)
	}
}

func TestUsesChart(t *testing.T) {
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.Local)
	var uses []audit.Record
	for i := range 12 {
		uses = append(uses, audit.Record{Time: from.Add(time.Duration(i) * time.Hour), Secret: fmt.Sprintf("S%02d", i%10)})
	}
	c := usesChart(uses, from, from.AddDate(0, 0, 7))
	if c.Total != 12 || len(c.Legend) != maxChartNames+1 || c.Legend[maxChartNames].Name != "other secrets (2)" {
		t.Fatalf("chart: total %d, legend %+v", c.Total, c.Legend)
	}
	h := 0
	for _, b := range c.Bars {
		if b.X < marginLeft || b.Y < marginTop || b.Y+b.H > marginTop+plotH {
			t.Errorf("bar %+v is outside the plot", b)
		}
		h += b.H
	}
	if h != plotH {
		t.Errorf("the one day's stacked bars are %d high, want the plot's %d", h, plotH)
	}
	if empty := usesChart(nil, from, from.AddDate(0, 0, 30)); len(empty.Bars) != 0 || len(empty.XLabels) == 0 {
		t.Errorf("empty chart: %+v", empty)
	}
}

func TestIdleStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := New(Options{Backend: newFake(), IdleTimeout: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		s.host = testHost
		h := s.Handler()
		time.Sleep(50 * time.Second)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "http://"+testHost+"/login?token="+s.token, nil))
		time.Sleep(50 * time.Second)
		select {
		case <-s.Done():
			t.Fatal("stopped 50s after a request")
		default:
		}
		time.Sleep(11 * time.Second)
		synctest.Wait()
		select {
		case <-s.Done():
		default:
			t.Fatal("not stopped a minute after the last request")
		}
		if !strings.HasPrefix(s.Reason(), "idle") {
			t.Errorf("reason %q", s.Reason())
		}
	})
}

func TestListenLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", "[::1]:0", "192.0.2.1:0"} {
		s, _ := New(Options{Backend: newFake(), Addr: addr})
		if _, err := s.Listen(); err == nil {
			t.Errorf("Listen(%s) worked", addr)
		}
		s.Close()
	}
	s, _ := New(Options{Backend: newFake()})
	u, err := s.Listen()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !strings.HasPrefix(u, "http://127.0.0.1:") || !strings.Contains(u, "/login?token=") {
		t.Fatalf("url %q", u)
	}
	go s.Serve(t.Context())
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	// The client follows the redirect without a cookie jar: no session.
	if resp.StatusCode != http.StatusUnauthorized || resp.Request.URL.RawQuery != "" {
		t.Fatalf("after login: %d at %s", resp.StatusCode, resp.Request.URL)
	}
	s.Close()
	select {
	case <-s.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not stop the server")
	}
}

func TestRotationColumn(t *testing.T) {
	f := newFake()
	f.metas["OLD_TOKEN"] = store.Meta{Name: "OLD_TOKEN", Type: store.TypeToken, Created: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC), RotateEvery: 30 * store.Day}
	f.metas["NEW_TOKEN"] = store.Meta{Name: "NEW_TOKEN", Type: store.TypeToken, Created: time.Date(2026, 3, 11, 12, 0, 0, 0, time.UTC), RotateEvery: 90 * store.Day}
	f.metas["A_FILE"] = store.Meta{Name: "A_FILE", Type: store.TypeFile, Created: time.Date(2026, 3, 11, 12, 0, 0, 0, time.UTC)}
	p := newPage(t, f, "")
	body := p.get("/").Body.String()
	for _, want := range []string{`<span class="overdue">OVERDUE by 40 days</span>`, "due in 89 days", "<td>70 days</td>", "<td>1 day</td>"} {
		if !strings.Contains(body, want) {
			t.Errorf("the list lacks %q", want)
		}
	}
}

func TestStatic(t *testing.T) {
	p := newPage(t, newFake(), "")
	for path, want := range map[string]int{"/static/style.css": 200, "/static/app.js": 200, "/static/": 404,
		"/static/layout.html": 404, "/static/..%2ftemplates%2flayout.html": 404} {
		if w := p.get(path); w.Code != want {
			t.Errorf("GET %s: %d, want %d", path, w.Code, want)
		}
	}
	if w := p.get("/static/app.js"); w.Header().Get("Content-Type") != "text/javascript; charset=utf-8" {
		t.Errorf("app.js served as %q", w.Header().Get("Content-Type"))
	}
}

func TestSocketUID(t *testing.T) {
	table := filepath.Join(t.TempDir(), "tcp")
	os.WriteFile(table, []byte(`  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:B0D6 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0
   1: 0100007F:D431 0100007F:B0D6 01 00000000:00000000 00:00000000 00000000  1001        0 2 1 0000000000000000 20 4 30 10 -1
   2: 0100007F:B0D6 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0000000000000000 20 4 30 10 -1
`), 0o600)
	client := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 0xD431}
	server := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 0xB0D6}
	if uid, err := socketUID(table, client, server); err != nil || uid != 1001 {
		t.Fatalf("client socket: uid %d, %v; want 1001", uid, err)
	}
	other := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 0xD432}
	if _, err := socketUID(table, other, server); err == nil {
		t.Fatal("a socket not in the table has an owner")
	}
	// The real table: a connection of this process is this uid's.
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c, err := net.Dial("tcp4", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if uid, err := socketUID("/proc/net/tcp", c.LocalAddr(), c.RemoteAddr()); err != nil || uid != os.Geteuid() {
		t.Fatalf("own socket: uid %d, %v; want %d", uid, err, os.Geteuid())
	}
}

func TestOtherUIDRefused(t *testing.T) {
	s, _ := New(Options{Backend: newFake()})
	defer s.Close()
	if _, err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	ul := s.l.(*uidListener)
	ul.owner, ul.notRoot = os.Geteuid()+1000, true // as if another user ran wsx ui
	go s.Serve(t.Context())
	if resp, err := http.Get(s.URL()); err == nil {
		resp.Body.Close()
		t.Fatalf("another user's connection was served: %d", resp.StatusCode)
	}
}
