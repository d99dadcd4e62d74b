package cmd

import (
	"os/user"
	"path/filepath"
	"strconv"

	"github.com/urfave/cli/v2"
	"github.com/wsxdev/wsx/daemon"
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
// owner (daemon.GuestAgent.Connect); the command then works on that
// agent's store.
func (s *session) dialGuest(g *daemon.GuestAgent) (*daemon.Client, daemon.Status, error) {
	c, st, err := g.Connect(s.env.Getenv("USER"))
	if err == nil {
		s.home, s.guestRole = st.Home, st.Role
	}
	return c, st, err
}

// openGuest makes the owner's agent, unlocked, the store this guest works
// on (daemon.GuestAgent.Open): a guest never opens the store itself.
func (s *session) openGuest(g *daemon.GuestAgent) error {
	c, st, err := g.Open(s.env.Getenv("USER"))
	if err == nil {
		s.client, s.home, s.guestRole = c, st.Home, st.Role
	}
	return err
}

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
