package release

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/wsxdev/wsx/audit"
	"github.com/wsxdev/wsx/store"
)

const (
	current  = "current-value-0123456789"
	previous = "previous-value-0123456789"
	other    = "other-value-0123456789"
)

// newStore returns an unlocked store holding API_TOKEN (rotated: current
// and previous values) and OTHER_TOKEN, and a Store over it.
func newStore(t *testing.T, durable bool) (*store.Store, *Store, string) {
	t.Helper()
	home := filepath.Join(t.TempDir(), "wsx")
	st, err := store.Init(home, store.InitOptions{Passphrase: []byte("test passphrase"),
		KDF: store.KDFParams{Time: 1, MemoryKiB: store.MinKDFMemoryKiB, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]string{"API_TOKEN": previous, "OTHER_TOKEN": other} {
		if _, err := st.Add(store.Secret{Meta: store.Meta{Name: name, Type: store.TypeToken}, Value: store.NewValue([]byte(v))}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.Edit("API_TOKEN", store.Edit{Value: store.NewValue([]byte(current)), Rotate: true}); err != nil {
		t.Fatal(err)
	}
	key, err := st.AuditKey()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(home, "audit.log")
	log, err := audit.Open(path, key)
	if err != nil {
		t.Fatal(err)
	}
	rel := New(st, log, Options{Self: Peer{PID: os.Getpid(), Actor: audit.Actor{UID: os.Geteuid()}}, Durable: durable})
	t.Cleanup(func() { rel.Close() })
	return st, rel, path
}

func readLog(t *testing.T, st *store.Store, path string) ([]audit.Record, []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := st.AuditKey()
	if res, err := audit.Verify(bytes.NewReader(b), key); err != nil || !res.OK {
		t.Fatalf("verify: %+v, %v", res, err)
	}
	recs, err := audit.ReadRecords(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return recs, b
}

// SECURITY.md 62: the use is on record before the value is returned, and
// only the current value leaves; a pending rotation's previous one never.
func TestUseRecordsThenReleases(t *testing.T) {
	st, rel, path := newStore(t, true)
	secs, err := rel.Use(context.Background(), []string{"API_TOKEN", "OTHER_TOKEN"}, Record{Via: audit.ViaExec,
		Context: audit.Context{Command: "node app.js"}, Places: map[string]Place{"API_TOKEN": {File: "app.js", Line: 7}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(secs) != 2 || string(secs[0].Value.Bytes()) != current || !secs[0].PreviousValue.IsZero() || secs[1].Name != "OTHER_TOKEN" {
		t.Fatalf("released %d secrets; the first with its previous value: %v", len(secs), !secs[0].PreviousValue.IsZero())
	}
	recs, _ := readLog(t, st, path)
	if len(recs) != 2 {
		t.Fatalf("%d records, want one per secret", len(recs))
	}
	r := recs[0]
	if r.Event != audit.EventUsed || r.Secret != "API_TOKEN" || r.Process == nil || r.Process.PID != os.Getpid() ||
		r.Context == nil || r.Context.File != "app.js" || r.Context.Line != 7 || r.Context.Claimed != nil {
		t.Errorf("record %+v", r)
	}
	if _, err := rel.Use(context.Background(), []string{"API_TOKEN", "API_TOKEN"}, Record{Via: audit.ViaExec}); err == nil {
		t.Error("a name given twice was accepted")
	}
	if _, err := rel.Use(context.Background(), []string{"NOPE"}, Record{Via: audit.ViaExec}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing secret: %v", err)
	}
	if recs, _ := readLog(t, st, path); len(recs) != 2 {
		t.Errorf("refused uses were recorded: %d records", len(recs))
	}
}

// SECURITY.md 53 and 62: no value when the record cannot be written.
func TestUseFailsClosed(t *testing.T) {
	_, rel, _ := newStore(t, true)
	rel.log.Close()
	secs, err := rel.Use(context.Background(), []string{"API_TOKEN"}, Record{Via: audit.ViaExec})
	if !errors.Is(err, audit.ErrUnavailable) || secs != nil {
		t.Fatalf("Use with the log closed: %v, %d secrets", err, len(secs))
	}
}

// SECURITY.md 61: every stored value, current and previous, of any
// secret, is masked in every caller-chosen field of every record: uses,
// other events, and the daemon's own records.
func TestEveryRecordMasked(t *testing.T) {
	st, rel, path := newStore(t, false)
	if _, err := st.Add(store.Secret{Meta: store.Meta{Name: "THIRD_TOKEN", Type: store.TypeToken}, Value: store.NewValue([]byte("third-value-0123456789"))}); err != nil {
		t.Fatal(err)
	}
	// Three records of one use: two share their context, one has its
	// own place.
	_, err := rel.Use(context.Background(), []string{"OTHER_TOKEN", "API_TOKEN", "THIRD_TOKEN"}, Record{Via: audit.ViaExec,
		Context: audit.Context{Command: "curl -H 'Authorization: Bearer " + current + "'", Host: previous},
		Places:  map[string]Place{"API_TOKEN": {File: "run-" + other + ".sh", Line: 3}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := rel.Record(audit.Record{Event: audit.EventDenied, Secret: "API_TOKEN", Via: audit.ViaCLI, Result: audit.ResultDenied,
		Detail: "host rejected " + previous, Context: &audit.Context{Path: "x/" + current}}); err != nil {
		t.Fatal(err)
	}
	if _, err := rel.Append(audit.Record{Event: audit.EventLocked, Via: audit.ViaAgent, Result: audit.ResultOK, Detail: other,
		Process: &audit.Process{PID: 1, Argv: []string{"ssh", "--token=" + other + "\n"}}}); err != nil {
		t.Fatal(err)
	}
	// A value added after the first record is masked too.
	if _, err := st.Add(store.Secret{Meta: store.Meta{Name: "NEW_TOKEN", Type: store.TypeToken}, Value: store.NewValue([]byte("new-value-0123456789"))}); err != nil {
		t.Fatal(err)
	}
	rel.Changed()
	if err := rel.Record(audit.Record{Event: audit.EventCreated, Secret: "NEW_TOKEN", Via: audit.ViaCLI, Result: audit.ResultOK,
		Detail: "new-value-0123456789"}); err != nil {
		t.Fatal(err)
	}
	recs, b := readLog(t, st, path)
	for _, v := range []string{current, previous, other, "new-value-0123456789", "third-value-0123456789"} {
		if bytes.Contains(b, []byte(v)) {
			t.Errorf("the log holds a stored value (%.8s...)", v)
		}
	}
	if len(recs) != 6 || recs[3].Detail != "host rejected ***" || recs[4].Process.Argv[1] != "--token=***\n" {
		t.Fatalf("records not masked as expected: %d records", len(recs))
	}
	for i, r := range recs[:3] {
		if r.Context.Host != "***" || r.Context.Command != "curl -H 'Authorization: Bearer ***'" || (r.Secret == "API_TOKEN") != (r.Context.File == "run-***.sh") {
			t.Errorf("record %d of the use: %s, context %+v", i, r.Secret, r.Context)
		}
	}
}

// SECURITY.md 64: records of a remote peer carry the peer's process facts,
// never the client's, and the client's context is marked as claimed; a use
// cannot be recorded without the use.
func TestRecordByTakesPeerFacts(t *testing.T) {
	st, rel, path := newStore(t, false)
	peer := Peer{PID: os.Getpid(), Actor: audit.Actor{UID: os.Geteuid()}, Remote: true}
	err := rel.RecordBy(peer, []audit.Record{{Event: audit.EventCreated, Secret: "API_TOKEN", Via: audit.ViaCLI, Result: audit.ResultOK,
		Actor: audit.Actor{UID: 4242}, Process: &audit.Process{PID: 1, Exe: "/liar", Argv: []string{"liar"}},
		Context: &audit.Context{File: "forged.sh", Line: 9}}})
	if err != nil {
		t.Fatal(err)
	}
	recs, _ := readLog(t, st, path)
	r := recs[len(recs)-1]
	self, _ := audit.ProcessInfo(os.Getpid())
	if r.Actor.UID != os.Geteuid() || r.Process == nil || r.Process.PID != os.Getpid() || r.Process.Exe != self.Exe ||
		!slices.Equal(r.Context.Claimed, []string{"file", "line"}) {
		t.Errorf("record %+v: want the peer's facts and a claimed context", r)
	}
	for _, ev := range []audit.Event{audit.EventUsed, audit.EventUnlocked, audit.EventLocked} {
		if err := rel.RecordBy(peer, []audit.Record{{Event: ev, Secret: "API_TOKEN", Via: audit.ViaExec, Result: audit.ResultOK}}); !errors.Is(err, audit.ErrInvalidRecord) {
			t.Errorf("a client's %s record: %v", ev, err)
		}
	}
	secs, err := rel.UseBy(peer, []string{"API_TOKEN"}, Record{Via: audit.ViaExec, Context: audit.Context{Command: "node app.js"}})
	if err != nil || len(secs) != 1 {
		t.Fatal(err)
	}
	recs, _ = readLog(t, st, path)
	if c := recs[len(recs)-1].Context; c == nil || !slices.Equal(c.Claimed, []string{"command"}) {
		t.Errorf("use context %+v: want the command claimed", c)
	}
}

// The MAC key is used by Verify and never returned (SECURITY.md 63 in
// part: the daemon's API answers with Verify's result).
func TestVerify(t *testing.T) {
	st, rel, path := newStore(t, true)
	if _, err := rel.Use(context.Background(), []string{"API_TOKEN"}, Record{Via: audit.ViaExec}); err != nil {
		t.Fatal(err)
	}
	res, err := Verify(st, path)
	if err != nil || !res.OK || res.Records != 1 {
		t.Fatalf("Verify = %+v, %v", res, err)
	}
	b, _ := os.ReadFile(path)
	b[len(b)-10] ^= 1
	os.WriteFile(path, b, 0o600)
	if res, err := Verify(st, path); err != nil || res.OK {
		t.Errorf("Verify of a changed log = %+v, %v", res, err)
	}
	if res, err := Verify(st, path+".none"); err != nil || !res.OK || res.Records != 0 {
		t.Errorf("Verify of no log = %+v, %v", res, err)
	}
}

// SECURITY.md 65: wrong passphrases are noted while the log cannot be
// written, and the next unlock records them as one `denied` record.
func TestFailedUnlocksOneRecordPerBurst(t *testing.T) {
	st, rel, path := newStore(t, true)
	if FailedUnlocksNoted(path) {
		t.Fatal("failures noted in a new store")
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := range 3 {
		if err := NoteFailedUnlock(path, audit.ViaCLI, 4000+i, now.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	if !FailedUnlocksNoted(path) {
		t.Fatal("failures not noted")
	}
	if err := rel.RecordFailedUnlocks(); err != nil {
		t.Fatal(err)
	}
	if err := rel.RecordFailedUnlocks(); err != nil {
		t.Fatal(err)
	}
	recs, _ := readLog(t, st, path)
	if len(recs) != 1 {
		t.Fatalf("%d records, want one for the burst", len(recs))
	}
	r := recs[0]
	if r.Event != audit.EventDenied || r.Via != audit.ViaCLI || r.Process == nil || r.Process.PID != 4002 ||
		r.Detail != "3 wrong passphrase(s) from 2026-01-02T03:04:05Z to 2026-01-02T03:04:07Z" {
		t.Errorf("record %+v", r)
	}
	if FailedUnlocksNoted(path) {
		t.Error("the noted failures were kept after their record")
	}
}
