package cmd

import (
	"context"
	"errors"
	"fmt"
	"os/user"
	"path/filepath"
	"strconv"

	"github.com/urfave/cli/v2"
	"github.com/wsxdev/wsx/daemon"
	"github.com/wsxdev/wsx/internal/access"
	"github.com/wsxdev/wsx/secrets"
)

// guest reads WSX_AGENT: the agent of another user this command is a
// guest of; nil when unset.
func (s *session) guest() (*daemon.GuestAgent, error) {
	v := s.env.Getenv("WSX_AGENT")
	if v == "" {
		return nil, nil
	}
	g, err := daemon.ParseGuestAgent(v)
	if err != nil {
		return nil, usageError{Msg: err.Error()}
	}
	return &g, nil
}

// dialGuest connects to the agent WSX_AGENT names, trusting only its
// owner; the command then works on that agent's store.
func (s *session) dialGuest(g *daemon.GuestAgent) (*daemon.Client, daemon.Status, error) {
	c, st, err := g.Dial()
	var re *daemon.RemoteError
	switch {
	case err == nil:
	case errors.Is(err, daemon.ErrNoDaemon):
		return nil, st, withHint(err, "ask %s to start it: `wsx agent --shared-dir %s`", g.Owner, g.Dir)
	case errors.Is(err, daemon.ErrUntrusted), errors.As(err, &re), errors.Is(err, context.DeadlineExceeded):
		return nil, st, err
	default:
		// The agent closes a connection it lets nobody make before any
		// answer: for a guest, that is a refusal.
		return nil, st, withHint(fmt.Errorf("%s's agent at %s closed the connection: %w", g.Owner, g.APISocket(), errPermission),
			"ask %s to share the workspace with you (`wsx share %s ROLE`)", g.Owner, s.env.Getenv("USER"))
	}
	s.home = st.Home
	return c, st, nil
}

// guestStore is the store a guest works on: the owner's agent, unlocked.
// A guest never opens the store itself and never unlocks it.
func (s *session) guestStore(g *daemon.GuestAgent) (secretStore, error) {
	c, st, err := s.dialGuest(g)
	if err != nil {
		return nil, err
	}
	if st.Locked {
		c.Close()
		return nil, fmt.Errorf("%s's agent (pid %d): %w", g.Owner, st.PID, guestLockedErr)
	}
	s.client = c
	return c, nil
}

// guestLockedErr is what a guest meets at a locked workspace (exit 4).
var guestLockedErr = &daemon.RemoteError{Kind: "guest_locked", Message: access.ErrGuestLocked.Error()}

func shareCommands(env *Env) []*cli.Command {
	return []*cli.Command{{
		Name:      "share",
		Usage:     "let another unix user or group use this workspace: view, edit or admin",
		ArgsUsage: "USER|@GROUP view|edit|admin",
		Description: "view: names, types, hosts, ages, status; no value, signature or credential.\n" +
			"edit: wsx exec, the git credential helper and SSH signing, audited under the\n" +
			"guest's name; no command shows a value. admin: everything but sharing admin,\n" +
			"passwd and unlock. Guests reach the agent started with --shared-dir DIR.",
		Flags: []cli.Flag{&cli.BoolFlag{Name: "list", Usage: "list the grants"},
			&cli.BoolFlag{Name: "json", Usage: "with --list, print JSON"}},
		Action: action(env, func(s *session, c *cli.Context) error { return s.share(c, false) }),
	}, {
		Name:      "unshare",
		Usage:     "take back what `wsx share` gave a user or group",
		ArgsUsage: "USER|@GROUP",
		Action:    action(env, func(s *session, c *cli.Context) error { return s.share(c, true) }),
	}}
}

// share is `wsx share` and `wsx unshare`: through the agent when one
// serves the store unlocked (it records the change), else on the store
// opened here.
func (s *session) share(c *cli.Context, revoke bool) error {
	gr, err := s.granter()
	if err != nil {
		return err
	}
	if !revoke && c.Bool("list") {
		return secrets.ListGrants(s.env.Stdout, gr, c.Bool("json"))
	}
	args := c.Args().Slice()
	if revoke && len(args) != 1 || !revoke && len(args) != 2 {
		return usagef("usage: wsx share USER|@GROUP view|edit|admin; wsx unshare USER|@GROUP; wsx share --list")
	}
	return secrets.Share(s.env.Stdout, gr, args[0], args[len(args)-1], revoke, s.shared)
}

// granter is the grants `wsx share` works on: the agent's, or the store's
// opened here.
func (s *session) granter() (secrets.Granter, error) {
	if c, ok := s.viaDaemon(false); ok {
		return c, nil
	}
	if s.agentErr != nil {
		return nil, s.agentErr
	}
	st, err := s.direct()
	if err != nil {
		return nil, err
	}
	return daemon.LocalGrants{St: s.st, Owner: s.env.UID, Record: st.Record}, nil
}

// shared is where guests reach the agent: its shared directory, if any.
func (s *session) shared() (secrets.Shared, error) {
	var sh secrets.Shared
	if s.client != nil {
		if st, err := s.client.Status(s.c.Context); err == nil && st.SharedDir != "" {
			sh.Dir, sh.Agent = st.SharedDir, filepath.Join(st.SharedDir, daemon.AgentSocketName)
		}
	}
	if ga, _ := s.guest(); ga != nil {
		sh.Owner = ga.Owner // an admin guest shares its owner's workspace
	} else if me, err := user.LookupId(strconv.Itoa(s.env.UID)); err == nil {
		sh.Owner = me.Username
	} else if sh.Dir != "" {
		return sh, err
	}
	return sh, nil
}
