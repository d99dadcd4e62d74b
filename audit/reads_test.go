package audit

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestReads(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(d int, ev Event, name, file string, line int) Record {
		return Record{Time: t0.AddDate(0, 0, d), Event: ev, Secret: name, Via: ViaExec, Result: ResultOK,
			Context: &Context{File: file, Line: line}}
	}
	recs := []Record{
		at(0, EventUsed, "DB", "app.js", 0),
		at(0, EventAccessed, "DB", "lib/db.js", 7),
		at(1, EventAccessed, "DB", "lib/db.js", 7),
		at(2, EventAccessed, "DB", "cli.js", 3),
		at(2, EventAccessed, "API", "node_modules/left-token", 0),
		{Time: t0, Event: EventAccessed, Secret: "API", Via: ViaExec, Result: ResultError, Detail: "unavailable: x", Context: &Context{}},
	}
	got := Reads(recs, Filter{})
	want := []Read{
		{Secret: "API", File: "node_modules/left-token", Runs: 1, First: t0.AddDate(0, 0, 2), Last: t0.AddDate(0, 0, 2)},
		{Secret: "DB", File: "lib/db.js", Line: 7, Runs: 2, First: t0, Last: t0.AddDate(0, 0, 1)},
		{Secret: "DB", File: "cli.js", Line: 3, Runs: 1, First: t0.AddDate(0, 0, 2), Last: t0.AddDate(0, 0, 2)},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Reads:\n got %+v\nwant %+v", got, want)
	}
	if got := Reads(recs, Filter{Secret: "API"}); len(got) != 1 || got[0].Secret != "API" {
		t.Errorf("Reads of API: %+v", got)
	}
}

func TestNeverRead(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	used := func(name string) Record {
		return Record{Time: t0, Event: EventUsed, Secret: name, Via: ViaExec, Result: ResultOK}
	}
	read := Record{Time: t0, Event: EventAccessed, Secret: "READ", Via: ViaExec, Result: ResultOK, Context: &Context{File: "a.py", Line: 1}}
	ninety := 90 * 24 * time.Hour
	recs := []Record{used("READ"), used("UNREAD"), read,
		{Time: t0, Event: EventUsed, Secret: "BY_GIT", Via: ViaCredential, Result: ResultOK}}
	if got := NeverRead(recs, t0.Add(ninety), ninety); !reflect.DeepEqual(got, []string{"UNREAD"}) {
		t.Errorf("after 90 days: %v, want [UNREAD]", got)
	}
	if got := NeverRead(recs, t0.Add(ninety-time.Hour), ninety); got != nil {
		t.Errorf("before 90 days: %v", got)
	}
	// No read of anything recorded: the hooks may not work here, so
	// nothing is named.
	if got := NeverRead(recs[:2], t0.Add(2*ninety), ninety); got != nil {
		t.Errorf("without any read: %v", got)
	}
}

// TestPrint: `wsx audit` shows the records, and with --accessed where
// each secret was read, from the same log.
func TestPrint(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	l := openTest(t, path)
	appendN(t, l, 2)
	read := usedRecord("SECRET_1")
	read.Event, read.Context = EventAccessed, &Context{File: "lib/db.js", Line: 7}
	if _, err := l.Append(read); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := Print(&b, path, Filter{Secret: "SECRET_0"}, false, false); err != nil || !strings.Contains(b.String(), "Secret used: SECRET_0") || strings.Contains(b.String(), "SECRET_1") {
		t.Errorf("records: %v\n%s", err, b.String())
	}
	b.Reset()
	if err := Print(&b, path, Filter{}, false, true); err != nil || !strings.Contains(b.String(), "lib/db.js:7") || strings.Contains(b.String(), "SECRET_0") {
		t.Errorf("reads: %v\n%s", err, b.String())
	}
	b.Reset()
	if err := Print(&b, filepath.Join(t.TempDir(), "none.log"), Filter{}, true, true); err != nil || strings.TrimSpace(b.String()) != "[]" && strings.TrimSpace(b.String()) != "null" {
		t.Errorf("no log, JSON reads: %v %q", err, b.String())
	}
}
