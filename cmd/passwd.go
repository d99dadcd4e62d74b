package cmd

import (
	"fmt"

	"github.com/urfave/cli/v2"
	"github.com/wsxdev/wsx/internal/prompt"
	"github.com/wsxdev/wsx/secrets"
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

// runPasswd is `wsx passwd` (secrets.Local.Passwd) on the store opened
// here, whatever the agent holds; a running agent is told of.
func (s *session) runPasswd(newFile string) error {
	if err := s.open(); err != nil {
		return err
	}
	err := s.local().Passwd(secrets.PasswdIO{
		Current: func(prove func([]byte) error) error {
			return s.unlockWith("Current passphrase for the wsx store: ", prove)
		},
		Unlock: s.unlockStore,
		New:    func() ([]byte, error) { return s.newStorePassphrase(newFile, "nothing was changed") },
		Stderr: s.env.Stderr, Home: s.home,
	})
	if err != nil {
		return err
	}
	if c, st, err := s.dialDaemon(); err == nil {
		c.Close()
		fmt.Fprintf(s.env.Stderr, "wsx: the running wsx agent (pid %d) keeps serving; its next unlock takes the new passphrase\n", st.PID)
	}
	return nil
}

// newStorePassphrase reads a new store passphrase (prompt.NewPassphrase):
// from file when one is named, else typed twice on the terminal, a weak
// one (secrets.WeakPassphrase) kept only when the user says so. nothing
// says what a refusal leaves undone ("nothing was created").
func (s *session) newStorePassphrase(file, nothing string) ([]byte, error) {
	return prompt.NewPassphrase(s.env.Terminal, file, nothing, secrets.WeakPassphrase, s.env.Stderr)
}
