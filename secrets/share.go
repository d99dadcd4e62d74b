package secrets

import (
	"fmt"
	"io"

	"github.com/wsxdev/wsx/internal/access"
)

// Granter changes and lists a workspace's grants (daemon.Granter).
type Granter interface {
	Share(subject, role string) (access.Grant, error)
	Unshare(subject string) (access.Grant, error)
	Grants() (access.Grants, error)
}

// Shared is where guests reach a workspace's agent.
type Shared struct {
	Owner string // the workspace owner's user name
	Dir   string // the agent's shared directory, "" when it serves none
	Agent string // the SSH agent's socket in Dir
}

// Share is `wsx share SUBJECT ROLE` (role "" with revoke for `wsx
// unshare SUBJECT`): the change, then what to give the guest, who
// reaches the agent through where (resolved after the change).
func Share(w io.Writer, gr Granter, subject, role string, revoke bool, where func() (Shared, error)) error {
	if revoke {
		g, err := gr.Unshare(subject)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "unshared: %s had %s\n", g.Subject(), g.Role)
		return err
	}
	g, err := gr.Share(subject, role)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "shared with %s: %s\n", g.Subject(), g.Role)
	sh, err := where()
	if err != nil {
		return err
	}
	if sh.Dir == "" {
		_, err := fmt.Fprintf(w, "%s reaches the agent through a shared directory: start it with `wsx agent --shared-dir DIR`\n"+
			"(a directory of yours, mode 0750, whose group holds your guests); `wsx share --list` then shows the grants\n", g.Subject())
		return err
	}
	_, err = fmt.Fprintf(w, "give %s these lines:\n  export WSX_AGENT=%s:%s SSH_AUTH_SOCK=%s\n", g.Subject(), sh.Owner, sh.Dir, sh.Agent)
	return err
}

// ListGrants is `wsx share --list`: one line per grant, or JSON.
func ListGrants(w io.Writer, gr Granter, asJSON bool) error {
	gs, err := gr.Grants()
	if err != nil {
		return err
	}
	if asJSON {
		if gs == nil {
			gs = access.Grants{}
		}
		return WriteJSON(w, gs)
	}
	for _, g := range gs {
		fmt.Fprintf(w, "%-24s %s\n", g.Subject(), g.Role)
	}
	return nil
}
