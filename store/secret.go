package store

import (
	"errors"
	"time"
)

// Type is the kind of a secret. It decides how the value is validated and
// where it may be released.
type Type string

// The secret types.
const (
	TypeToken    Type = "token"    // API tokens; exec env, credential helper
	TypePassword Type = "password" // passwords; exec env, credential helper
	TypeKey      Type = "key"      // SSH private keys (served by the agent) or raw key material
	TypeFile     Type = "file"     // any bytes up to MaxFileSize; exec as a memory-backed file
)

// Types lists the valid types in display order.
var Types = []Type{TypeToken, TypePassword, TypeKey, TypeFile}

// Limits on names and values.
const (
	MaxNameLen   = 128
	MaxFileSize  = 1 << 20 // 1 MiB: the largest value of any type
	MaxDescLen   = 1024
	MaxHostCount = 64
)

// Meta is everything about a secret except its value. It is safe to print.
type Meta struct {
	Name        string        `json:"name"`
	Type        Type          `json:"type"`
	Description string        `json:"description,omitempty"`
	Hosts       []string      `json:"hosts,omitempty"`
	Username    string        `json:"username,omitempty"`
	Created     time.Time     `json:"created"`
	Updated     time.Time     `json:"updated"`
	Rotated     time.Time     `json:"rotated,omitempty"`
	RotateEvery time.Duration `json:"rotate_every,omitempty"` // 0: none
	// Expires is when the current value stops working at its service, as
	// the user (`--expires`) or git (password_expiry_utc) said; zero when
	// not known. Unlike the rotation due date, which is advice, it is a
	// fact the credential helper passes on to git.
	Expires time.Time `json:"expires,omitzero"`
	Version uint64    `json:"version"`

	// SSH holds the public facts of a parsed SSH private key; nil for
	// other types and for raw key material.
	SSH *SSHKey `json:"ssh,omitempty"`

	// Previous describes the value kept from before the last rotation,
	// until the rotation is finished or undone; nil when none is kept.
	// The value itself is Secret.PreviousValue, sealed in the same item.
	Previous *PreviousMeta `json:"previous,omitempty"`
}

// PreviousMeta is what is known about the value a rotation replaced: the
// current value's facts as they were before it, so that undoing the
// rotation restores them exactly.
type PreviousMeta struct {
	Version uint64    `json:"version"`          // the version that held the value
	Type    Type      `json:"type"`             // its type
	Rotated time.Time `json:"rotated,omitzero"` // its Rotated; zero when it was the first value
	Expires time.Time `json:"expires,omitzero"` // its Expires
	SSH     *SSHKey   `json:"ssh,omitempty"`    // its SSH facts
}

// SSHKey describes the public half of an SSH private key stored as a
// TypeKey secret. The agent serves exactly the secrets where it is set.
type SSHKey struct {
	Algorithm   string `json:"algorithm"`   // e.g. ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp256
	Fingerprint string `json:"fingerprint"` // SHA256:...
	PublicKey   string `json:"public_key"`  // authorized_keys form, without comment
	Bits        int    `json:"bits,omitempty"`
}

// LastSet is when m's current value was stored: Rotated, or Created when
// it was never rotated.
func (m Meta) LastSet() time.Time {
	if !m.Rotated.IsZero() {
		return m.Rotated
	}
	return m.Created
}

// RotationDue is when m is due for rotation: LastSet plus RotateEvery. ok
// is false when m has no rotation period or no date to count from.
func (m Meta) RotationDue() (due time.Time, ok bool) {
	from := m.LastSet()
	if m.RotateEvery <= 0 || from.IsZero() {
		return time.Time{}, false
	}
	return from.Add(m.RotateEvery), true
}

// ServedByAgent reports whether an agent serving this store offers m to
// ssh: an SSH private key (SSH set). Raw key material is not served.
func (m Meta) ServedByAgent() bool { return m.Type == TypeKey && m.SSH != nil }

// Secret is a secret with its value.
type Secret struct {
	Meta
	Value Value `json:"-"`
	// PreviousValue is the value a rotation replaced, kept while
	// Meta.Previous is set. It is never released to programs; it only
	// comes back as the current value when the rotation is undone.
	PreviousValue Value `json:"-"`
}

// Errors callers branch on. Wrapped errors keep these reachable through
// errors.Is; their text never contains a value.
var (
	ErrNotFound        = errors.New("secret not found")
	ErrExists          = errors.New("secret already exists")
	ErrLocked          = errors.New("store is locked")
	ErrWrongPassphrase = errors.New("wrong passphrase")
	ErrNotInitialized  = errors.New("store not initialized")
	ErrAlreadyInit     = errors.New("store already initialized")
	ErrIntegrity       = errors.New("integrity check failed")
	// ErrHeader: store.json is damaged or forged (it also matches
	// ErrIntegrity); the items may be fine.
	ErrHeader           = errors.New("store header damaged")
	ErrInvalidName      = errors.New("invalid secret name")
	ErrInvalidValue     = errors.New("invalid secret value")
	ErrBackend          = errors.New("backend unavailable")
	ErrUnsafePermission = errors.New("unsafe permissions")
)

// More errors callers branch on.
var (
	ErrInvalidType     = errors.New("invalid secret type")
	ErrDangerousName   = errors.New("dangerous secret name")
	ErrEmptyPassphrase = errors.New("empty passphrase")
)

// errUnknownBackend: a backend name that is not one of Backends.
var errUnknownBackend = errors.New("unknown backend")
