package proxy

import (
	"crypto/rand"
	"encoding/base32"
	"strings"
)

// PlaceholderPrefix starts every placeholder: no real token starts so.
const PlaceholderPrefix = "wsx_placeholder_"

// Bounds on a placeholder's length: at least 20 random characters after
// the prefix (100 bits), at most the longest value a header carries well.
const (
	minPlaceholder = len(PlaceholderPrefix) + 20
	maxPlaceholder = 256
)

var lowerBase32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewPlaceholder returns a fresh placeholder for a value of n bytes: as
// long as the value (between minPlaceholder and maxPlaceholder), the
// prefix then lower-case letters and digits, which no encoding a request
// can need changes.
func NewPlaceholder(n int) string {
	n = min(max(n, minPlaceholder), maxPlaceholder)
	raw := make([]byte, n) // more than enough random bits
	rand.Read(raw)
	s := PlaceholderPrefix + lowerBase32.EncodeToString(raw)
	return s[:n]
}

// IsPlaceholder says whether s has the shape of a placeholder.
func IsPlaceholder(s string) bool {
	rest, ok := strings.CutPrefix(s, PlaceholderPrefix)
	if !ok || len(s) < minPlaceholder || len(s) > maxPlaceholder {
		return false
	}
	for _, c := range rest {
		if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}
