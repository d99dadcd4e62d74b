package cmd

import (
	"fmt"

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
	return &secrets.Flows{Store: st, Prompt: secrets.Prompter{Stdin: s.env.Stdin, StdinIsTerminal: s.env.StdinIsTerminal, Terminal: s.env.Terminal}, Stdout: s.env.Stdout, Stderr: s.env.Stderr, Now: s.env.Now,
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
