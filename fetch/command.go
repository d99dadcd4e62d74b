package fetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/wsxdev/wsx/audit"
	"github.com/wsxdev/wsx/internal/hint"
	"github.com/wsxdev/wsx/manifest"
	"github.com/wsxdev/wsx/provider"
	"github.com/wsxdev/wsx/provider/external"
	"github.com/wsxdev/wsx/store"
)

// Command is `wsx sync` and the fetch before `wsx exec` and `wsx agent`
// start, with what they need from the command line.
type Command struct {
	Dir, Home      string // the working directory; WSX_HOME
	Now            func() time.Time
	Stdout, Stderr io.Writer
	// Unlocked returns the store to fetch into: the agent's, or the one
	// opened here, unlocked.
	Unlocked func() (Store, error)
	// Names lists the names in the store without unlocking it.
	Names func() ([]string, error)
	// Progress draws `wsx sync`'s progress (a terminal's bar); nil draws
	// nothing.
	Progress func(done, total int)
}

// options are the options of a fetch by c.
func (c *Command) options(m *manifest.Manifest, via string) Options {
	return Options{
		Manifest: m, Via: via, Home: c.Home, Now: c.Now,
		Warn: func(format string, args ...any) {
			fmt.Fprintf(c.Stderr, "wsx: warning: "+format+"\n", args...)
		},
	}
}

// Sync is `wsx sync`: every secret the project's wsx.toml sources (or
// those in names) fetched, one line each on Stdout (JSON with asJSON).
func (c *Command) Sync(ctx context.Context, names []string, asJSON bool, via string) error {
	path, found, err := manifest.Find(c.Dir)
	if err != nil {
		return err
	}
	if !found {
		return hint.Usagef("no %s here or above: `wsx sync` fetches the secrets it sources", manifest.Name)
	}
	m, err := manifest.Load(path)
	if err != nil {
		return err
	}
	st, err := c.Unlocked()
	if err != nil {
		return err
	}
	o := c.options(m, via)
	o.Names, o.All = names, true
	if c.Progress != nil {
		o.Progress = func(done, total int, _ string) {
			c.Progress(done, total)
			if done == total {
				fmt.Fprint(c.Stderr, "\r\033[K")
			}
		}
	}
	results, err := Run(ctx, st, o)
	if werr := WriteResults(c.Stdout, results, asJSON); werr != nil {
		return werr
	}
	if len(results) == 0 {
		fmt.Fprintf(c.Stderr, "wsx: %s sources no secret (source = \"vault://...\")\n", m.Path)
	}
	err = Hint(err)
	if err != nil && asJSON {
		// The answer is on stdout already: the error goes to stderr only.
		fmt.Fprintf(c.Stderr, "wsx: %v\n", err)
		if h := hint.Of(err); h != "" {
			fmt.Fprintf(c.Stderr, "hint: %s\n", h)
		}
		return hint.Said{Err: err}
	}
	return err
}

// Stale fetches, before a command starts, the sourced secrets of m, the
// wsx.toml governing Dir (nil: none), that are missing or older than
// their ttl (only those in names, when given). It unlocks nothing when
// none is.
func (c *Command) Stale(ctx context.Context, m *manifest.Manifest, names []string, via string) error {
	if m == nil || len(m.Sourced()) == 0 {
		return nil
	}
	have, err := c.Names()
	if err != nil || !Stale(m, c.Home, have, names, c.Now()) {
		return err
	}
	st, err := c.Unlocked()
	if err != nil {
		return err
	}
	o := c.options(m, via)
	o.Names, o.OptionalWarn = Only(m, names), true
	_, err = Run(ctx, st, o)
	return Hint(err)
}

// BeforeAgent is the fetch before `wsx agent` serves: when a sourced
// secret is missing or stale, unlock unlocks the store (with the agent's
// passphrase) and Stale fetches, so the agent starts with fresh values. A
// failed fetch is a warning: the agent starts with what the store has.
func (c *Command) BeforeAgent(ctx context.Context, unlock func() error) error {
	m := Sourcing(c.Dir)
	if m == nil {
		return nil
	}
	if have, err := c.Names(); err != nil || !Stale(m, c.Home, have, nil, c.Now()) {
		return err
	}
	if err := unlock(); err != nil {
		return err
	}
	if err := c.Stale(ctx, m, nil, audit.ViaAgent); err != nil {
		fmt.Fprintf(c.Stderr, "wsx: warning: %v\n", err)
	}
	return nil
}

// Hint adds the fix to a fetch's error.
func Hint(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, provider.ErrAuth):
		return hint.With(err, "the service refused the credentials: check the secrets holding its credentials (named in the error, or in wsx.toml's [provider.NAME] table); `wsx set NAME` replaces one")
	case errors.Is(err, provider.ErrNotFound):
		return hint.With(err, "check the source in wsx.toml (path, #key, ?version) against the service")
	case errors.Is(err, provider.ErrUnavailable):
		return hint.With(err, "check the service's address and the network; a stored value is used when the service is down unless required_fresh = true")
	case errors.Is(err, external.ErrMissing):
		return hint.With(err, "install wsx-provider with wsx: `make install` puts it beside wsx (`make build` in bin/); wsx looks beside its own executable, then on PATH")
	case errors.Is(err, store.ErrInvalidValue):
		return hint.With(err, "the service holds a value this secret's type refuses (a token or password is one line without NUL); fix it there, or give the secret another type in wsx.toml")
	}
	return err
}
