package doctor

import (
	"context"

	"github.com/wsxdev/wsx/store"
)

// checkGuest is doctor for a guest: the owner's agent and the role it
// gives, git and ssh as for anyone, and the secrets' rotation as listed.
func (d *Doctor) checkGuest(ctx context.Context, r *report) {
	var metas []store.Meta
	sock := ""
	err := d.GuestErr
	if err == nil {
		g := d.Guest
		sock = g.AgentSocket()
		c, st, derr := d.DialGuest(g)
		if err = derr; err == nil {
			defer c.Close()
			if st.Locked {
				r.add(levelNote, "agent", "%s's agent (pid %d) is locked; only %s unlocks it", g.Owner, st.PID, g.Owner)
			} else {
				r.add(levelOK, "agent", "%s's agent (pid %d) serves you with the %s role", g.Owner, st.PID, st.Role)
				metas, _ = c.List()
			}
		}
	}
	if err != nil {
		r.add(levelFail, "agent", "%v", err)
		if h := d.Hint(err); h != "" {
			r.fix("%s", h)
		}
	}
	d.checkGit(ctx, r, metas)
	d.checkSSH(r, metas, sock)
	if metas != nil {
		d.checkRotation(r, metas)
	}
	r.add(levelNote, "roles", "roles separate different unix users only: you (uid %d) are a guest of %s, and every process of uid %d has your role", d.UID, d.Getenv("WSX_AGENT"), d.UID)
}
