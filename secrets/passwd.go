package secrets

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/wsxdev/wsx/audit"
)

// PasswdIO is what `wsx passwd` needs from the command line.
type PasswdIO struct {
	// Current reads the current passphrase (with its tries) and hands it
	// to prove, which unlocks the store with it.
	Current func(prove func([]byte) error) error
	// Unlock unlocks the store opened here with a passphrase, noting a
	// wrong one for the record of failed unlocks.
	Unlock func([]byte) error
	// New reads the new passphrase.
	New    func() ([]byte, error)
	Stderr io.Writer
	Home   string
}

// Passwd is `wsx passwd` on the store opened here, locked: the current
// passphrase is proved on it (an unlocked agent is not enough to change
// how the store unlocks), the new one read, the data key wrapped under it
// in one write of the header, and the change recorded.
func (l *Local) Passwd(o PasswdIO) error {
	if !l.St.NeedsPassphrase() {
		return fmt.Errorf("the data key of the store in %s is held by its %s backend: it has no passphrase to change", o.Home, l.St.Backend())
	}
	var cur []byte
	defer func() { clear(cur) }()
	err := o.Current(func(p []byte) error {
		err := o.Unlock(p)
		if err == nil {
			cur = bytes.Clone(p)
		}
		return err
	})
	if err != nil {
		return err
	}
	next, err := o.New()
	if err != nil {
		return err
	}
	defer clear(next)
	if bytes.Equal(next, cur) {
		return errors.New("the new passphrase is the current one; nothing was changed")
	}
	if err := l.St.ChangePassphrase(next); err != nil {
		return err
	}
	fmt.Fprintf(o.Stderr, "wsx: changed the passphrase of the store in %s; the old one no longer opens it\n", o.Home)
	if err := l.Record(audit.Record{Event: audit.EventPassphrase, Via: audit.ViaCLI, Result: audit.ResultOK, Detail: "passphrase changed",
		Context: &audit.Context{Command: "wsx passwd"}}); err != nil {
		return fmt.Errorf("the passphrase was changed, but its audit record was not written: %w", err)
	}
	return nil
}
