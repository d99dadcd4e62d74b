package store

import (
	"testing"
	"time"
)

// TestExpiresFollowsTheValue: Expires survives a reopen, a rotation starts
// the new value without one, and undoing the rotation brings the old
// value's back.
func TestExpiresFollowsTheValue(t *testing.T) {
	s, clock := newTestStore(t)
	exp := clock.now().Add(30 * 24 * time.Hour).Truncate(time.Second)
	if _, err := s.Add(Secret{Meta: Meta{Name: "API_TOKEN", Type: TypeToken, Expires: exp}, Value: NewValue([]byte("first-value"))}); err != nil {
		t.Fatal(err)
	}
	got, err := reopen(t, s, testPass).Get("API_TOKEN")
	if err != nil {
		t.Fatal(err)
	}
	if !got.Expires.Equal(exp) {
		t.Fatalf("Expires after reopen = %v, want %v", got.Expires, exp)
	}
	m, err := s.Edit("API_TOKEN", Edit{Value: NewValue([]byte("second-value")), Rotate: true})
	if err != nil {
		t.Fatal(err)
	}
	if !m.Expires.IsZero() {
		t.Errorf("the rotated value kept the old one's expiry %v", m.Expires)
	}
	m, err = s.Edit("API_TOKEN", Edit{Undo: true})
	if err != nil {
		t.Fatal(err)
	}
	if !m.Expires.Equal(exp) {
		t.Errorf("Expires after undo = %v, want %v", m.Expires, exp)
	}
}

// TestEmptyPassword: a password may be empty (SSO and Kerberos logins
// use one); a token may not.
func TestEmptyPassword(t *testing.T) {
	s, _ := newTestStore(t)
	if _, err := s.Add(Secret{Meta: Meta{Name: "SSO_PASSWORD", Type: TypePassword}}); err != nil {
		t.Fatalf("Add of an empty password: %v", err)
	}
	got, err := reopen(t, s, testPass).Get("SSO_PASSWORD")
	if err != nil {
		t.Fatal(err)
	}
	if !got.Value.IsZero() {
		t.Errorf("the empty password came back as %d bytes", got.Value.Len())
	}
	_, err = s.Add(Secret{Meta: Meta{Name: "API_TOKEN", Type: TypeToken}})
	wantErr(t, "Add of an empty token", err, ErrInvalidValue, "API_TOKEN")
}
