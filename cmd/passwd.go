package cmd

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"
	"github.com/wsxdev/wsx/internal/prompt"
	"github.com/wsxdev/wsx/secrets"
	"github.com/wsxdev/wsx/store"
)

func passwdCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:  "passwd",
		Usage: "change the store passphrase",
		Description: "Asks for the current passphrase (or reads --passphrase-file / WSX_PASSPHRASE_FILE),\n" +
			"then for the new one twice on the terminal (or reads --new-passphrase-file). The data\n" +
			"key is wrapped again under the new passphrase in one atomic write of store.json; the\n" +
			"items are not touched, and the old passphrase no longer opens the store. Copies of\n" +
			"store.json made before (backups) still open with the old one.\n\n" +
			"A running wsx agent keeps serving: an unlocked one holds the same data key, and its next\n" +
			"unlock (`wsx unlock`, after `wsx lock` or the idle lock) takes the new passphrase.\n" +
			"The change is an audit record: Store passphrase changed.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "new-passphrase-file", Usage: "read the new passphrase from `FILE` (private to you) instead of the terminal"},
		},
		Action: noArgsAction(env, func(s *session, c *cli.Context) error {
			return s.runPasswd(c.String("new-passphrase-file"))
		}),
	}
}

// runPasswd changes the store's passphrase. It always proves the current
// one here, with the store opened directly: an unlocked agent is not
// enough to change how the store unlocks.
func (s *session) runPasswd(newFile string) error {
	if err := s.open(); err != nil {
		return err
	}
	if !s.st.NeedsPassphrase() {
		return fmt.Errorf("the data key of the store in %s is held by its %s backend: it has no passphrase to change", s.home, s.st.Backend())
	}
	var cur []byte
	defer func() { clear(cur) }()
	err := s.unlockWith("Current passphrase for the wsx store: ", func(p []byte) error {
		err := s.unlockStore(p)
		if err == nil {
			cur = bytes.Clone(p)
		}
		return err
	})
	if err != nil {
		return err
	}
	pass, err := s.newStorePassphrase(newFile, "nothing was changed")
	if err != nil {
		return err
	}
	defer clear(pass)
	if err := s.local().Passwd(cur, pass, s.env.Stderr, s.home); err != nil {
		return err
	}
	if c, st, err := s.dialDaemon(); err == nil {
		c.Close()
		fmt.Fprintf(s.env.Stderr, "wsx: the running wsx agent (pid %d) keeps serving; its next unlock takes the new passphrase\n", st.PID)
	}
	return nil
}

// newStorePassphrase reads a new store passphrase: from file when one is
// named, else typed twice on the terminal. A weak passphrase (see
// weakPassphrase) is a warning when read from a file, and a question on
// the terminal, where only a yes keeps it. nothing says what a refusal
// leaves undone ("nothing was created").
func (s *session) newStorePassphrase(file, nothing string) ([]byte, error) {
	if file != "" {
		p, err := prompt.ReadPassphraseFile(file)
		if err != nil {
			return nil, err
		}
		if why := secrets.WeakPassphrase(p); why != "" {
			fmt.Fprintf(s.env.Stderr, "wsx: warning: the passphrase in %s is weak: %s\n", file, why)
		}
		return p, nil
	}
	t, err := s.env.Terminal()
	if err != nil {
		return nil, withHint(errors.New("no terminal to ask for a new passphrase"),
			"write the passphrase to a file readable only by you and pass it with --passphrase-file or WSX_PASSPHRASE_FILE (`wsx passwd`: --new-passphrase-file)")
	}
	defer t.Close()
	p1, err := t.ReadPassword("New passphrase for the wsx store: ")
	if err != nil {
		return nil, err
	}
	p2, err := t.ReadPassword("Same passphrase again: ")
	if err != nil {
		clear(p1)
		return nil, err
	}
	same := bytes.Equal(p1, p2)
	clear(p2)
	if !same {
		clear(p1)
		return nil, fmt.Errorf("the two passphrases differ; %s", nothing)
	}
	if len(p1) == 0 {
		return nil, fmt.Errorf("the passphrase is empty; %s: %w", nothing, store.ErrEmptyPassphrase)
	}
	if why := secrets.WeakPassphrase(p1); why != "" {
		t.Printf("This passphrase is weak: %s. Anyone with a copy of the store can guess at it offline.\n", why)
		ok, err := prompt.Confirm(t, "Use it anyway?")
		if err != nil || !ok {
			clear(p1)
			return nil, withHint(fmt.Errorf("weak passphrase refused (%s); %s", why, nothing),
				"choose a longer one: four or more random words make a good passphrase")
		}
	}
	return p1, nil
}
