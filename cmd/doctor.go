package cmd

import (
	"context"

	"github.com/urfave/cli/v2"
	"github.com/wsxdev/wsx/credhelper"
	"github.com/wsxdev/wsx/daemon"
	"github.com/wsxdev/wsx/doctor"
	"github.com/wsxdev/wsx/internal/access"
	"github.com/wsxdev/wsx/store"
)

func doctorCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "doctor",
		Usage:     "check the setup, or find out why a secret is not found",
		ArgsUsage: "[NAME]",
		Description: "Without NAME: the store and its backend, how it unlocks, the daemon, whether git\n" +
			"asks wsx for credentials (and whether a plaintext helper sits beside it), whether\n" +
			"SSH_AUTH_SOCK points at wsx, file modes, names that could be clearer, and secrets\n" +
			"overdue for rotation. It never prompts: without a passphrase file (or a backend that\n" +
			"holds the key, or an unlocked wsx agent) it checks what it can without unlocking.\n" +
			"Exit 0 when nothing needs fixing: notes are advice (a name that could be clearer, a\n" +
			"locked agent, no agent) and do not count. Exit 1 when a WARN or FAIL line says something\n" +
			"needs fixing (an overdue rotation, git asking another helper first, loose file modes).\n" +
			"--json prints the findings as one JSON object instead.\n\n" +
			"With NAME: whether the secret is there and, when it is not, the likely reasons, most\n" +
			"likely first: a name that differs in case, the secret being in another workspace's\n" +
			"store, a typo, a locked store. When $NAME is set in this environment it is compared\n" +
			"with the stored value (never printed): a value from before a rotation means the\n" +
			"terminal should be restarted. Exit 3 when the secret is not found.\n\n" +
			"Other workspaces' stores searched: $XDG_DATA_HOME/wsx (~/.local/share/wsx), its\n" +
			"siblings $XDG_DATA_HOME/wsx-*, and the store homes listed in WSX_STORES (separated by\n" +
			"colons). Their names are read from item file names (items/NAME.wsx), without\n" +
			"unlocking them, so only stores with the file backend show them.",
		Flags: []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print the findings as JSON (without NAME)"}},
		Action: action(env, func(s *session, c *cli.Context) error {
			switch c.NArg() {
			case 0:
				return s.doctor().Run(c.Context, c.Bool("json"))
			case 1:
				if c.Bool("json") {
					return usagef("doctor --json checks the setup; it takes no NAME")
				}
				return s.doctor().Name(c.Args().First())
			}
			return usagef("doctor takes at most one NAME, got %d", c.NArg())
		}),
	}
}

// doctor is the doctor of this command's setup.
func (s *session) doctor() *doctor.Doctor {
	d := &doctor.Doctor{
		Home: s.home, Dir: s.env.Getwd(), RunDir: runDir(s.env, s.home), UID: s.env.UID, PassphraseFile: s.passphraseFile(),
		Getenv: s.env.Getenv, Now: s.env.Now, Stdout: s.env.Stdout,
		Open: func() (*store.Store, error) {
			err := s.open()
			return s.st, err
		},
		Agent: func() (secretStore, bool) {
			c, ok := s.viaDaemon(false)
			if !ok {
				return nil, false
			}
			return c, true
		},
		AgentLocked: func() int { return s.agentLocked },
		Unlocked:    s.unlocked,
		Hint:        hintOf,
		GitHelpers:  func(ctx context.Context) ([]string, error) { return credhelper.GitHelpers(ctx, "") },
	}
	d.Grants = func() (access.Grants, error) {
		if c, ok := s.viaDaemon(false); ok {
			return c.Grants()
		}
		if s.st == nil || s.st.Locked() {
			return nil, store.ErrLocked // doctor never asks for the passphrase
		}
		return daemon.GrantsOn(s.st)
	}
	d.Guest, d.GuestErr = s.guest()
	d.DialGuest = s.dialGuest
	return d
}
