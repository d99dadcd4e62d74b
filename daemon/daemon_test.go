package daemon

import (
	"bytes"
	"context"
	"errors"
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
	if _, err := c.Get("NOPE"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get missing: %v", err)
	}
	if _, err := c.Get("../x"); !errors.Is(err, store.ErrInvalidName) {
		t.Errorf("Get bad name: %v", err)
	}
	got, err := c.Get("API_TOKEN")
	if err != nil || !got.Value.Equal(tok.Value) || !slices.Equal(got.Hosts, tok.Hosts) {
		t.Fatalf("Get: %v (hosts %v)", err, got.Hosts)
	}
	metas, err := c.List()
	if err != nil || len(metas) != 2 {
		t.Fatalf("List = %d, %v", len(metas), err)
	}

	m, err = c.Update("API_TOKEN", func(s *store.Secret) error {
		s.Description = "first"
		return nil
	})
	if err != nil || m.Version != 2 || m.Description != "first" {
		t.Fatalf("Update = %+v, %v", m, err)
	}
	// Someone else writes between our read and our write: the update
	// starts over from their version and keeps their change.
	calls := 0
	m, err = c.Update("API_TOKEN", func(s *store.Secret) error {
		calls++
		if calls == 1 {
			if _, err := st.Update("API_TOKEN", func(o *store.Secret) error { o.Username = "someone"; return nil }); err != nil {
				t.Fatal(err)
			}
		}
		s.Description = "second"
		return nil
	})
	if err != nil || calls != 2 || m.Version != 4 || m.Description != "second" || m.Username != "someone" {
		t.Fatalf("Update racing another writer: %+v, %v, fn called %d times", m, err, calls)
	}
	// A new value through Update, as rotate does.
	m, err = c.Update("API_TOKEN", func(s *store.Secret) error {
		s.Value = store.NewValue([]byte("tok-new-value-99"))
		return nil
	})
	if err != nil || m.Rotated.IsZero() {
		t.Fatalf("Update with a value: %+v, %v", m, err)
	}
	if got, _ := st.Get("API_TOKEN"); string(got.Value.Bytes()) != "tok-new-value-99" {
		t.Fatal("value not updated")
	}
	if _, err := c.Update("NOPE", func(*store.Secret) error { return nil }); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Update missing: %v", err)
	}

	key, err := c.AuditKey()
	want, _ := st.AuditKey()
	if err != nil || !bytes.Equal(key, want) {
		t.Fatalf("AuditKey: %v", err)
	}
	r, err := c.Append(audit.Record{Event: audit.EventCreated, Secret: "API_TOKEN", Via: audit.ViaCLI, Result: audit.ResultOK,
		Actor: audit.Actor{UID: 4242, User: "liar"}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Actor.UID != os.Geteuid() || r.Seq == 0 {
		t.Errorf("appended %+v: the actor must be the peer's uid", r)
	}
	if _, err := c.Append(audit.Record{Event: "exploded", Via: audit.ViaCLI, Result: audit.ResultOK}); !errors.Is(err, audit.ErrInvalidRecord) {
		t.Errorf("Append invalid: %v", err)
	}

	batch := []audit.Record{
		{Event: audit.EventUsed, Secret: "API_TOKEN", Via: audit.ViaExec, Result: audit.ResultOK, Actor: audit.Actor{UID: 4242}},
		{Event: audit.EventUsed, Secret: "LD_PRELOAD", Via: audit.ViaExec, Result: audit.ResultOK},
	}
	rs, err := c.AppendBatch(batch)
	if err != nil {
		t.Fatalf("AppendBatch: %v", err)
	}
	if len(rs) != 2 || rs[1].Seq != rs[0].Seq+1 || rs[0].Secret != "API_TOKEN" || rs[1].Secret != "LD_PRELOAD" || rs[0].Actor.UID != os.Geteuid() {
		t.Errorf("AppendBatch wrote %+v: want both, in order, with the peer as actor", rs)
	}
	if lr := lastRecord(t, st, auditPath); lr.Seq != rs[1].Seq || lr.Secret != "LD_PRELOAD" {
		t.Errorf("last record %+v, want the batch's last", lr)
	}
	if _, err := c.AppendBatch(nil); err == nil {
		t.Error("an empty batch was accepted")
	}
	if _, err := c.AppendBatch([]audit.Record{batch[0], {Event: "exploded", Via: audit.ViaCLI, Result: audit.ResultOK}}); !errors.Is(err, audit.ErrInvalidRecord) {
		t.Errorf("AppendBatch with an invalid record: %v", err)
	}

	sec, err := c.Use("API_TOKEN", audit.ViaExec, &audit.Process{PID: 77, Argv: []string{"node", "app.js"}}, &audit.Context{File: "app.js", Line: 3})
	if err != nil || string(sec.Value.Bytes()) != "tok-new-value-99" {
		t.Fatalf("Use: %v", err)
	}
	if lr := lastRecord(t, st, auditPath); lr.Event != audit.EventUsed || lr.Secret != "API_TOKEN" || lr.Via != audit.ViaExec ||
		lr.Context == nil || lr.Context.File != "app.js" || lr.Process == nil || lr.Process.PID != 77 {
		t.Errorf("use record %+v", lr)
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
	if _, err := c.Get("API_TOKEN"); !errors.Is(err, store.ErrLocked) {
		t.Errorf("Get while locked: %v", err)
	}
	if _, err := c.Use("API_TOKEN", audit.ViaExec, nil, nil); !errors.Is(err, store.ErrLocked) {
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
	sec, err := c.Use("API_TOKEN", audit.ViaExec, nil, nil)
	if !errors.Is(err, audit.ErrUnavailable) || sec.Value.Len() != 0 {
		t.Fatalf("Use with the log unwritable: %v (value of %d bytes)", err, sec.Value.Len())
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".saved", path); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Use("API_TOKEN", audit.ViaExec, nil, nil); err != nil {
		t.Fatalf("Use once the log is back: %v", err)
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
	if _, err := c.Update("NEW_KEY", func(s *store.Secret) error { s.Value = next.Value; return nil }); err != nil {
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

// SECURITY.md 58 (the start of it): only the owner's uid and root have a
// role; every request is checked.
func TestAuthorize(t *testing.T) {
	d := &Daemon{owner: 1000}
	for _, tt := range []struct {
		uid int
		ok  bool
	}{{1000, true}, {0, true}, {1001, false}, {65534, false}, {-1, false}} {
		for perm := PermStatus; perm <= PermAdmin; perm++ {
			err := d.authorize(sshagent.Peer{UID: tt.uid, PID: 1}, perm)
			if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrDenied)) {
				t.Errorf("uid %d perm %d: %v", tt.uid, perm, err)
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
	huge := append([]byte(`{"secret":{"meta":{"name":"BIG","type":"file"},"values":{"Value":"`), bytes.Repeat([]byte("A"), MaxRequestBody)...)
	huge = append(huge, `"}}}`...)
	for name, body := range map[string][]byte{
		"oversized":     huge,
		"not json":      []byte("{nope"),
		"trailing data": []byte(`{"secret":{"meta":{"name":"A_TOKEN","type":"token"},"values":{"Value":"eHl6d3ZiMTIz"}}} {}`),
		"unknown value": []byte(`{"secret":{"meta":{"name":"A_TOKEN","type":"token"},"values":{"Secret":"eHl6d3ZiMTIz"}}}`),
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

// Every Value field of a secret crosses the wire, under its Go name.
func TestWireSecret(t *testing.T) {
	var sec store.Secret
	sec.Name, sec.Type, sec.Version = "A_TOKEN", store.TypeToken, 7
	v := reflectValues(&sec)
	if len(v) == 0 {
		t.Fatal("no value fields found")
	}
	for i, name := range v {
		setValue(&sec, name, []byte("value-"+name+string(rune('a'+i))))
	}
	back, err := encodeSecret(sec, true).decode()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range v {
		if !getValue(back, name).Equal(getValue(sec, name)) {
			t.Errorf("field %s lost", name)
		}
	}
	if back.Name != "A_TOKEN" || back.Version != 7 {
		t.Errorf("meta lost: %+v", back.Meta)
	}
	only := encodeSecret(sec, false)
	if len(only.Values) != 1 || only.Values["Value"] == nil {
		t.Errorf("current value only: %v", only.Values)
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
	cmd := exec.Command("sh", "-c", "sleep 30", "--token="+value)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	pi := d.describe(cmd.Process.Pid)
	if pi.proc == nil || len(pi.proc.Argv) != 4 {
		t.Fatalf("process %+v", pi.proc)
	}
	for _, a := range pi.proc.Argv {
		if strings.Contains(a, value) {
			t.Fatalf("argv recorded with the value: element %q", strings.ReplaceAll(a, value, "<VALUE>"))
		}
	}
	if pi.proc.Argv[3] != "--token=***" || strings.Contains(pi.ctx.Command, value) {
		t.Errorf("argv %q, command %q", pi.proc.Argv[3], strings.ReplaceAll(pi.ctx.Command, value, "<VALUE>"))
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
	cmd := exec.Command("sh", "-c", "sleep 30", "https://x:"+value+"@example.test", "--token="+value)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	peer := sshagent.Peer{UID: os.Geteuid() + 4242, PID: cmd.Process.Pid}
	d.denied(peer, audit.ViaAgent, d.authorize(peer, PermStatus))
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
