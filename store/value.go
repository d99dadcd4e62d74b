package store

import (
	"crypto/subtle"
	"fmt"
)

// Redacted is what a Value prints in place of its bytes.
const Redacted = "[redacted]"

// Value holds the bytes of a secret. Its String, GoString, Format and
// MarshalJSON methods print Redacted, so a Value that slips into a log line,
// an error or a JSON document does not reveal what it holds. The only way to
// the bytes is Bytes, which callers use at the point of release (exec's
// environment, the credential protocol, the agent's signer).
type Value struct {
	b []byte
}

// NewValue returns a Value holding a copy of b.
func NewValue(b []byte) Value {
	return Value{b: append([]byte(nil), b...)}
}

// Bytes returns the secret bytes. The caller must not keep or print them
// beyond the release it performs.
func (v Value) Bytes() []byte { return v.b }

// Len reports the length of the value in bytes.
func (v Value) Len() int { return len(v.b) }

// IsZero reports whether the value is empty.
func (v Value) IsZero() bool { return len(v.b) == 0 }

// Equal reports whether v and o hold the same bytes, in constant time for
// values of equal length.
func (v Value) Equal(o Value) bool {
	return subtle.ConstantTimeCompare(v.b, o.b) == 1
}

// String returns Redacted.
func (v Value) String() string { return Redacted }

// GoString returns Redacted.
func (v Value) GoString() string { return Redacted }

// Format prints Redacted for every verb.
func (v Value) Format(f fmt.State, _ rune) { fmt.Fprint(f, Redacted) }

// MarshalJSON encodes the value as the string Redacted.
func (v Value) MarshalJSON() ([]byte, error) { return []byte(`"` + Redacted + `"`), nil }

// MarshalText encodes the value as Redacted.
func (v Value) MarshalText() ([]byte, error) { return []byte(Redacted), nil }
