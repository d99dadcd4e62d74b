package scan

import (
	"bytes"

	"github.com/wsxdev/wsx/internal/mask"
)

// A Value is a stored secret's value to look for.
type Value struct {
	Secret   string
	Previous bool // the value a rotation replaced
	Bytes    []byte
}

// MinValueLen is the shortest value looked for: a shorter one (a PIN, a
// word) would be found in ordinary text everywhere.
const MinValueLen = 8

// ValueMatcher is the Matcher of a set of values: the masker's automaton
// (internal/mask), the one exec masks output with, so a scan finds a value
// in every form wsx exec would hide.
type ValueMatcher struct {
	m    *mask.Masker
	vals []Value
}

// NewValueMatcher builds the matcher of values, and returns the names of
// those too short to look for. It keeps the values: drop it when done.
func NewValueMatcher(values []Value) (*ValueMatcher, []string) {
	var short []string
	v := &ValueMatcher{}
	var raw [][]byte
	for _, x := range values {
		if len(bytes.TrimSpace(x.Bytes)) < MinValueLen {
			short = append(short, x.Secret)
			continue
		}
		v.vals = append(v.vals, x)
		raw = append(raw, x.Bytes)
	}
	v.m = mask.New(raw)
	return v, short
}

// Find implements Matcher.
func (v *ValueMatcher) Find(bufs [][]byte) ([][]Match, error) {
	out := make([][]Match, len(bufs))
	for i, b := range bufs {
		for _, m := range v.m.Find(b) {
			if m.Form == mask.Line && !strongLine(b[m.Off:m.Off+m.Len]) {
				// One line of a multi-line value: a PEM key's base64
				// body is a leak, its armour or a config file's
				// "debug = true" is not.
				continue
			}
			val := v.vals[m.Value]
			out[i] = append(out[i], Match{Start: m.Off, End: m.Off + m.Len, Secret: val.Secret,
				Previous: val.Previous, Form: m.Form.String()})
		}
	}
	return out, nil
}

// strongLine reports whether a line found alone is evidence of its value:
// long, base64 alphabet only, and random.
func strongLine(b []byte) bool {
	if len(b) < 32 {
		return false
	}
	for _, c := range b {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '=' || c == '-' || c == '_') {
			return false
		}
	}
	return entropy(b) >= 4.5
}
