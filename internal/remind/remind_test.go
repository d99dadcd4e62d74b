package remind

import (
	"encoding/json"
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
