package store

import (
	"errors"
	"fmt"
	"time"
)

// Errors of the rotation steps.
var (
	// ErrRotationPending: a rotation was started and neither finished nor
	// undone, so the value before it is still kept.
	ErrRotationPending = errors.New("a rotation is in progress")
	// ErrNoPrevious: there is no kept previous value to undo or finish.
	ErrNoPrevious = errors.New("no previous value is kept")
)

// Rotation happens in the safe order: BeginRotation stores the new value and
// keeps the current one as the previous value, so the old credential still
// exists while the new one is tried; UndoRotation brings the previous value
// back; FinishRotation deletes it once the new value works. The previous
// value lives in the same sealed item as the current one and is never
// released to programs.

// BeginRotation makes v the value of sec and keeps the current value, with
// its version, type, rotation time, expiry and SSH facts, as the previous
// one; the new value's expiry is not known (Expires becomes zero). It
// fails with ErrRotationPending when a previous value is already kept (the
// last rotation was neither finished nor undone) and with ErrInvalidValue
// when v equals the current value. Store.Update stamps Rotated.
func (sec *Secret) BeginRotation(v Value) error {
	if sec.Previous != nil {
		return fmt.Errorf("secret %s: the value of version %d is still kept from the last rotation: %w", sec.Name, sec.Previous.Version, ErrRotationPending)
	}
	if v.Equal(sec.Value) {
		return fmt.Errorf("secret %s: the new value is the same as the current one: %w", sec.Name, ErrInvalidValue)
	}
	sec.Previous = &PreviousMeta{Version: sec.Version, Type: sec.Type, Rotated: sec.Rotated, Expires: sec.Expires, SSH: sec.SSH}
	sec.PreviousValue = sec.Value
	sec.Value = v
	sec.Expires = time.Time{}
	return nil
}

// UndoRotation makes the previous value current again, with the type,
// rotation time, expiry and SSH facts it had, and forgets the value the rotation
// brought. It fails with ErrNoPrevious when no previous value is kept.
func (sec *Secret) UndoRotation() error {
	p := sec.Previous
	if p == nil {
		return fmt.Errorf("secret %s: %w", sec.Name, ErrNoPrevious)
	}
	sec.Type, sec.Rotated, sec.Expires, sec.SSH = p.Type, p.Rotated, p.Expires, p.SSH
	sec.Value = sec.PreviousValue
	sec.Previous, sec.PreviousValue = nil, Value{}
	return nil
}

// FinishRotation deletes the previous value. It fails with ErrNoPrevious
// when none is kept.
func (sec *Secret) FinishRotation() error {
	if sec.Previous == nil {
		return fmt.Errorf("secret %s: %w", sec.Name, ErrNoPrevious)
	}
	sec.Previous, sec.PreviousValue = nil, Value{}
	return nil
}

// Names returns the names of the secrets in the store, sorted. It works on a
// locked store: names are not secret (the file backend shows them as file
// names), so a caller can tell whether a secret exists without unlocking.
func (s *Store) Names() ([]string, error) {
	return s.names()
}
