package secrets

import (
	"fmt"
	"io"

	"github.com/wsxdev/wsx/internal/hint"
	"github.com/wsxdev/wsx/internal/prompt"
	"github.com/wsxdev/wsx/store"
)

// Prompter is the Prompt of the command line: values come from a file,
// from stdin when it is a pipe, or from a hidden prompt on the terminal.
type Prompter struct {
	Stdin           io.Reader
	StdinIsTerminal bool
	// Terminal opens the controlling terminal; an error means there is
	// none.
	Terminal func() (prompt.Terminal, error)
}

// Value reads a secret's value from fromFile, from piped stdin (a token's
// or password's final newline cut), or with a hidden prompt on the
// terminal. given is false when none of them supplied any bytes.
func (p Prompter) Value(name string, typ store.Type, fromFile string, required bool) (val []byte, given bool, err error) {
	switch {
	case fromFile != "":
		val, err = ReadCapped(fromFile, nil)
		if err != nil {
			return nil, false, fmt.Errorf("secret %s: %w", name, err)
		}
		return val, true, nil
	case !p.StdinIsTerminal:
		val, err = ReadCapped("stdin", p.Stdin)
		if err != nil {
			return nil, false, fmt.Errorf("secret %s: %w", name, err)
		}
		if typ == store.TypeToken || typ == store.TypePassword {
			val = prompt.TrimNewline(val)
		}
		return val, len(val) > 0, nil
	case typ == store.TypeFile || typ == store.TypeKey:
		if !required {
			return nil, false, nil
		}
		return nil, false, hint.Usagef("secret %s: a %s value is read with --from-file PATH or from a pipe", name, typ)
	}
	t, err := p.Terminal()
	if err != nil {
		return nil, false, nil
	}
	defer t.Close()
	ask := fmt.Sprintf("Value for %s (input hidden): ", name)
	if !required {
		ask = fmt.Sprintf("New value for %s (input hidden, empty keeps the current one): ", name)
	}
	val, err = t.ReadPassword(ask)
	if err != nil {
		return nil, false, err
	}
	return val, len(val) > 0, nil
}

// KeyPassphrase reads the passphrase of the encrypted SSH key name from
// file, or asks on the terminal.
func (p Prompter) KeyPassphrase(name, file string) ([]byte, error) {
	if file != "" {
		return prompt.ReadPassphraseFile(file)
	}
	t, err := p.Terminal()
	if err != nil {
		return nil, hint.With(fmt.Errorf("secret %s: the key is encrypted and there is no terminal to ask for its passphrase", name),
			"pass --key-passphrase-file PATH")
	}
	defer t.Close()
	return t.ReadPassword(fmt.Sprintf("Passphrase of the key %s: ", name))
}
