package cmd

import (
	"github.com/wsxdev/wsx/internal/prompt"
	"github.com/wsxdev/wsx/secrets"
)

// unlockWith reads the store passphrase and hands it to unlock
// (prompt.Unlock): from --passphrase-file, WSX_PASSPHRASE_FILE or the
// terminal.
func (s *session) unlockWith(p string, unlock func([]byte) error) error {
	return prompt.Unlock(s.env.Terminal, s.passphraseFile(), p, unlock)
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
			return prompt.Confirm(t, q)
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
