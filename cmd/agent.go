package cmd

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/wsxdev/wsx/daemon"
	"github.com/wsxdev/wsx/internal/prompt"
	"github.com/wsxdev/wsx/store"
)

func agentCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:            "agent",
		Usage:           "run the wsx agent: SSH agent and local API (ssh-agent's options)",
		UsageText:       "wsx agent [-c | -s] [-Dd] [-a SOCKET] [-t LIFE] [--lock-after DURATION] [CMD [ARG...]]",
		ArgsUsage:       "[CMD [ARG...]]",
		SkipFlagParsing: true,
		Action: action(env, func(s *session, c *cli.Context) error {
			o, err := daemon.ParseArgs(c.Args().Slice())
			if err != nil {
				return err
			}
			if o.Help {
				_, err := fmt.Fprint(env.Stdout, daemon.Usage)
				return err
			}
			if o.Reload {
				return daemon.Reload(s.dialDaemon, s.env.Stderr)
			}
			return s.launch(o).Run()
		}),
	}
}

// agentPassphrase reads the store passphrase for the agent: from the
// passphrase file, else the terminal. Given is false when there is
// neither: the agent then starts locked.
func (s *session) agentPassphrase(o daemon.Args, st *store.Store) (daemon.Unlocking, error) {
	if !st.NeedsPassphrase() {
		return daemon.Unlocking{Given: true, NotNeeded: true}, nil
	}
	read := func(f string) (daemon.Unlocking, error) {
		p, err := prompt.ReadPassphraseFile(f)
		return daemon.Unlocking{Passphrase: p, Given: err == nil}, err
	}
	if o.PassFile != "" {
		return read(o.PassFile)
	}
	if f := s.passphraseFile(); f != "" {
		return read(f)
	}
	t, err := s.env.Terminal()
	if err != nil {
		return daemon.Unlocking{}, nil
	}
	defer t.Close()
	p, err := t.ReadPassword("Passphrase for the wsx store: ")
	return daemon.Unlocking{Passphrase: p, Given: err == nil}, err
}

// launch is the agent's process life cycle with the arguments o.
func (s *session) launch(o daemon.Args) *daemon.Launch {
	return &daemon.Launch{
		Args: o, Home: s.home, RunDir: runDir(s.env, s.home), AuditPath: auditPath(s.home),
		StoreOptions: s.openOptions(), Getenv: s.env.Getenv, Stdout: s.env.Stdout, Stderr: s.env.Stderr, Now: s.env.Now,
		Passphrase:  func(st *store.Store) (daemon.Unlocking, error) { return s.agentPassphrase(o, st) },
		Describe:    func(err error) (int, string) { return exitCode(err), hintOf(err) },
		BeforeStart: s.fetchBeforeAgent,
	}
}

func lockCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:  "lock",
		Usage: "lock the store in the running wsx agent",
		Description: "Drops the store's key and the parsed SSH keys from the agent, and seals the keys\n" +
			"added with ssh-add until the unlock; commands then need a passphrase again, or\n" +
			"`wsx unlock`. `ssh-add -X` with the store passphrase unlocks too.",
		Action: noArgsAction(env, func(s *session, c *cli.Context) error {
			return daemon.Lock(s.dialDaemon, s.env.Stderr)
		}),
	}
}

func unlockCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:  "unlock",
		Usage: "unlock the store in the running wsx agent",
		Description: "Asks for the store passphrase (or reads --passphrase-file / WSX_PASSPHRASE_FILE)\n" +
			"and hands it to the agent, which then serves every command without asking. It also\n" +
			"lifts a lock made with `ssh-add -x` and serves again the store keys removed with\n" +
			"ssh-add -d/-D.",
		Action: noArgsAction(env, func(s *session, c *cli.Context) error {
			return s.runUnlock()
		}),
	}
}

// runUnlock is `wsx unlock` (daemon.Unlock): the passphrase is asked
// here, for the store opened here.
func (s *session) runUnlock() error {
	return daemon.Unlock(s.dialDaemon, s.env.Stderr, func(unlock func([]byte) error) error {
		if err := s.open(); err != nil {
			return err
		}
		if !s.st.NeedsPassphrase() {
			return unlock(nil)
		}
		return s.unlockWith("Passphrase for the wsx store: ", unlock)
	})
}
