package cmd

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/wsxdev/wsx/manifest"
	"github.com/wsxdev/wsx/secrets"
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

// runRemoveAsked is `wsx rm`: secrets.Flows.RemoveAsked with the
// terminal to ask on.
func (s *session) runRemoveAsked(name string, yes bool) error {
	if !yes && !s.env.StdinIsTerminal { // refused before any unlock
		return (&secrets.Flows{}).RemoveAsked(name, s.home, false, false, nil)
	}
	return s.run(func(f *secrets.Flows) error {
		return f.RemoveAsked(name, s.home, yes, s.env.StdinIsTerminal, func(q string) (bool, error) {
			t, err := s.env.Terminal()
			if err != nil {
				return false, secrets.ErrNotAsked
			}
			defer t.Close()
			return confirm(t, q)
		})
	})
}

// setNote is what `wsx set --help` adds about the value it replaces.
func setNote(createOnly bool) string {
	if createOnly {
		return ""
	}
	return "\n\nset replaces a value and does not keep the previous one (it is for a value stored by\n" +
		"mistake). To change a value that programs or services still use, `wsx rotate NAME`\n" +
		"keeps the previous one until `wsx rotate NAME --finish`, and --undo brings it back."
}

// askTemplateValue asks for the value of a manifest's secret: a token or
// password with a hidden prompt, a key or file as the path of the file
// that holds it (a leading ~/ is the home directory). Empty input skips it.
func (s *session) askTemplateValue(t Terminal, sec manifest.Secret) ([]byte, error) {
	if sec.Type != store.TypeKey && sec.Type != store.TypeFile {
		return t.ReadPassword(fmt.Sprintf("Value for %s (input hidden, empty skips it): ", sec.Name))
	}
	path, err := readLine(t, fmt.Sprintf("File holding %s (a %s; empty skips it): ", sec.Name, sec.Type))
	if err != nil || strings.TrimSpace(path) == "" {
		return nil, err
	}
	path = strings.TrimSpace(path)
	if rest, ok := strings.CutPrefix(path, "~/"); ok && s.env.Getenv("HOME") != "" {
		path = filepath.Join(s.env.Getenv("HOME"), rest)
	}
	return secrets.ReadCapped(path, nil)
}
