package store

import (
	"errors"
	"testing"
	"time"
)

// SECURITY.md 62 (values the API accepts): a token or password is one
// line, through every writer of the store.
func TestOneLineValues(t *testing.T) {
	s, _ := newTestStore(t)
	for _, v := range []string{"a\nb-long", "a\rb-long", "a\x00b-long", "value\n"} {
		_, err := s.Add(Secret{Meta: Meta{Name: "API_TOKEN", Type: TypeToken}, Value: NewValue([]byte(v))})
		if !errors.Is(err, ErrInvalidValue) {
			t.Errorf("Add token %q: %v, want ErrInvalidValue", v, err)
		}
	}
	mustAdd(t, s, "API_TOKEN", TypeToken, "first-value")
	if _, err := s.Edit("API_TOKEN", Edit{Value: NewValue([]byte("x\ny-value"))}); !errors.Is(err, ErrInvalidValue) {
		t.Errorf("Edit with a line break: %v", err)
	}
	if _, err := s.Edit("API_TOKEN", Edit{Value: NewValue([]byte("x\ny-value")), Rotate: true}); !errors.Is(err, ErrInvalidValue) {
		t.Errorf("rotation to a line break: %v", err)
	}
}

func TestEdit(t *testing.T) {
	s, clock := newTestStore(t)
	mustAdd(t, s, "API_TOKEN", TypeToken, "first-value")
	desc := "the API"
	m, err := s.Edit("API_TOKEN", Edit{Description: &desc, Hosts: &[]string{"example.com"}})
	if err != nil || m.Description != desc || len(m.Hosts) != 1 || m.Version != 2 {
		t.Fatalf("Edit meta: %+v, %v", m, err)
	}
	if _, err := s.Edit("API_TOKEN", Edit{Type: TypePassword}); !errors.Is(err, ErrInvalidValue) {
		t.Errorf("type change without a value: %v", err)
	}
	if _, err := s.Edit("API_TOKEN", Edit{Value: NewValue([]byte("first-value")), Rotate: true}); !errors.Is(err, ErrInvalidValue) {
		t.Errorf("rotation to the same value: %v", err)
	}
	m, err = s.Edit("API_TOKEN", Edit{Value: NewValue([]byte("second-value")), Rotate: true})
	if err != nil || m.Previous == nil || m.Previous.Version != 2 {
		t.Fatalf("rotation: %+v, %v", m, err)
	}
	for v, want := range map[string]Match{"second-value": MatchCurrent, "first-value": MatchPrevious, "other-value": MatchNone} {
		if got, err := s.Compare("API_TOKEN", NewValue([]byte(v))); err != nil || got != want {
			t.Errorf("Compare: %v, %v; want %v", got, err, want)
		}
	}
	if m, err = s.Edit("API_TOKEN", Edit{Undo: true}); err != nil || m.Previous != nil {
		t.Fatalf("undo: %+v, %v", m, err)
	}
	if got, _ := s.Compare("API_TOKEN", NewValue([]byte("first-value"))); got != MatchCurrent {
		t.Errorf("after undo the first value is %v", got)
	}
	expiry := clock.now().Add(48 * time.Hour)
	user := "bob"
	if _, err := s.Edit("API_TOKEN", Edit{Value: NewValue([]byte("third-value")), Username: &user, Expires: &expiry, KeepSame: true}); err != nil {
		t.Fatal(err)
	}
	_, err = s.Edit("API_TOKEN", Edit{Value: NewValue([]byte("third-value")), Username: &user, Expires: &expiry, KeepSame: true})
	if !errors.Is(err, ErrUnchanged) {
		t.Errorf("the same credential again: %v, want ErrUnchanged", err)
	}
}
