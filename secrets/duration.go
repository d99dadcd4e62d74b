package secrets

import (
	"time"

	"github.com/wsxdev/wsx/internal/hint"
	"github.com/wsxdev/wsx/internal/remind"
	"github.com/wsxdev/wsx/store"
)

const day = store.Day

// ParseRotateEvery reads a rotation period: a Go duration, a number of days
// ("90d") or weeks ("2w"), or "never" (0).
func ParseRotateEvery(s string) (time.Duration, error) {
	if s == "never" || s == "0" {
		return 0, nil
	}
	d, err := store.ParseDays(s)
	if err != nil || d <= 0 {
		return 0, hint.Usagef("invalid --rotate-every %q: use a period such as 90d, 12w or 720h, or never", s)
	}
	return d, nil
}

// ParseExpires reads --expires: a date (the value works through that day,
// local time), an RFC 3339 time, a period from now ("30d"), or "never"
// (the zero time).
func ParseExpires(s string, now time.Time) (time.Time, error) {
	if s == "never" {
		return time.Time{}, nil
	}
	if d, err := store.ParseDays(s); err == nil && d > 0 {
		return now.Add(d).UTC().Truncate(time.Second), nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, time.Local); err == nil {
		return t.AddDate(0, 0, 1).UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, hint.Usagef("invalid --expires %q: use a date such as 2026-12-31, an RFC 3339 time, a period such as 30d, or never", s)
}

// ParseSince reads --since: a duration back from now ("24h", "7d") or a
// date ("2026-11-01", RFC 3339).
func ParseSince(s string, now time.Time) (time.Time, error) {
	if d, err := store.ParseDays(s); err == nil {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, hint.Usagef("invalid --since %q: use a duration such as 24h or 7d, or a date such as 2026-11-01", s)
}

// FormatPeriod prints a duration in days when it is a whole number of them.
func FormatPeriod(d time.Duration) string { return remind.FormatPeriod(d) }

// FormatAge prints how long ago t was, coarsely: 5m, 3h, 12d.
func FormatAge(d time.Duration) string { return remind.FormatAge(d) }

// DescribeRotation is the rotation column of list and info.
func DescribeRotation(m store.Meta, now time.Time) string {
	due, ok := m.RotationDue()
	switch {
	case !ok:
		return "-"
	case now.After(due):
		return "OVERDUE " + FormatAge(now.Sub(due))
	}
	return "due in " + FormatAge(due.Sub(now))
}
