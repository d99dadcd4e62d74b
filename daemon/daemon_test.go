package daemon

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/wsxdev/wsx/audit"
	"github.com/wsxdev/wsx/internal/access"
	"github.com/wsxdev/wsx/internal/release"
	"github.com/wsxdev/wsx/internal/unixsock"
	"github.com/wsxdev/wsx/sshagent"
	"github.com/wsxdev/wsx/store"
)

// readLog returns the records of the audit log at path, after checking
// its chain and MACs with the store's key.
func readLog(t testing.TB, st *store.Store, path string) []audit.Record {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	key, err := st.AuditKey()
	if err != nil {
		t.Fatal(err)
	}
	res, err := audit.Verify(f, key)
	if err != nil || !res.OK {
		t.Fatalf("verify audit log: %+v, %v", res, err)
	}
	if _, err := f.Seek(0, 0); err != nil {
		t.Fatal(err)
	}
	recs, err := audit.ReadRecords(f)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func lastRecord(t testing.TB, st *store.Store, path string) audit.Record {
	t.Helper()
	recs := readLog(t, st, path)
	if len(recs) == 0 {
		t.Fatal("empty audit log")
	}
	return recs[len(recs)-1]
}

// The client is the store, through the daemon: the same answers, the same
// sentinel errors.
func TestClientIsTheStore(t *testing.T) {
	st := newTestStore(t)
	d, c := startDaemon(t, st, nil)
	auditPath := filepath.Join(st.Home(), "audit.log")

	tok := store.Secret{Meta: store.Meta{Name: "API_TOKEN", Type: store.TypeToken, Hosts: []string{"git.example.test"}},
		Value: store.NewValue([]byte("tok-0123456789"))}
	m, err := c.Add(tok)
	if err != nil || m.Version != 1 || m.Name != "API_TOKEN" {
		t.Fatalf("Add = %+v, %v", m, err)
	}
	if _, err := c.Add(tok); !errors.Is(err, store.ErrExists) {
		t.Errorf("Add twice: %v, want ErrExists", err)
	}
	lower := tok
	lower.Name = "api_token"
	if _, err := c.Add(lower); !errors.Is(err, store.ErrExists) || !strings.Contains(err.Error(), "API_TOKEN") {
		t.Errorf("Add differing in case: %v", err)
	}
	danger := store.Secret{Meta: store.Meta{Name: "LD_PRELOAD", Type: store.TypeToken}, Value: store.NewValue([]byte("x1234"))}
	if _, err := c.Add(danger); !errors.Is(err, store.ErrDangerousName) {
		t.Errorf("Add LD_PRELOAD: %v", err)
	}
	if _, err := c.Add(danger, store.AddOptions{AllowDangerousName: true}); err != nil {
		t.Errorf("Add LD_PRELOAD allowed: %v", err)
	}
	if _, _, err := c.Stat("NOPE"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Stat missing: %v", err)
	}
	if _, _, err := c.Stat("../x"); !errors.Is(err, store.ErrInvalidName) {
		t.Errorf("Stat bad name: %v", err)
	}
	gm, size, err := c.Stat("API_TOKEN")
	if err != nil || size != tok.Value.Len() || !slices.Equal(gm.Hosts, tok.Hosts) {
		t.Fatalf("Stat: %v (size %d, hosts %v)", err, size, gm.Hosts)
	}
	metas, err := c.List()
	if err != nil || len(metas) != 2 {
		t.Fatalf("List = %d, %v", len(metas), err)
	}

	desc := "first"
	m, err = c.Edit("API_TOKEN", store.Edit{Description: &desc})
	if err != nil || m.Version != 2 || m.Description != "first" {
		t.Fatalf("Edit = %+v, %v", m, err)
	}
	// A new value, as set does; a rotation, as rotate does.
	m, err = c.Edit("API_TOKEN", store.Edit{Value: store.NewValue([]byte("tok-new-value-99"))})
	if err != nil || m.Rotated.IsZero() {
		t.Fatalf("Edit with a value: %+v, %v", m, err)
	}
	if got, _ := st.Get("API_TOKEN"); string(got.Value.Bytes()) != "tok-new-value-99" {
		t.Fatal("value not updated")
	}
	if _, err := c.Edit("NOPE", store.Edit{Description: &desc}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Edit missing: %v", err)
	}
	for v, want := range map[string]store.Match{"tok-new-value-99": store.MatchCurrent, "tok-0123456789": store.MatchNone} {
		if got, err := c.Compare("API_TOKEN", store.NewValue([]byte(v))); err != nil || got != want {
			t.Errorf("Compare = %v, %v; want %v", got, err, want)
		}
	}

	// Records of other events: the actor and process are the peer's,
	// whatever the record says; the context is marked as claimed.
	err = c.Record(audit.Record{Event: audit.EventCreated, Secret: "API_TOKEN", Via: audit.ViaCLI, Result: audit.ResultOK,
		Actor: audit.Actor{UID: 4242, User: "liar"}, Process: &audit.Process{PID: 77, Exe: "/liar"},
		Context: &audit.Context{Command: "wsx add API_TOKEN"}})
	if err != nil {
		t.Fatal(err)
	}
	r := lastRecord(t, st, auditPath)
	if r.Actor.UID != os.Geteuid() || r.Process == nil || r.Process.PID != os.Getpid() || r.Process.Exe == "/liar" ||
		r.Context == nil || !slices.Equal(r.Context.Claimed, []string{"command"}) {
		t.Errorf("recorded %+v: the actor and process must be the peer's, the command a claim", r)
	}
	if err := c.Record(audit.Record{Event: "exploded", Via: audit.ViaCLI, Result: audit.ResultOK}); !errors.Is(err, audit.ErrInvalidRecord) {
		t.Errorf("Record invalid: %v", err)
	}
	if err := c.Record(audit.Record{Event: audit.EventUsed, Secret: "API_TOKEN", Via: audit.ViaExec, Result: audit.ResultOK}); !errors.Is(err, audit.ErrInvalidRecord) {
		t.Errorf("a use recorded without the use: %v", err)
	}
	if err := c.Record(); err == nil {
		t.Error("an empty batch was accepted")
	}

	secs, err := c.Use(context.Background(), []string{"API_TOKEN", "LD_PRELOAD"}, release.Record{Via: audit.ViaExec,
		Context: audit.Context{Command: "node app.js"}, Places: map[string]release.Place{"API_TOKEN": {File: "app.js", Line: 3}}})
	if err != nil || len(secs) != 2 || string(secs[0].Value.Bytes()) != "tok-new-value-99" || secs[1].Name != "LD_PRELOAD" {
		t.Fatalf("Use: %v", err)
	}
	recs := readLog(t, st, auditPath)
	lr := recs[len(recs)-2]
	if lr.Event != audit.EventUsed || lr.Secret != "API_TOKEN" || lr.Via != audit.ViaExec || lr.Context == nil ||
		lr.Context.File != "app.js" || lr.Context.Line != 3 || lr.Process == nil || lr.Process.PID != os.Getpid() ||
		!slices.Equal(lr.Context.Claimed, []string{"command", "file", "line"}) {
		t.Errorf("use record %+v", lr)
	}
	if _, err := c.Use(context.Background(), []string{"NOPE"}, release.Record{Via: audit.ViaExec}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Use missing: %v", err)
	}
	res, err := c.VerifyAudit()
	if err != nil || !res.OK || res.Records != len(recs) {
		t.Errorf("VerifyAudit = %+v, %v; want OK with %d records", res, err, len(recs))
	}

	if err := c.Remove("LD_PRELOAD"); err != nil {
		t.Fatal(err)
	}
	if err := c.Remove("LD_PRELOAD"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Remove twice: %v", err)
	}

	// Locked: every use fails with ErrLocked, a wrong passphrase with
	// ErrWrongPassphrase; the right one unlocks.
	if _, err := c.Lock(); err != nil {
		t.Fatal(err)
	}
	if !d.Locked() {
		t.Fatal("not locked")
	}
	if _, _, err := c.Stat("API_TOKEN"); !errors.Is(err, store.ErrLocked) {
		t.Errorf("Stat while locked: %v", err)
	}
	if _, err := c.Use(context.Background(), []string{"API_TOKEN"}, release.Record{Via: audit.ViaExec}); !errors.Is(err, store.ErrLocked) {
		t.Errorf("Use while locked: %v", err)
	}
	if _, err := c.Unlock([]byte("wrong")); !errors.Is(err, store.ErrWrongPassphrase) {
		t.Errorf("Unlock wrong: %v", err)
	}
	if _, err := c.Unlock(nil); !errors.Is(err, store.ErrWrongPassphrase) && !errors.Is(err, store.ErrEmptyPassphrase) {
		t.Errorf("Unlock empty: %v", err)
	}
	st2, err := c.Unlock(testPassphrase)
	if err != nil || st2.Locked {
		t.Fatalf("Unlock: %+v, %v", st2, err)
	}
	var events []audit.Event
	for _, r := range readLog(t, st, auditPath) {
		events = append(events, r.Event)
	}
	if !slices.Contains(events, audit.EventLocked) || events[len(events)-1] != audit.EventUnlocked {
		t.Errorf("events %v: want locked, then unlocked last", events)
	}
}

// No value leaves the daemon when its use cannot be recorded.
func TestUseFailsClosed(t *testing.T) {
	st := newTestStore(t)
	_, c := startDaemon(t, st, nil)
	if _, err := c.Add(store.Secret{Meta: store.Meta{Name: "API_TOKEN", Type: store.TypeToken}, Value: store.NewValue([]byte("tok-0123456789"))}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(st.Home(), "audit.log")
	if err := os.Rename(path, path+".saved"); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	secs, err := c.Use(context.Background(), []string{"API_TOKEN"}, release.Record{Via: audit.ViaExec})
	if !errors.Is(err, audit.ErrUnavailable) || secs != nil {
		t.Fatalf("Use with the log unwritable: %v (%d secrets)", err, len(secs))
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".saved", path); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Use(context.Background(), []string{"API_TOKEN"}, release.Record{Via: audit.ViaExec}); err != nil {
		t.Fatalf("Use once the log is back: %v", err)
	}
}

// SECURITY.md 62 and 63: no answer of the API but /v1/use holds a value,
// none holds a pending rotation's previous value or the audit MAC key,
// and the removed routes are gone.
func TestNoValueOrKeyOutsideUse(t *testing.T) {
	st := newTestStore(t)
	_, c := startDaemon(t, st, nil)
	const cur, prev = "current-value-0123456789", "previous-value-0123456789"
	if _, err := st.Add(store.Secret{Meta: store.Meta{Name: "API_TOKEN", Type: store.TypeToken}, Value: store.NewValue([]byte(prev))}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Edit("API_TOKEN", store.Edit{Value: store.NewValue([]byte(cur)), Rotate: true}); err != nil {
		t.Fatal(err)
	}
	key, err := st.AuditKey()
	if err != nil {
		t.Fatal(err)
	}
	forbidden := [][]byte{[]byte(cur), []byte(prev), key, []byte(hex.EncodeToString(key)), []byte(base64.StdEncoding.EncodeToString(key)),
		[]byte(base64.StdEncoding.EncodeToString([]byte(cur))), []byte(base64.StdEncoding.EncodeToString([]byte(prev)))}
	call := func(method, path, body string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, "http://wsx"+path, strings.NewReader(body))
		resp, err := c.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		return resp.StatusCode, b.Bytes()
	}
	for _, r := range []struct{ method, path, body string }{
		{"GET", "/v1/status", ""},
		{"GET", "/v1/secrets", ""},
		{"GET", "/v1/secrets/API_TOKEN", ""},
		{"GET", "/v1/secrets/API_TOKEN?all=1", ""},
		{"GET", "/v1/audit/key", ""},
		{"GET", "/v1/audit/verify", ""},
		{"POST", "/v1/secrets/API_TOKEN/use", `{"via":"exec"}`},
		{"POST", "/v1/secrets/API_TOKEN/compare", `{"value":"` + base64.StdEncoding.EncodeToString([]byte(prev)) + `"}`},
		{"PATCH", "/v1/secrets/API_TOKEN", `{"description":"x"}`},
		{"POST", "/v1/audit", `{"records":[{"event":"created","secret":"API_TOKEN","via":"cli","result":"ok"}]}`},
	} {
		code, body := call(r.method, r.path, r.body)
		for _, f := range forbidden {
			if bytes.Contains(body, f) {
				t.Errorf("%s %s (%d) answered with a value or the key", r.method, r.path, code)
			}
		}
		if (r.path == "/v1/audit/key" || strings.HasSuffix(r.path, "/use")) && code < 400 {
			t.Errorf("%s %s answered %d: the route must be gone", r.method, r.path, code)
		}
	}
	code, body := call("POST", "/v1/use", `{"names":["API_TOKEN"],"via":"exec","context":{}}`)
	if code != http.StatusOK || !bytes.Contains(body, []byte(base64.StdEncoding.EncodeToString([]byte(cur)))) ||
		bytes.Contains(body, []byte(base64.StdEncoding.EncodeToString([]byte(prev)))) {
		t.Errorf("POST /v1/use: %d; want the current value only", code)
	}
}

// Signatures with a store key: parsed once, each one recorded with the
// peer process before the signature leaves; refused when the record cannot
// be written; nothing left after a lock.
func TestAgentSigns(t *testing.T) {
	st := newTestStore(t)
	sec, pub := keySecret(t, "DEPLOY_KEY")
	if _, err := st.Add(sec); err != nil {
		t.Fatal(err)
	}
	d, _ := startDaemon(t, st, nil)
	conn, err := net.Dial("unix", d.AgentSocket())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ag := agent.NewClient(conn)
	keys, err := ag.List()
	if err != nil || len(keys) != 1 || keys[0].Comment != "DEPLOY_KEY" {
		t.Fatalf("List = %v, %v", keys, err)
	}
	data := []byte("sign me")
	for range 5 {
		sig, err := ag.Sign(pub, data)
		if err != nil {
			t.Fatal(err)
		}
		if err := pub.Verify(data, sig); err != nil {
			t.Fatal(err)
		}
	}
	if n := d.src.Cached(); n != 1 {
		t.Errorf("%d signers cached", n)
	}
	path := filepath.Join(st.Home(), "audit.log")
	recs := readLog(t, st, path)
	used := 0
	for _, r := range recs {
		if r.Event != audit.EventUsed {
			continue
		}
		used++
		if r.Secret != "DEPLOY_KEY" || r.Via != audit.ViaAgent || r.Process == nil || r.Process.PID != os.Getpid() ||
			r.Actor.UID != os.Geteuid() || r.Context == nil || r.Context.Command == "" {
			t.Errorf("used record %+v", r)
		}
	}
	if used != 5 {
		t.Errorf("%d used records for 5 signatures", used)
	}

	// The log cannot be written: no signature.
	if err := os.Rename(path, path+".saved"); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := ag.Sign(pub, data); err == nil {
		t.Fatal("signed with the audit log unwritable")
	}
	os.Remove(path)
	if err := os.Rename(path+".saved", path); err != nil {
		t.Fatal(err)
	}
	if _, err := ag.Sign(pub, data); err != nil {
		t.Fatalf("sign once the log is back: %v", err)
	}

	// An added key, then a lock: nothing is listed or signs, nothing is
	// cached, the added key is forgotten.
	other, otherPub := keySecret(t, "X")
	raw, err := ssh.ParseRawPrivateKey(other.Value.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if err := ag.Add(agent.AddedKey{PrivateKey: raw, Comment: "added"}); err != nil {
		t.Fatal(err)
	}
	if err := d.Lock("test"); err != nil {
		t.Fatal(err)
	}
	if keys, _ := ag.List(); len(keys) != 0 {
		t.Errorf("locked agent lists %d keys", len(keys))
	}
	if _, err := ag.Sign(pub, data); err == nil {
		t.Error("locked agent signed")
	}
	// The added key is kept, sealed: unusable until the unlock.
	if d.src.Cached() != 0 || d.agent.AddedKeys() != 1 {
		t.Errorf("after lock: %d cached signers, %d added keys", d.src.Cached(), d.agent.AddedKeys())
	}
	if err := ag.Add(agent.AddedKey{PrivateKey: raw}); err == nil {
		t.Error("added a key while locked")
	}
	if err := d.Unlock(testPassphrase); err != nil {
		t.Fatal(err)
	}
	keys, _ = ag.List()
	if len(keys) != 2 || keys[0].Comment != "added" || keys[1].Comment != "DEPLOY_KEY" {
		t.Errorf("after unlock: %v", keys)
	}
	// As ssh-agent's: a key added with ssh-add survives a lock.
	if sig, err := ag.Sign(otherPub, data); err != nil || otherPub.Verify(data, sig) != nil {
		t.Errorf("the key added before the lock does not sign after the unlock: %v", err)
	}
}

// Keys added, rotated or removed through the API are seen by the agent at
// once.
func TestAgentSeesAPIChanges(t *testing.T) {
	st := newTestStore(t)
	d, c := startDaemon(t, st, nil)
	conn, err := net.Dial("unix", d.AgentSocket())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ag := agent.NewClient(conn)
	if keys, _ := ag.List(); len(keys) != 0 {
		t.Fatal("keys in an empty store")
	}
	sec, pub := keySecret(t, "NEW_KEY")
	if _, err := c.Add(sec); err != nil {
		t.Fatal(err)
	}
	if _, err := ag.Sign(pub, []byte("x")); err != nil {
		t.Fatalf("sign with a key added through the API: %v", err)
	}
	next, nextPub := keySecret(t, "NEW_KEY")
	if _, err := c.Edit("NEW_KEY", store.Edit{Value: next.Value}); err != nil {
		t.Fatal(err)
	}
	if _, err := ag.Sign(pub, []byte("x")); err == nil {
		t.Error("the key rotated away still signs")
	}
	if _, err := ag.Sign(nextPub, []byte("x")); err != nil {
		t.Errorf("sign with the rotated key: %v", err)
	}
	if err := c.Remove("NEW_KEY"); err != nil {
		t.Fatal(err)
	}
	if _, err := ag.Sign(nextPub, []byte("x")); err == nil {
		t.Error("a removed key still signs")
	}
}

// SECURITY.md 58: without grants, only the owner's uid and root have a
// role; every request is checked.
func TestAuthorize(t *testing.T) {
	st := newTestStore(t)
	d, _ := startDaemon(t, st, nil)
	d.owner = 1000
	d.checker.Owner = 1000
	for _, tt := range []struct {
		uid int
		ok  bool
	}{{1000, true}, {0, true}, {1001, false}, {65534, false}, {-1, false}} {
		for a := access.Connect; a <= access.Passwd; a++ {
			_, err := d.authorize(sshagent.Peer{UID: tt.uid, PID: 1}, a)
			if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrDenied)) {
				t.Errorf("uid %d %s: %v", tt.uid, a, err)
			}
		}
	}
}

// Malformed, oversized and trailing requests are refused before anything
// happens (SECURITY.md 35, for the API).
func TestAPIRequestLimits(t *testing.T) {
	st := newTestStore(t)
	_, c := startDaemon(t, st, nil)
	post := func(body []byte) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, "http://wsx/v1/secrets", bytes.NewReader(body))
		resp, err := c.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		return resp.StatusCode, b.String()
	}
	huge := append([]byte(`{"secret":{"meta":{"name":"BIG","type":"file"},"value":"`), bytes.Repeat([]byte("A"), MaxRequestBody)...)
	huge = append(huge, `"}}`...)
	for name, body := range map[string][]byte{
		"oversized":     huge,
		"not json":      []byte("{nope"),
		"trailing data": []byte(`{"secret":{"meta":{"name":"A_TOKEN","type":"token"},"value":"eHl6d3ZiMTIz"}} {}`),
		"unknown field": []byte(`{"secret":{"meta":{"name":"A_TOKEN","type":"token"},"values":{"Secret":"eHl6d3ZiMTIz"}}}`),
	} {
		code, text := post(body)
		if code != http.StatusBadRequest || !strings.Contains(text, `"kind":"bad_request"`) {
			t.Errorf("%s: %d %s", name, code, text)
		}
	}
	if metas, err := st.List(); err != nil || len(metas) != 0 {
		t.Errorf("refused requests stored %d secrets (%v)", len(metas), err)
	}
}

// The daemon locks itself after LockAfter without use; a use puts it off.
func TestAutoLock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newTestStore(t)
		d, err := New(Options{Store: st, AuditPath: filepath.Join(st.Home(), "audit.log"), RunDir: filepath.Join(st.Home(), "run"), LockAfter: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Minute)
		synctest.Wait()
		d.touch() // a use at 0:50
		time.Sleep(59 * time.Minute)
		synctest.Wait()
		if d.Locked() {
			t.Fatal("locked 59 minutes after the last use")
		}
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		if !d.Locked() {
			t.Fatal("not locked an hour after the last use")
		}
		if err := d.Unlock(testPassphrase); err != nil {
			t.Fatal(err)
		}
		time.Sleep(59 * time.Minute)
		synctest.Wait()
		if d.Locked() {
			t.Fatal("the idle clock did not restart at unlock")
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		if !d.Locked() {
			t.Fatal("not locked again")
		}
		if err := d.Unlock(testPassphrase); err != nil {
			t.Fatal(err)
		}
		recs := readLog(t, st, filepath.Join(st.Home(), "audit.log"))
		var locks []string
		for _, r := range recs {
			if r.Event == audit.EventLocked {
				locks = append(locks, r.Detail)
			}
		}
		if !slices.Equal(locks, []string{"idle for 1h0m0s", "idle for 1h0m0s"}) {
			t.Errorf("lock records %q", locks)
		}
		d.Lock("end")
	})
}

// LockAfter 0 never locks.
func TestNoAutoLock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newTestStore(t)
		d, err := New(Options{Store: st, AuditPath: filepath.Join(st.Home(), "audit.log"), RunDir: filepath.Join(st.Home(), "run")})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(1000 * time.Hour)
		synctest.Wait()
		if d.Locked() {
			t.Fatal("locked with LockAfter 0")
		}
		d.Lock("end")
	})
}

// A wrong passphrase waits longer each time, up to 10 s, and the right
// one still works after (SECURITY.md 31, for the store's unlock).
func TestUnlockBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newTestStore(t)
		st.Lock()
		d, err := New(Options{Store: st, AuditPath: filepath.Join(st.Home(), "audit.log"), RunDir: filepath.Join(st.Home(), "run")})
		if err != nil {
			t.Fatal(err)
		}
		var waits []time.Duration
		for range 3 {
			start := time.Now()
			if err := d.Unlock([]byte("wrong")); !errors.Is(err, store.ErrWrongPassphrase) {
				t.Fatalf("wrong passphrase: %v", err)
			}
			waits = append(waits, time.Since(start))
		}
		if !slices.Equal(waits, []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond}) {
			t.Errorf("waits %v", waits)
		}
		if err := d.Unlock(testPassphrase); err != nil || d.Locked() {
			t.Fatalf("right passphrase after wrong ones: %v", err)
		}
		d.Lock("end")
	})
}

// SECURITY.md 26, 27, 28: an unsafe run directory is refused naming it; a
// second daemon on a live one is refused naming the first's pid; a socket
// path too long is a clear error.
func TestListenRefuses(t *testing.T) {
	st := newTestStore(t)
	newD := func(runDir string) *Daemon {
		d, err := New(Options{Store: st, AuditPath: filepath.Join(st.Home(), "audit.log"), RunDir: runDir})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	open := filepath.Join(shortDir(t), "open")
	if err := os.Mkdir(open, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := newD(open).Listen(); !errors.Is(err, unixsock.ErrUnsafeDir) || !strings.Contains(err.Error(), open) {
		t.Errorf("0755 run dir: %v", err)
	}
	link := filepath.Join(shortDir(t), "link")
	if err := os.Symlink(open, link); err != nil {
		t.Fatal(err)
	}
	if err := newD(link).Listen(); !errors.Is(err, unixsock.ErrUnsafeDir) {
		t.Errorf("symlinked run dir: %v", err)
	}
	long := filepath.Join(shortDir(t), strings.Repeat("d", 100))
	if err := newD(long).Listen(); !errors.Is(err, unixsock.ErrPathTooLong) {
		t.Errorf("long path: %v", err)
	}
	// A fresh run dir is made 0700 whatever the umask.
	fresh := filepath.Join(shortDir(t), "run")
	old := syscallUmask(0o022)
	defer syscallUmask(old)
	first, _ := startDaemon(t, st, func(o *Options) { o.RunDir = fresh })
	if fi, err := os.Stat(fresh); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("run dir mode %v, %v", fi.Mode(), err)
	}
	for _, sock := range []string{first.APISocket(), first.AgentSocket()} {
		if fi, err := os.Stat(sock); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, %v", sock, fi.Mode(), err)
		}
	}
	err := newD(fresh).Listen()
	if !errors.Is(err, unixsock.ErrAgentRunning) || !strings.Contains(err.Error(), "pid ") {
		t.Errorf("second daemon: %v", err)
	}
}

// SECURITY.md 35 for the API: clients that connect and say nothing, more
// of them than the cap, do not keep the owner out.
func TestAPIIdleConnections(t *testing.T) {
	st := newTestStore(t)
	d, c := startDaemon(t, st, nil)
	var idle []net.Conn
	for range MaxAPIConns + 20 {
		conn, err := net.Dial("unix", d.APISocket())
		if err != nil {
			t.Fatal(err)
		}
		idle = append(idle, conn)
	}
	defer func() {
		for _, c := range idle {
			c.Close()
		}
	}()
	// The half-written request of a slow client does not count as work.
	idle[0].Write([]byte("GET /v1/status HTTP/1.1\r\nHost: wsx\r\n"))
	if _, err := c.List(); err != nil {
		t.Fatalf("List with %d idle connections open: %v", len(idle), err)
	}
	d.apiConns.mu.Lock()
	n := len(d.apiConns.conns)
	d.apiConns.mu.Unlock()
	if n > MaxAPIConns {
		t.Errorf("%d connections kept, cap %d", n, MaxAPIConns)
	}
}

// A connection admit closed to make room is not counted again when the
// server's goroutine for it reports a request it had read (StateActive)
// before it sees the close.
func TestAPIConnsEvictedStayOut(t *testing.T) {
	var a apiConns
	conns := make([]net.Conn, 3)
	for i := range conns {
		c1, c2 := net.Pipe()
		defer c1.Close()
		defer c2.Close()
		conns[i] = c1
	}
	for _, c := range conns[:2] {
		if !a.admit(c, 2) {
			t.Fatal("refused under the cap")
		}
		a.state(c, http.StateNew)
	}
	if !a.admit(conns[2], 2) {
		t.Fatal("no room made at the cap")
	}
	for _, s := range []http.ConnState{http.StateActive, http.StateIdle} {
		for _, c := range conns {
			a.state(c, s)
		}
		if len(a.conns) != 2 {
			t.Fatalf("after %v: %d connections counted, cap 2", s, len(a.conns))
		}
	}
	a.state(conns[2], http.StateClosed)
	if len(a.conns) != 1 {
		t.Fatalf("after a close: %d connections counted, want 1", len(a.conns))
	}
}

// A daemon whose socket is removed stops (and locks): no one can reach it.
func TestStopsWhenSocketRemoved(t *testing.T) {
	st := newTestStore(t)
	d, err := New(Options{Store: st, AuditPath: filepath.Join(st.Home(), "audit.log"), RunDir: filepath.Join(st.Home(), "run")})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Listen(); err != nil {
		t.Fatal(err)
	}
	if got := d.socketsGone(); got != "" {
		t.Fatalf("fresh sockets reported gone: %s", got)
	}
	if err := os.Remove(d.AgentSocket()); err != nil {
		t.Fatal(err)
	}
	if got := d.socketsGone(); got != d.AgentSocket() {
		t.Fatalf("socketsGone = %q", got)
	}
	d.checkEvery = 10 * time.Millisecond
	done := make(chan error, 1)
	go func() { done <- d.Serve(context.Background()) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("still serving with its socket removed")
	}
	if !d.Locked() {
		t.Error("stopped unlocked")
	}
}

// SECURITY.md 56: a secret value on a client's command line is recorded
// masked.
func TestDescribeMasksArgv(t *testing.T) {
	st := newTestStore(t)
	d, _ := startDaemon(t, st, nil)
	const value = "tok-0123456789abcdef"
	if _, err := st.Add(store.Secret{Meta: store.Meta{Name: "API_TOKEN", Type: store.TypeToken}, Value: store.NewValue([]byte(value))}); err != nil {
		t.Fatal(err)
	}
	cmd := startShell(t, "--token="+value)
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	pi := d.describe(cmd.Process.Pid)
	if pi.proc == nil || len(pi.proc.Argv) != 4 {
		t.Fatalf("process %+v", pi.proc)
	}
	ctx := pi.ctx
	if _, err := d.appendRecord(audit.Record{Event: audit.EventUsed, Secret: "API_TOKEN", Via: audit.ViaAgent,
		Result: audit.ResultOK, Process: pi.proc, Context: &ctx}); err != nil {
		t.Fatal(err)
	}
	r := lastRecord(t, st, filepath.Join(st.Home(), "audit.log"))
	for _, a := range r.Process.Argv {
		if strings.Contains(a, value) {
			t.Fatalf("argv recorded with the value: element %q", strings.ReplaceAll(a, value, "<VALUE>"))
		}
	}
	if r.Process.Argv[3] != "--token=***" || strings.Contains(r.Context.Command, value) {
		t.Errorf("argv %q, command %q", r.Process.Argv[3], strings.ReplaceAll(r.Context.Command, value, "<VALUE>"))
	}
}

// SECURITY.md 25 and 56: a refused peer is audited, its command line with
// secret values masked as for a signature.
func TestDeniedMasksArgv(t *testing.T) {
	st := newTestStore(t)
	d, _ := startDaemon(t, st, nil)
	const value = "tok-0123456789abcdef"
	if _, err := st.Add(store.Secret{Meta: store.Meta{Name: "API_TOKEN", Type: store.TypeToken}, Value: store.NewValue([]byte(value))}); err != nil {
		t.Fatal(err)
	}
	cmd := startShell(t, "https://x:"+value+"@example.test", "--token="+value)
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	peer := sshagent.Peer{UID: os.Geteuid() + 4242, PID: cmd.Process.Pid}
	_, err := d.authorize(peer, access.Connect)
	d.denied(peer, audit.ViaAgent, err)
	r := lastRecord(t, st, filepath.Join(st.Home(), "audit.log"))
	if r.Event != audit.EventDenied || r.Process == nil || r.Process.PID != cmd.Process.Pid || len(r.Process.Argv) != 5 {
		t.Fatalf("denied record: event %s, process %v", r.Event, r.Process != nil)
	}
	for i, a := range r.Process.Argv {
		if strings.Contains(a, value) {
			t.Errorf("argv[%d] recorded with the value: %q", i, strings.ReplaceAll(a, value, "<VALUE>"))
		}
	}
	if r.Process.Argv[4] != "--token=***" {
		t.Errorf("argv[4] = %q, want it masked", strings.ReplaceAll(r.Process.Argv[4], value, "<VALUE>"))
	}
	if r.Context == nil || strings.Contains(r.Context.Command, value) {
		t.Errorf("command recorded with the value (context %v)", r.Context != nil)
	}
}

// SECURITY.md 72 (client side): what an agent answers to /v1/use is
// checked as if it came from the store: the names asked for, in order,
// valid, of a known type.
func TestClientChecksUseAnswer(t *testing.T) {
	for name, answer := range map[string]string{
		"another name": `[{"meta":{"name":"LD_PRELOAD","type":"token"},"value":"eA=="}]`,
		"invalid name": `[{"meta":{"name":"A=B","type":"token"},"value":"eA=="}]`,
		"unknown type": `[{"meta":{"name":"API_TOKEN","type":"shell"},"value":"eA=="}]`,
		"one too many": `[{"meta":{"name":"API_TOKEN","type":"token"},"value":"eA=="},{"meta":{"name":"API_TOKEN","type":"token"}}]`,
	} {
		sock := filepath.Join(t.TempDir(), "api.sock")
		l, err := net.Listen("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			if r.URL.Path == "/v1/secrets" {
				io.WriteString(w, `{"secrets":`+strings.Replace(answer, `,"value":"eA=="`, "", -1)+`}`)
				return
			}
			io.WriteString(w, answer)
		})}
		go srv.Serve(l)
		c := NewClient(sock)
		secs, err := c.Use(context.Background(), []string{"API_TOKEN"}, release.Record{Via: audit.ViaExec})
		if err == nil || secs != nil {
			t.Errorf("%s: accepted (%d secrets)", name, len(secs))
		}
		if name == "invalid name" || name == "unknown type" {
			if metas, err := c.List(); err == nil || metas != nil {
				t.Errorf("list with an %s: accepted", name)
			}
		}
		c.Close()
		srv.Close()
	}
}

// SECURITY.md 65 (API): wrong passphrases sent to a locked agent are
// recorded, once per burst, when it unlocks.
func TestFailedUnlocksRecorded(t *testing.T) {
	st := newTestStore(t)
	_, c := startDaemon(t, st, nil)
	if _, err := c.Lock(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := c.Unlock([]byte("wrong")); !errors.Is(err, store.ErrWrongPassphrase) {
			t.Fatalf("Unlock wrong: %v", err)
		}
	}
	if _, err := c.Unlock(testPassphrase); err != nil {
		t.Fatal(err)
	}
	var denied []audit.Record
	for _, r := range readLog(t, st, filepath.Join(st.Home(), "audit.log")) {
		if r.Event == audit.EventDenied {
			denied = append(denied, r)
		}
	}
	if len(denied) != 1 || !strings.HasPrefix(denied[0].Detail, "2 wrong passphrase(s)") || denied[0].Via != audit.ViaAPI {
		t.Errorf("denied records %+v: want one for the two wrong passphrases", denied)
	}
}

// A credential fill through the agent is one request: the agent runs the
// helper, records the use, and answers with git's lines. A client of
// another store is told there is no agent for it.
func TestCredentialOneRequest(t *testing.T) {
	st := newTestStore(t)
	_, c := startDaemon(t, st, nil)
	if _, err := st.Add(store.Secret{Meta: store.Meta{Name: "GIT_TOKEN", Type: store.TypeToken, Hosts: []string{"git.example.test"}},
		Value: store.NewValue([]byte("tok-0123456789"))}); err != nil {
		t.Fatal(err)
	}
	out, note, sent, err := c.Credential(context.Background(), st.Home(), "get", []byte("protocol=https\nhost=git.example.test\n\n"))
	if err != nil || string(out) != "username=x-access-token\npassword=tok-0123456789\n" || note != "" || len(sent) != 1 || sent[0].Name != "GIT_TOKEN" {
		t.Fatalf("Credential get = %q, %q, %v", out, note, err)
	}
	r := lastRecord(t, st, filepath.Join(st.Home(), "audit.log"))
	if r.Event != audit.EventUsed || r.Secret != "GIT_TOKEN" || r.Via != audit.ViaCredential || r.Context == nil || r.Context.Host != "git.example.test" {
		t.Errorf("record %+v", r)
	}
	if _, _, _, err := c.Credential(context.Background(), st.Home()+"-other", "get", []byte("protocol=https\nhost=git.example.test\n\n")); !errors.Is(err, ErrNoDaemon) {
		t.Errorf("another store: %v, want ErrNoDaemon", err)
	}
}

// Wrong ssh-add -X passphrases while the store is unlocked (the SSH agent
// locked with ssh-add -x) make one `denied` record per burst, written
// when the burst ends, through the same notes as the API's wrong unlocks.
func TestSSHAddUnlockBurstRecorded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newTestStore(t)
		logPath := filepath.Join(st.Home(), "audit.log")
		d, err := New(Options{Store: st, AuditPath: logPath, RunDir: filepath.Join(st.Home(), "run")})
		if err != nil {
			t.Fatal(err)
		}
		denied := func() []audit.Record {
			var rs []audit.Record
			for _, r := range readLog(t, st, logPath) {
				if r.Event == audit.EventDenied {
					rs = append(rs, r)
				}
			}
			return rs
		}
		peer := sshagent.Peer{UID: os.Getuid(), PID: os.Getpid()}
		d.unlockFailed(peer)
		time.Sleep(time.Second)
		d.unlockFailed(peer)
		time.Sleep(UnlockBurstGap - time.Second)
		synctest.Wait()
		if rs := denied(); len(rs) != 0 {
			t.Fatalf("recorded before the burst ended: %+v", rs)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		rs := denied()
		if len(rs) != 1 || !strings.HasPrefix(rs[0].Detail, "2 wrong passphrase(s)") || rs[0].Via != audit.ViaAgent {
			t.Fatalf("denied records %+v: want one for the burst of two", rs)
		}
		d.unlockFailed(peer)
		if err := d.Lock("wsx lock"); err != nil {
			t.Fatal(err)
		}
		if err := d.Unlock(testPassphrase); err != nil {
			t.Fatal(err)
		}
		if rs := denied(); len(rs) != 2 || !strings.HasPrefix(rs[1].Detail, "1 wrong passphrase(s)") {
			t.Errorf("a lock during a burst: denied records %+v", rs)
		}
		d.Lock("end")
	})
}

// startShell starts `sh -c CMD args...` that stays a shell (it does not
// exec its last command) and returns once the kernel shows its command
// line: Start returns when the exec began, before the new argv is in
// /proc.
func startShell(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sh", append([]string{"-c", "sleep 30; exit 0"}, args...)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	path := fmt.Sprintf("/proc/%d/cmdline", cmd.Process.Pid)
	for deadline := time.Now().Add(5 * time.Second); ; {
		b, _ := os.ReadFile(path)
		if bytes.Count(b, []byte{0}) == len(cmd.Args) {
			return cmd
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("%s: %q", path, b)
		}
		time.Sleep(time.Millisecond)
	}
}

// SECURITY.md 77 through the agent: List answers the secrets it could read
// with a *store.DamagedError naming the others, as the store's List does,
// and a damaged name from the agent is checked as any name is.
func TestListDamagedThroughAgent(t *testing.T) {
	st := newTestStore(t)
	for _, n := range []string{"ALPHA_TOKEN", "BRAVO_TOKEN"} {
		if _, err := st.Add(store.Secret{Meta: store.Meta{Name: n, Type: store.TypeToken}, Value: store.NewValue([]byte("value-of-" + n))}); err != nil {
			t.Fatal(err)
		}
	}
	items := filepath.Join(st.Home(), "items")
	alpha, err := os.ReadFile(filepath.Join(items, "ALPHA_TOKEN.wsx"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(items, "BRAVO_TOKEN.wsx"), alpha, 0o600); err != nil {
		t.Fatal(err)
	}
	_, c := startDaemon(t, st, nil)
	metas, err := c.List()
	de, ok := errors.AsType[*store.DamagedError](err)
	if !ok || !slices.Equal(de.Names, []string{"BRAVO_TOKEN"}) || len(de.Errs) != 1 {
		t.Fatalf("List error %v: want a *store.DamagedError naming BRAVO_TOKEN", err)
	}
	if !errors.Is(err, store.ErrIntegrity) || !strings.Contains(err.Error(), "BRAVO_TOKEN") {
		t.Errorf("List error %v: want ErrIntegrity naming BRAVO_TOKEN", err)
	}
	if len(metas) != 1 || metas[0].Name != "ALPHA_TOKEN" {
		t.Errorf("List = %v, want ALPHA_TOKEN", metas)
	}

	bad := listResponse{Secrets: []store.Meta{}, Damaged: []string{"../x"}, DamagedErrors: []*wireError{{Kind: "integrity", Message: "x"}}}
	if _, err := decodeList(bad, "api.sock"); !errors.Is(err, store.ErrInvalidName) {
		t.Errorf("a damaged name ../x from the agent: %v, want ErrInvalidName", err)
	}
}
