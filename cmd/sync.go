package cmd

import (
	"fmt"

	"github.com/urfave/cli/v2"
	"github.com/wsxdev/wsx/audit"
	"github.com/wsxdev/wsx/daemon"
	"github.com/wsxdev/wsx/exec"
	"github.com/wsxdev/wsx/fetch"
	"github.com/wsxdev/wsx/scan"
)

func syncCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "sync",
		Usage:     "fetch the secrets wsx.toml sources from company secret services into the store",
		ArgsUsage: "[NAME...]",
		Description: "Fetches every secret of the project's wsx.toml that has a source (or the NAMEs)\n" +
			"from its service (vault://, aws-sm://, azure-kv://, pass://, sops://) and stores it; the\n" +
			"value it replaces is kept as a rotation keeps it (`wsx rotate NAME --undo` brings it\n" +
			"back). Prints one line per secret: fetched, unchanged, cached (the service was\n" +
			"unreachable: the stored value stays, unless required_fresh) or failed. `wsx exec` and\n" +
			"`wsx agent` fetch at start only what is missing or older than its ttl.\n\n" +
			"Examples:\n" +
			"  wsx sync\n" +
			"  wsx sync DATABASE_URL --json\n\n" +
			"Exit status: 0 when every secret has a value; 3 when a source has no such secret,\n" +
			"5 when a service refused the credentials, 1 for other failures.",
		Flags: []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print JSON"}},
		Action: action(env, func(s *session, c *cli.Context) error {
			fc := s.fetchCommand()
			if exec.IsTerminal(s.env.Stderr) {
				fc.Progress = scan.Bar(s.env.Stderr, s.env.Now, "fetching", "secrets")
			}
			return fc.Sync(c.Context, c.Args().Slice(), c.Bool("json"), audit.ViaCLI)
		}),
	}
}

// fetchCommand is the fetch of this session: into the store it works on.
func (s *session) fetchCommand() *fetch.Command {
	return &fetch.Command{
		Dir: s.env.Getwd(), Home: s.home, Now: s.env.Now, Stdout: s.env.Stdout, Stderr: s.env.Stderr,
		Unlocked: func() (fetch.Store, error) { return s.unlocked() },
		Names:    s.storeNames,
	}
}

// fetchBeforeAgent fetches, before `wsx agent` starts, the sourced
// secrets that are missing or older than their ttl, on the store unlocked
// with the agent's passphrase, so the agent starts with them. A failed
// fetch is a warning: the agent starts with what the store has.
func (s *session) fetchBeforeAgent(u daemon.Unlocking) error {
	m := fetch.Sourcing(s.env.Getwd())
	if !u.Given || s.st != nil || m == nil {
		return nil
	}
	if err := s.open(); err != nil {
		return err
	}
	defer s.close()
	if have, err := s.st.Names(); err != nil || !fetch.Stale(m, s.home, have, nil, s.env.Now()) {
		return err
	}
	if err := s.st.Unlock(u.Passphrase); err != nil {
		return err
	}
	if err := s.fetchCommand().Stale(s.c.Context, m, nil, audit.ViaAgent); err != nil {
		fmt.Fprintf(s.env.Stderr, "wsx: warning: %v\n", err)
	}
	return nil
}
