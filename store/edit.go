package store

import (
	"errors"
	"fmt"
	"time"
)

// ErrUnchanged: an Edit with KeepSame found nothing to change, and nothing
// was written.
var ErrUnchanged = errors.New("secret unchanged")

// Edit is a change to a secret that names what changes without reading the
// current value: what a client of the agent can ask for, applied under the
// store's write lock (Store.Edit). Nil and zero fields keep what is there.
type Edit struct {
	Type        Type
	Description *string
	Hosts       *[]string
	Username    *string
	RotateEvery *time.Duration
	// Expiry, when set, sets RotateEvery so that the secret falls due for
	// rotation then (a credential git approved with password_expiry_utc).
	Expiry time.Time
	// Value, when not zero, is the new value (validated for the type as
	// by Add; a key must parse).
	Value Value
	// Rotate makes Value the value by a rotation (Secret.BeginRotation):
	// the current value is kept until Finish or Undo.
	Rotate bool
	// Undo and Finish are the other rotation steps (Secret.UndoRotation,
	// Secret.FinishRotation); they take no Value.
	Undo, Finish bool
	// KeepSame writes nothing, and returns ErrUnchanged, when Value,
	// Username and the rotation due date (Expiry) are those the secret
	// has.
	KeepSame bool
}

// Apply makes e's change to sec, as Store.Edit does under its lock.
func (e Edit) Apply(sec *Secret) error {
	if e.KeepSame && sec.Value.Equal(e.Value) && (e.Username == nil || *e.Username == sec.Username) &&
		sameDue(sec.Meta, e.Expiry) {
		return fmt.Errorf("secret %s: %w", sec.Name, ErrUnchanged)
	}
	switch {
	case e.Undo:
		return sec.UndoRotation()
	case e.Finish:
		return sec.FinishRotation()
	}
	if e.Type != "" {
		if e.Type != sec.Type && e.Value.IsZero() {
			return fmt.Errorf("secret %s: changing the type from %s to %s needs a new value: %w", sec.Name, sec.Type, e.Type, ErrInvalidValue)
		}
		sec.Type = e.Type
	}
	if e.Description != nil {
		sec.Description = *e.Description
	}
	if e.Hosts != nil {
		sec.Hosts = append([]string(nil), (*e.Hosts)...)
	}
	if e.Username != nil {
		sec.Username = *e.Username
	}
	if e.RotateEvery != nil {
		sec.RotateEvery = *e.RotateEvery
	}
	if !e.Value.IsZero() {
		v, ssh, err := checkValue(sec.Type, e.Value, nil)
		if err != nil {
			return fmt.Errorf("secret %s: %w", sec.Name, err)
		}
		if e.Rotate {
			if err := sec.BeginRotation(v); err != nil {
				return err
			}
		} else {
			sec.Value = v
		}
		sec.SSH = ssh
	}
	if !e.Expiry.IsZero() {
		from := sec.Rotated
		if from.IsZero() {
			from = sec.Created
		}
		sec.RotateEvery = max(e.Expiry.Sub(from), time.Second)
	}
	return nil
}

// sameDue reports whether m falls due at expiry, to the second; a zero
// expiry matches a secret that never falls due.
func sameDue(m Meta, expiry time.Time) bool {
	due, ok := m.RotationDue()
	if !ok || expiry.IsZero() {
		return !ok && expiry.IsZero()
	}
	return due.Unix() == expiry.Unix()
}

// Edit applies e to the secret called name, as Update does with a
// function.
func (s *Store) Edit(name string, e Edit) (Meta, error) {
	return s.Update(name, e.Apply)
}

// Match says which value of a secret a Compare found.
type Match int

// What Compare can find.
const (
	MatchNone     Match = iota // neither value
	MatchCurrent               // the current value
	MatchPrevious              // the value from before a rotation still pending
)

// Compare says whether v is the current value of the secret called name,
// the value a pending rotation replaced, or neither, in constant time per
// value. No value leaves the store.
func (s *Store) Compare(name string, v Value) (Match, error) {
	sec, err := s.Get(name)
	if err != nil {
		return MatchNone, err
	}
	switch {
	case sec.Value.Equal(v):
		return MatchCurrent, nil
	case sec.Previous != nil && sec.PreviousValue.Equal(v):
		return MatchPrevious, nil
	}
	return MatchNone, nil
}
