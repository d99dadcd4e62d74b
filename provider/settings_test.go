package provider

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"
)

// TestStringReader: defaults for unset keys, and after a wrong key every
// later Get is empty and Err names the first wrong key.
func TestStringReader(t *testing.T) {
	r := Settings{"a": "x", "b": 3, "c": "y"}.Strings("t")
	if got := r.Get("a", "d"); got != "x" || r.Err != nil {
		t.Fatalf("a: %q, %v", got, r.Err)
	}
	if got := r.Get("unset", "d"); got != "d" || r.Err != nil {
		t.Fatalf("unset: %q, %v", got, r.Err)
	}
	if got := r.Get("b", "d"); got != "" || r.Err == nil || !strings.Contains(r.Err.Error(), "b must be a string") {
		t.Fatalf("b: %q, %v", got, r.Err)
	}
	if got := r.Get("c", "d"); got != "" || !strings.Contains(r.Err.Error(), "[provider.t]: b ") {
		t.Fatalf("after b: %q, %v", got, r.Err)
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

// TestNetError: timeouts name the setting, refused connections their
// cause, both are ErrUnavailable; other errors are not its business.
func TestNetError(t *testing.T) {
	var _ net.Error = timeoutErr{}
	for _, c := range []struct {
		err  error
		want string // "" for nil
	}{
		{context.DeadlineExceeded, "DB: no answer within the timeout (5s; the timeout setting)"},
		{&net.OpError{Op: "dial", Err: timeoutErr{}}, "no answer within the timeout"},
		{&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}, "DB: " + ErrUnavailable.Error() + " (connection refused)"},
		{errors.New("403 forbidden"), ""},
	} {
		got := NetError("DB", 5*time.Second, c.err)
		switch {
		case c.want == "" && got != nil:
			t.Errorf("%v: got %v, want nil", c.err, got)
		case c.want != "" && (got == nil || !strings.Contains(got.Error(), c.want) || !errors.Is(got, ErrUnavailable)):
			t.Errorf("%v: got %v, want %q wrapping ErrUnavailable", c.err, got, c.want)
		}
	}
}
