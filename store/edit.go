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
	// Expires, when set, is when the value stops working at its service
	// (Meta.Expires; a zero time: unknown). A new value without it has
	// no known expiry.
	Expires *time.Time
	// Value, when not zero or when SetValue is set, is the new value
	// (validated for the type as by Add; a key must parse). SetValue
	// makes an empty Value the new value (a password may be empty).
	Value    Value
	SetValue bool
	// Rotate makes Value the value by a rotation (Secret.BeginRotation):
	// the current value is kept until Finish or Undo.
	Rotate bool
	// Undo and Finish are the other rotation steps (Secret.UndoRotation,
	// Secret.FinishRotation); they take no Value.
	Undo, Finish bool
	// KeepSame writes nothing, and returns ErrUnchanged, when Value,
	// Username and Expires are those the secret has.
	KeepSame bool
}

// Apply makes e's change to sec, as Store.Edit does under its lock.
func (e Edit) Apply(sec *Secret) error {
	if e.KeepSame && sec.Value.Equal(e.Value) && (e.Username == nil || *e.Username == sec.Username) &&
		(e.Expires == nil || e.Expires.Unix() == sec.Expires.Unix() && e.Expires.IsZero() == sec.Expires.IsZero()) {
		return fmt.Errorf("secret %s: %w", sec.Name, ErrUnchanged)
	}
	switch {
	case e.Undo:
		return sec.UndoRotation()
	case e.Finish:
		return sec.FinishRotation()
	}
	if e.Type != "" {
		if e.Type != sec.Type && !e.newValue() {
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
	if e.newValue() {
		v, ssh, err := checkValue(sec.Type, e.Value, nil, true)
		if err != nil {
			return fmt.Errorf("secret %s: %w", sec.Name, err)
		}
		if e.Rotate {
			if err := sec.BeginRotation(v); err != nil {
				return err
			}
		} else {
			sec.Value = v
			sec.Expires = time.Time{} // the new value's, unless e says
		}
		sec.SSH = ssh
	}
	if e.Expires != nil {
		sec.Expires = *e.Expires
	}
	return nil
}

// newValue reports whether e gives a new value.
func (e Edit) newValue() bool { return e.SetValue || !e.Value.IsZero() }

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
