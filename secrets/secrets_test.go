package secrets

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wsxdev/wsx/internal/hint"
	"github.com/wsxdev/wsx/store"
)

func isUsage(err error) bool {
	var u hint.Usage
	return errors.As(err, &u)
}

func TestParseRotateEvery(t *testing.T) {
	good := map[string]time.Duration{"90d": 90 * day, "2w": 14 * day, "720h": 720 * time.Hour, "never": 0}
	for in, want := range good {
		got, err := ParseRotateEvery(in)
		if err != nil || got != want {
			t.Errorf("ParseRotateEvery(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1d", "soon", "1.5d", "d"} {
		if _, err := ParseRotateEvery(in); !isUsage(err) {
			t.Errorf("ParseRotateEvery(%q): err %v, want a usage error", in, err)
		}
	}
}

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	got, err := ParseSince("24h", now)
	if err != nil || !got.Equal(now.Add(-24*time.Hour)) {
		t.Errorf("24h: %v %v", got, err)
	}
	got, err = ParseSince("7d", now)
	if err != nil || !got.Equal(now.Add(-7*day)) {
		t.Errorf("7d: %v %v", got, err)
	}
	got, err = ParseSince("2026-11-01T00:00:00Z", now)
	if err != nil || !got.Equal(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("RFC 3339: %v %v", got, err)
	}
	if _, err := ParseSince("last tuesday", now); !isUsage(err) {
		t.Errorf("bad --since: %v", err)
	}
}

func TestCloseNames(t *testing.T) {
	names := []string{"GITHUB_TOKEN", "GITLAB_TOKEN", "NPM_TOKEN", "DATABASE_URL"}
	if got := CloseNames("github_token", names); len(got) == 0 || got[0] != "GITHUB_TOKEN" {
		t.Errorf("case mismatch: %v", got)
	}
	if got := CloseNames("GITHUB_TOKN", names); len(got) == 0 || got[0] != "GITHUB_TOKEN" {
		t.Errorf("typo: %v", got)
	}
	if got := CloseNames("AWS_SECRET", names); len(got) != 0 {
		t.Errorf("unrelated name matched %v", got)
	}
}

func TestDescribeRotation(t *testing.T) {
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m := store.Meta{Name: "API_TOKEN", Created: created, RotateEvery: 90 * day}
	tests := []struct {
		now  time.Time
		want string
		left int
	}{
		{created.Add(78 * day), "due in 12d", 12},
		{created.Add(90*day - time.Hour), "due in 1h", 0},
		{created.Add(95*day + 3*time.Hour), "OVERDUE 5d", -5},
	}
	for _, tt := range tests {
		if got := DescribeRotation(m, tt.now); got != tt.want {
			t.Errorf("DescribeRotation at +%v = %q, want %q", tt.now.Sub(created), got, tt.want)
		}
		r := RotationAt(m, tt.now)
		if r.DaysLeft != tt.left || r.Overdue != strings.HasPrefix(tt.want, "OVERDUE") {
			t.Errorf("RotationAt at +%v = %+v, want %d days left", tt.now.Sub(created), r, tt.left)
		}
	}
	// A rotation resets the count; "never" has no due date.
	m.Rotated = created.Add(80 * day)
	if got := DescribeRotation(m, created.Add(95*day)); got != "due in 75d" {
		t.Errorf("after a rotation: %q", got)
	}
	m.Previous = &store.PreviousMeta{Version: 1, Type: store.TypeToken}
	if got := RotationState(m, created.Add(95*day)); got != "due in 75d, old value kept" {
		t.Errorf("rotation pending: %q", got)
	}
	if got := DescribeRotation(store.Meta{Created: created}, created.Add(1000*day)); got != "-" {
		t.Errorf("no rotation period: %q", got)
	}
}

func TestParseExpires(t *testing.T) {
	now := time.Date(2026, 6, 1, 10, 30, 0, 0, time.UTC)
	endOfDay := time.Date(2026, 12, 31, 0, 0, 0, 0, time.Local).AddDate(0, 0, 1).UTC()
	for _, tc := range []struct {
		in   string
		want time.Time
	}{
		{"never", time.Time{}},
		{"30d", now.Add(30 * day)},
		{"2w", now.Add(14 * day)},
		{"12h", now.Add(12 * time.Hour)},
		{"2026-12-31", endOfDay},
		{"2026-12-31T12:00:00+02:00", time.Date(2026, 12, 31, 10, 0, 0, 0, time.UTC)},
	} {
		got, err := ParseExpires(tc.in, now)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("ParseExpires(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "soon", "0", "-3d", "2026-13-01", "31.12.2026"} {
		if _, err := ParseExpires(bad, now); !isUsage(err) {
			t.Errorf("ParseExpires(%q): error %v, want a usage error", bad, err)
		}
	}
}
