package cmd

import (
	"fmt"

	"github.com/wsxdev/wsx/internal/prompt"
	"github.com/wsxdev/wsx/secrets"
	"github.com/wsxdev/wsx/store"
)

// runInit is `wsx init` with the backend and KDF of o, and a new
// passphrase.
func (s *session) runInit(o store.InitOptions) error {
	pass, err := s.newStorePassphrase(s.passphraseFile(), "nothing was created")
	if err != nil {
		return err
	}
	o.Passphrase, o.PassDir = pass, s.env.Getenv("PASSWORD_STORE_DIR")
	st, err := store.Init(s.home, o)
	if err != nil {
		return err
	}
	st.SetClock(s.env.Now)
	s.st = st
	fmt.Fprintf(s.env.Stderr, "wsx: created a %s store in %s\n", st.Backend(), s.home)
	return nil
}

// flows returns the secrets' flows on the store this command works on.
func (s *session) flows() (*secrets.Flows, error) {
	st, err := s.unlocked()
	if err != nil {
		return nil, err
	}
	return &secrets.Flows{Store: st, Prompt: prompter{s}, Stdout: s.env.Stdout, Stderr: s.env.Stderr, Now: s.env.Now,
		AuditPath: auditPath(s.home)}, nil
}

// run runs one flow on the store this command works on.
func (s *session) run(flow func(*secrets.Flows) error) error {
	f, err := s.flows()
	if err != nil {
		return err
	}
	return flow(f)
}

// prompter reads values for the flows: files, pipes, the terminal.
type prompter struct{ s *session }

func (p prompter) Value(name string, typ store.Type, fromFile string, required bool) ([]byte, bool, error) {
	return p.s.readValue(name, typ, fromFile, required)
}

func (p prompter) KeyPassphrase(name, file string) ([]byte, error) {
	if file != "" {
		return prompt.ReadPassphraseFile(file)
	}
	t, err := p.s.env.Terminal()
	if err != nil {
		return nil, withHint(fmt.Errorf("secret %s: the key is encrypted and there is no terminal to ask for its passphrase", name),
			"pass --key-passphrase-file PATH")
	}
	defer t.Close()
	return t.ReadPassword(fmt.Sprintf("Passphrase of the key %s: ", name))
}

// readValue reads a secret's value from --from-file, from piped stdin, or
// with a hidden prompt on the terminal. given is false when none of them
// supplied any bytes.
func (s *session) readValue(name string, typ store.Type, fromFile string, required bool) (val []byte, given bool, err error) {
	switch {
	case fromFile != "":
		val, err = secrets.ReadCapped(fromFile, nil)
		if err != nil {
			return nil, false, fmt.Errorf("secret %s: %w", name, err)
		}
		return val, true, nil
	case !s.env.StdinIsTerminal:
		val, err = secrets.ReadCapped("stdin", s.env.Stdin)
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
		return nil, false, usagef("secret %s: a %s value is read with --from-file PATH or from a pipe", name, typ)
	}
	t, err := s.env.Terminal()
	if err != nil {
		return nil, false, nil
	}
	defer t.Close()
	prompt := fmt.Sprintf("Value for %s (input hidden): ", name)
	if !required {
		prompt = fmt.Sprintf("New value for %s (input hidden, empty keeps the current one): ", name)
	}
	val, err = t.ReadPassword(prompt)
	if err != nil {
		return nil, false, err
	}
	return val, len(val) > 0, nil
}
