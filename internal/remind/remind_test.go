package remind

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wsxdev/wsx/store"
)

// An agent that sends store.Meta (older ones do) is understood, and what
// a reminder needs of a Meta is all a Secret holds.
func TestSecretDecodesMeta(t *testing.T) {
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	m := store.Meta{Name: "T", Type: store.TypeToken, Created: created, Rotated: created.Add(time.Hour),
		RotateEvery: 90 * day, Hosts: []string{"example.test"}}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var s Secret
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	due, ok := s.due()
	wantDue, wantOK := m.RotationDue()
	if s.Name != "T" || due != wantDue || ok != wantOK {
		t.Errorf("decoded %+v, due %v %v; want %v %v", s, due, ok, wantDue, wantOK)
	}
	if _, ok := (Secret{Name: "F", Created: created}).due(); ok {
		t.Error("a secret without a rotation period is due")
	}
}

// Overdue secrets are reminded once a day each, in a private state file
// that a damaged, loose or linked one does not defeat.
func TestRemindOverdue(t *testing.T) {
	home := t.TempDir()
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	var errb bytes.Buffer
	r := Reminder{Home: home, UID: os.Getuid(), Stderr: &errb, Now: func() time.Time { return now }}
	created := now.Add(-100 * day)
	metas := []Secret{
		{Name: "OLD_TOKEN", Created: created, RotateEvery: 90 * day},
		{Name: "FRESH_TOKEN", Created: created, Rotated: now.Add(-day), RotateEvery: 90 * day},
		{Name: "NEVER_FILE", Created: created},
	}
	remind := func() string {
		errb.Reset()
		r.Remind(metas)
		return errb.String()
	}
	got := remind()
	if strings.Count(got, "\n") != 1 || !strings.Contains(got, "OLD_TOKEN was due for rotation 10d ago (every 90d)") ||
		!strings.Contains(got, "wsx rotate OLD_TOKEN") {
		t.Fatalf("first reminder: %q", got)
	}
	path := filepath.Join(home, File)
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("reminders file: %v %v", fi, err)
	}
	now = now.Add(23 * time.Hour)
	if got := remind(); got != "" {
		t.Errorf("second reminder within a day: %q", got)
	}
	now = now.Add(2 * time.Hour)
	if got := remind(); !strings.Contains(got, "OLD_TOKEN was due for rotation 11d ago") {
		t.Errorf("reminder after a day: %q", got)
	}
	// Another overdue secret is reminded on its own schedule.
	metas = append(metas, Secret{Name: "OTHER_TOKEN", Created: created, RotateEvery: 30 * day})
	if got := remind(); strings.Contains(got, "OLD_TOKEN") || !strings.Contains(got, "OTHER_TOKEN") {
		t.Errorf("new overdue secret: %q", got)
	}
	b, _ := os.ReadFile(path)
	var state map[string]time.Time
	if err := json.Unmarshal(b, &state); err != nil || len(state) != 2 {
		t.Errorf("reminders state %s: %v", b, err)
	}

	// A damaged, foreign-mode or symlinked state file counts as empty, and
	// is replaced rather than written through.
	for what, prep := range map[string]func(){
		"garbage": func() { os.WriteFile(path, []byte("{not json"), 0o600) },
		"mode":    func() { os.WriteFile(path, b, 0o600); os.Chmod(path, 0o644) },
		"symlink": func() {
			os.Remove(path)
			target := filepath.Join(home, "target")
			os.WriteFile(target, b, 0o600)
			os.Symlink(target, path)
		},
	} {
		prep()
		if got := remind(); !strings.Contains(got, "OLD_TOKEN") {
			t.Errorf("%s state file: no reminder: %q", what, got)
		}
		if fi, err := os.Lstat(path); err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s state file not replaced by a private file: %v", what, fi.Mode())
		}
	}
	if tb, _ := os.ReadFile(filepath.Join(home, "target")); !bytes.Equal(tb, b) {
		t.Error("the symlink's target was written")
	}
}
