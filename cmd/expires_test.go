package cmd

import (
	"testing"
	"time"
)

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
		got, err := parseExpires(tc.in, now)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("parseExpires(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "soon", "0", "-3d", "2026-13-01", "31.12.2026"} {
		if _, err := parseExpires(bad, now); exitCode(err) != ExitUsage {
			t.Errorf("parseExpires(%q): error %v, want a usage error", bad, err)
		}
	}
}
