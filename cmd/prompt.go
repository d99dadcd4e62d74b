package cmd

import (
	"errors"
	"fmt"
	"strings"

	"github.com/wsxdev/wsx/store"
)

// passphraseTries is how many times a passphrase typed on the terminal may
// be wrong before the command gives up, as with sudo.
const passphraseTries = 3

// unlockWith reads the store passphrase and hands it to unlock: once from
// --passphrase-file or WSX_PASSPHRASE_FILE, or up to passphraseTries times
// from the terminal while unlock says it is wrong. The passphrase is
// cleared after each try. Without a file or a terminal it fails with
// store.ErrLocked.
func (s *session) unlockWith(prompt string, unlock func([]byte) error) error {
	if f := s.passphraseFile(); f != "" {
		p, err := readPassphraseFile(f)
		if err != nil {
			return err
		}
		defer clear(p)
		return unlock(p)
	}
	t, err := s.env.Terminal()
	if err != nil {
		return fmt.Errorf("%w: no passphrase file and %v", store.ErrLocked, err)
	}
	defer t.Close()
	for i := 1; ; i++ {
		p, err := t.ReadPassword(prompt)
		if err != nil {
			return err
		}
		err = unlock(p)
		clear(p)
		if !errors.Is(err, store.ErrWrongPassphrase) {
			return err
		}
		if i == passphraseTries {
			return fmt.Errorf("%d wrong passphrases: %w", passphraseTries, err)
		}
		t.Printf("Sorry, try again.\n")
	}
}

// lineReader is a Terminal that can also read a line with echo. The real
// terminal is one; a Terminal without it is asked with ReadPassword.
type lineReader interface {
	ReadLine(prompt string) (string, error)
}

// readLine reads a line with echo when t can, else without.
func readLine(t Terminal, prompt string) (string, error) {
	if lr, ok := t.(lineReader); ok {
		return lr.ReadLine(prompt)
	}
	b, err := t.ReadPassword(prompt)
	return string(b), err
}

// confirm asks a yes/no question on t; only y or yes (any case) is yes.
func confirm(t Terminal, question string) (bool, error) {
	a, err := readLine(t, question+" [y/N] ")
	if err != nil {
		return false, err
	}
	a = strings.ToLower(strings.TrimSpace(a))
	return a == "y" || a == "yes", nil
}
