package cmd

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"
	"github.com/wsxdev/wsx/audit"
	"github.com/wsxdev/wsx/daemon"
	"github.com/wsxdev/wsx/fetch"
	"github.com/wsxdev/wsx/manifest"
	"github.com/wsxdev/wsx/provider"
	"github.com/wsxdev/wsx/store"
)

func syncCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "sync",
		Usage:     "fetch the secrets wsx.toml sources from company secret services into the store",
		ArgsUsage: "[NAME...]",
		Description: "Fetches every secret of the project's wsx.toml that has a source (or the NAMEs)\n" +
			"from its service (vault://, pass://, sops://) and stores it; the value it replaces is\n" +
			"kept as a rotation keeps it (`wsx rotate NAME --undo` brings it back). Prints one\n" +
			"line per secret: fetched, unchanged, cached (the service was unreachable: the stored\n" +
			"value stays, unless required_fresh) or failed. `wsx exec` and `wsx agent` fetch\n" +
			"at start only what is missing or older than its ttl.\n\n" +
			"Examples:\n" +
			"  wsx sync\n" +
			"  wsx sync DATABASE_URL --json\n\n" +
			"Exit status: 0 when every secret has a value; 3 when a source has no such secret,\n" +
			"5 when a service refused the credentials, 1 for other failures.",
		Flags: []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print JSON"}},
		Action: action(env, func(s *session, c *cli.Context) error {
			return s.runSync(c.Args().Slice(), c.Bool("json"))
		}),
	}
}

// runSync is `wsx sync`.
func (s *session) runSync(names []string, asJSON bool) error {
	path, found, err := manifest.Find(s.env.Getwd())
	if err != nil {
		return err
	}
	if !found {
		return usagef("no %s here or above: `wsx sync` fetches the secrets it sources", manifest.Name)
	}
	m, err := manifest.Load(path)
	if err != nil {
		return err
	}
	st, err := s.unlocked()
	if err != nil {
		return err
	}
	o := s.fetchOptions(m, audit.ViaCLI)
	o.Names, o.All = names, true
	if isTerminal(s.env.Stderr) {
		draw := labelledBar(s.env, "fetching", "secrets")
		o.Progress = func(done, total int, _ string) {
			draw(done, total)
			if done == total {
				fmt.Fprint(s.env.Stderr, "\r\033[K")
			}
		}
	}
	results, err := fetch.Run(s.c.Context, st, o)
	if werr := fetch.WriteResults(s.env.Stdout, results, asJSON); werr != nil {
		return werr
	}
	if len(results) == 0 {
		fmt.Fprintf(s.env.Stderr, "wsx: %s sources no secret (source = \"vault://...\")\n", m.Path)
	}
	if err != nil && asJSON {
		// The answer is on stdout already; the error goes to stderr only.
		return exitError{code: reportError(s.env.Stderr, fetchHint(err))}
	}
	return fetchHint(err)
}

// fetchOptions are the options of a fetch for this session.
func (s *session) fetchOptions(m *manifest.Manifest, via string) fetch.Options {
	return fetch.Options{
		Manifest: m, Via: via, Home: s.home, Now: s.env.Now,
		Warn: func(format string, args ...any) {
			fmt.Fprintf(s.env.Stderr, "wsx: warning: "+format+"\n", args...)
		},
	}
}

// fetchStale fetches, before a command starts, the sourced secrets of
// the wsx.toml governing cwd that are missing or older than their ttl
// (only those in names, when given). It unlocks nothing when none is.
func (s *session) fetchStale(cwd string, names []string, via string) error {
	m := fetch.Sourcing(cwd)
	if m == nil {
		return nil
	}
	have, err := s.storeNames()
	if err != nil || !fetch.Stale(m, s.home, have, names, s.env.Now()) {
		return err
	}
	st, err := s.unlocked()
	if err != nil {
		return err
	}
	o := s.fetchOptions(m, via)
	o.Names, o.OptionalWarn = fetch.Only(m, names), true
	_, err = fetch.Run(s.c.Context, st, o)
	return fetchHint(err)
}

// fetchHint adds the fix to a fetch's error.
func fetchHint(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, provider.ErrAuth):
		return withHint(err, "the service refused the credentials: check the secrets holding its credentials (named in the error, or in wsx.toml's [provider.NAME] table); `wsx set NAME` replaces one")
	case errors.Is(err, provider.ErrNotFound):
		return withHint(err, "check the source in wsx.toml (path, #key, ?version) against the service")
	case errors.Is(err, provider.ErrUnavailable):
		return withHint(err, "check the service's address and the network; a stored value is used when the service is down unless required_fresh = true")
	case errors.Is(err, store.ErrInvalidValue):
		return withHint(err, "the service holds a value this secret's type refuses (a token or password is one line without NUL); fix it there, or give the secret another type in wsx.toml")
	}
	return err
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
	if err := s.fetchStale(s.env.Getwd(), nil, audit.ViaAgent); err != nil {
		fmt.Fprintf(s.env.Stderr, "wsx: warning: %v\n", err)
	}
	return nil
}
