package store

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Day is 24 hours, the unit of rotation periods.
const Day = 24 * time.Hour

// DefaultRotation is how often a secret of each type should be rotated when
// the user does not say: tokens 90 days, passwords 180, keys 365, files never.
func DefaultRotation(t Type) time.Duration {
	switch t {
	case TypeToken:
		return 90 * Day
	case TypePassword:
		return 180 * Day
	case TypeKey:
		return 365 * Day
	}
	return 0
}

// ParseDays parses a duration that may also be given in days ("90d") or
// weeks ("2w"), or as a Go duration ("720h").
func ParseDays(s string) (time.Duration, error) {
	for suffix, unit := range map[string]time.Duration{"d": Day, "w": 7 * Day} {
		if n, ok := strings.CutSuffix(s, suffix); ok {
			v, err := strconv.ParseUint(n, 10, 32)
			if err != nil {
				return 0, fmt.Errorf("bad number %q", n)
			}
			return time.Duration(v) * unit, nil
		}
	}
	return time.ParseDuration(s)
}
