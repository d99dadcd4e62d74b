package cmd

import (
	"context"
	"errors"
	"fmt"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"
	"github.com/wsxdev/wsx/audit"
	"github.com/wsxdev/wsx/daemon"
	"github.com/wsxdev/wsx/internal/access"
	"github.com/wsxdev/wsx/store"
)

// guestAgent is the agent of another user a command is a guest of:
// WSX_AGENT=USER:DIR, DIR being the directory the owner's `wsx agent
// --shared-dir DIR` serves (what `wsx share` prints).
type guestAgent struct {
	owner string
	uid   int
	dir   string
}

// guest reads WSX_AGENT; nil when unset.
func (s *session) guest() (*guestAgent, error) {
	v := s.env.Getenv("WSX_AGENT")
	if v == "" {
		return nil, nil
	}
	name, dir, ok := strings.Cut(v, ":")
	if !ok || name == "" || !filepath.IsAbs(dir) {
		return nil, usagef("WSX_AGENT=%q: give the owner and the shared directory, as `wsx share` prints them: WSX_AGENT=USER:/path/to/dir", v)
	}
	u, err := user.Lookup(name)
	if err != nil {
		return nil, usagef("WSX_AGENT=%q: no user %s here", v, name)
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return nil, usagef("WSX_AGENT=%q: user %s has uid %q", v, name, u.Uid)
	}
	return &guestAgent{owner: name, uid: uid, dir: filepath.Clean(dir)}, nil
}

// dialGuest connects to the agent WSX_AGENT names, trusting only its
// owner; the command then works on that agent's store.
func (s *session) dialGuest(g *guestAgent) (*daemon.Client, daemon.Status, error) {
	sock := filepath.Join(g.dir, daemon.APISocketName)
	c, st, err := daemon.DialGuest(sock, g.uid, daemonDialTimeout)
	var re *daemon.RemoteError
	switch {
	case err == nil:
	case errors.Is(err, daemon.ErrNoDaemon):
		return nil, st, withHint(err, "ask %s to start it: `wsx agent --shared-dir %s`", g.owner, g.dir)
	case errors.Is(err, daemon.ErrUntrusted), errors.As(err, &re), errors.Is(err, context.DeadlineExceeded):
		return nil, st, err
	default:
		// The agent closes a connection it lets nobody make before any
		// answer: for a guest, that is a refusal.
		return nil, st, withHint(fmt.Errorf("%s's agent at %s closed the connection: %w", g.owner, sock, errPermission),
			"ask %s to share the workspace with you (`wsx share %s ROLE`)", g.owner, s.env.Getenv("USER"))
	}
	s.home = st.Home
	return c, st, nil
}

// guestStore is the store a guest works on: the owner's agent, unlocked.
// A guest never opens the store itself and never unlocks it.
func (s *session) guestStore(g *guestAgent) (secretStore, error) {
	c, st, err := s.dialGuest(g)
	if err != nil {
		return nil, err
	}
	if st.Locked {
		c.Close()
		return nil, fmt.Errorf("%s's agent (pid %d): %w", g.owner, st.PID, guestLockedErr)
	}
	s.client = c
	return daemonStore{s, c}, nil
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
	if c, ok := s.viaDaemon(); ok {
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
	f, key, err := s.grantsFile()
	if err != nil {
		return access.Grant{}, err
	}
	defer clear(key)
	g, err := access.Apply(f, key, req, access.Owner, s.env.UID)
	if err != nil {
		return g, err
	}
	ev := audit.EventGranted
	if req.Revoke {
		ev = audit.EventRevoked
	}
	return g, st.Record(audit.Record{Event: ev, Via: audit.ViaCLI, Result: audit.ResultOK, Detail: g.String()})
}

// grantsFile is the grants file of the store opened here, and its key.
func (s *session) grantsFile() (*access.File, []byte, error) {
	ak, err := s.st.AuditKey()
	if err != nil {
		return nil, nil, err
	}
	defer clear(ak)
	key, err := access.KeyFrom(ak)
	return access.NewFile(s.home, s.st.ID()), key, err
}

func (s *session) listGrants(asJSON bool) error {
	var gs access.Grants
	if c, ok := s.viaDaemon(); ok {
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
		f, key, err := s.grantsFile()
		if err != nil {
			return err
		}
		defer clear(key)
		if gs, err = f.Load(key); err != nil {
			return err
		}
	}
	if asJSON {
		if gs == nil {
			gs = access.Grants{}
		}
		return writeJSON(s.env.Stdout, gs)
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
		fmt.Fprintf(s.env.Stdout, "guests reach the agent through a shared directory: start it with `wsx agent --shared-dir DIR`\n"+
			"(DIR yours, mode 0750, its group %s's), then `wsx share` again prints what to give them\n", g.Subject())
		return nil
	}
	me, err := user.LookupId(strconv.Itoa(s.env.UID))
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(s.env.Stdout, "give %s these lines:\n  export WSX_AGENT=%s:%s SSH_AUTH_SOCK=%s\n",
		g.Subject(), me.Username, dir, filepath.Join(dir, daemon.AgentSocketName))
	return err
}

// doctorGuest is doctor for a guest: the owner's agent and the role it
// gives, git and ssh as for anyone, and the secrets' rotation as listed.
func (s *session) doctorGuest(ctx context.Context, r *report, g *guestAgent, err error) {
	var metas []store.Meta
	sock := ""
	if err == nil {
		sock = filepath.Join(g.dir, daemon.AgentSocketName)
		var c *daemon.Client
		var st daemon.Status
		if c, st, err = s.dialGuest(g); err == nil {
			defer c.Close()
			if st.Locked {
				r.add(levelNote, "agent", "%s's agent (pid %d) is locked; only %s unlocks it", g.owner, st.PID, g.owner)
			} else {
				r.add(levelOK, "agent", "%s's agent (pid %d) serves you with the %s role", g.owner, st.PID, st.Role)
				metas, _ = c.List()
			}
		}
	}
	if err != nil {
		r.add(levelFail, "agent", "%v", err)
		if h := hintOf(err); h != "" {
			r.fix("%s", h)
		}
	}
	s.doctorGit(ctx, r, metas)
	s.doctorSSH(r, metas, sock)
	if metas != nil {
		s.doctorRotation(r, metas)
	}
	r.add(levelNote, "roles", "roles separate different unix users only: you (uid %d) are a guest of %s, and every process of uid %d has your role", s.env.UID, s.env.Getenv("WSX_AGENT"), s.env.UID)
}
