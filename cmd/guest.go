package cmd

import (
	"context"
	"errors"
	"fmt"
	"os/user"
	"path/filepath"
	"strconv"

	"github.com/urfave/cli/v2"
	"github.com/wsxdev/wsx/audit"
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
	s.home, s.guestRole = st.Home, st.Role
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
			"edit: wsx exec (placeholders and the proxy unless --inject env), the git credential\n" +
			"helper and SSH signing, audited under the guest's name; no command shows a value.\n" +
			"admin: everything but sharing admin, passwd and unlock. Guests reach the agent\n" +
			"started with --shared-dir DIR.",
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
	if !revoke && c.Bool("list") {
		return s.listGrants(c.Bool("json"))
	}
	args := c.Args().Slice()
	if revoke && len(args) != 1 || !revoke && len(args) != 2 {
		return usagef("usage: wsx share USER|@GROUP view|edit|admin; wsx unshare USER|@GROUP; wsx share --list")
	}
	req := access.Request{Subject: args[0], Revoke: revoke}
	if !revoke {
		req.Role = args[1]
	}
	g, err := s.changeGrants(req)
	if err != nil {
		return err
	}
	if revoke {
		_, err := fmt.Fprintf(s.env.Stdout, "unshared: %s had %s\n", g.Subject(), g.Role)
		return err
	}
	fmt.Fprintf(s.env.Stdout, "shared with %s: %s\n", g.Subject(), g.Role)
	return s.printGuestSetup(g)
}

func (s *session) changeGrants(req access.Request) (access.Grant, error) {
	if c, ok := s.viaDaemon(false); ok {
		if req.Revoke {
			return c.Unshare(req.Subject)
		}
		return c.Share(req.Subject, req.Role)
	}
	if s.agentErr != nil {
		return access.Grant{}, s.agentErr
	}
	st, err := s.direct()
	if err != nil {
		return access.Grant{}, err
	}
	g, rec, err := daemon.ShareOn(s.st, req, s.env.UID)
	if err != nil {
		return g, err
	}
	rec.Via = audit.ViaCLI
	return g, st.Record(rec)
}

func (s *session) listGrants(asJSON bool) error {
	var gs access.Grants
	if c, ok := s.viaDaemon(false); ok {
		var err error
		if gs, err = c.Grants(); err != nil {
			return err
		}
	} else {
		if s.agentErr != nil {
			return s.agentErr
		}
		if _, err := s.direct(); err != nil {
			return err
		}
		var err error
		if gs, err = daemon.GrantsOn(s.st); err != nil {
			return err
		}
	}
	if asJSON {
		if gs == nil {
			gs = access.Grants{}
		}
		return secrets.WriteJSON(s.env.Stdout, gs)
	}
	for _, g := range gs {
		fmt.Fprintf(s.env.Stdout, "%-24s %s\n", g.Subject(), g.Role)
	}
	return nil
}

// printGuestSetup tells the owner what to give the guest.
func (s *session) printGuestSetup(g access.Grant) error {
	dir := ""
	if s.client != nil {
		if st, err := s.client.Status(s.c.Context); err == nil {
			dir = st.SharedDir
		}
	}
	if dir == "" {
		_, err := fmt.Fprintf(s.env.Stdout, "%s reaches the agent through a shared directory: start it with `wsx agent --shared-dir DIR`\n"+
			"(a directory of yours, mode 0750, whose group holds your guests); `wsx share --list` then shows the grants\n", g.Subject())
		return err
	}
	owner := ""
	if ga, _ := s.guest(); ga != nil {
		owner = ga.Owner // an admin guest shares its owner's workspace
	} else if me, err := user.LookupId(strconv.Itoa(s.env.UID)); err == nil {
		owner = me.Username
	} else {
		return err
	}
	_, err := fmt.Fprintf(s.env.Stdout, "give %s these lines:\n  export WSX_AGENT=%s:%s SSH_AUTH_SOCK=%s\n",
		g.Subject(), owner, dir, filepath.Join(dir, daemon.AgentSocketName))
	return err
}
