package daemon

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/wsxdev/wsx/audit"
	"github.com/wsxdev/wsx/internal/access"
	"github.com/wsxdev/wsx/sshagent"
	"github.com/wsxdev/wsx/store"
)

// The daemon asks its access.Checker, in authorize, before every request
// of the local API (route) and of the SSH agent (sshagent's guard): that
// is the one place where who may do what is decided.

// newChecker is the daemon's access check: the owner and root by uid,
// guests by the grants sealed in the store, their groups read from /proc
// at each request.
func (d *Daemon) newChecker() *access.Checker {
	return &access.Checker{
		Owner:    d.owner,
		Grants:   d.loadGrants,
		Identify: access.ProcIdentity,
		Locked:   d.st.Locked,
	}
}

// loadGrants returns the current grants: read again when the file changed
// (a grant revoked by a command that opened the store itself counts at
// the next request).
func (d *Daemon) loadGrants() (access.Grants, error) {
	// Held while the key is used: a lock wipes it under the write lock.
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.grants.Load(d.grantsKey)
}

// guestLocked is a guest's request while the workspace is locked: only
// its owner unlocks it.
type guestLocked struct{}

func (guestLocked) Error() string   { return access.ErrGuestLocked.Error() }
func (guestLocked) Unwrap() []error { return []error{access.ErrGuestLocked, store.ErrLocked} }

// authorize says whether peer may do a, and with which role.
func (d *Daemon) authorize(p sshagent.Peer, a access.Action) (access.Role, error) {
	role, err := d.checker.Check(access.Peer{UID: p.UID, PID: p.PID}, a)
	if errors.Is(err, access.ErrGuestLocked) {
		return role, guestLocked{}
	}
	return role, err
}

// authorizeAgent is the SSH agent's ServeOptions.Authorize.
func (d *Daemon) authorizeAgent(p sshagent.Peer, a access.Action) error {
	_, err := d.authorize(p, a)
	return err
}

type roleKey struct{}

// roleOf is the role route found for the request.
func roleOf(r *http.Request) access.Role {
	role, _ := r.Context().Value(roleKey{}).(access.Role)
	return role
}

func withRole(r *http.Request, role access.Role) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), roleKey{}, role))
}

// actorAs is uid as the audit log names it, with the guest's role.
func (d *Daemon) actorAs(uid int, role access.Role) audit.Actor {
	a := d.actor(uid)
	if role != access.Owner && role != access.None {
		a.Role = role.String()
	}
	return a
}

// shareResponse is the grant made or revoked, or every grant.
type shareResponse struct {
	Grant  access.Grant  `json:"grant"`
	Grants access.Grants `json:"grants,omitempty"`
}

// change applies req on behalf of p, of role by, and records it as asked
// via the API or the settings page.
func (d *Daemon) change(req access.Request, by access.Role, p sshagent.Peer, via string) (access.Grant, error) {
	rel, err := d.released()
	if err != nil {
		return access.Grant{}, err
	}
	d.mu.RLock()
	g, err := access.Apply(d.grants, d.grantsKey, req, by, d.owner)
	d.mu.RUnlock()
	if err != nil {
		return access.Grant{}, err
	}
	ev := audit.EventGranted
	if req.Revoke {
		ev = audit.EventRevoked
	}
	d.logf("%s: %s", ev, g)
	if _, err := rel.Append(audit.Record{Event: ev, Via: via, Result: audit.ResultOK, Detail: g.String(),
		Actor: d.actorAs(p.UID, by), Process: d.describe(p.PID).proc}); err != nil {
		return g, fmt.Errorf("the grant was changed, but not recorded: %w", err)
	}
	return g, nil
}

func (d *Daemon) handleShare(w http.ResponseWriter, r *http.Request, p sshagent.Peer) error {
	var req access.Request
	if err := decode(r, &req); err != nil {
		return err
	}
	g, err := d.change(req, roleOf(r), p, audit.ViaAPI)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, shareResponse{Grant: g})
}

func (d *Daemon) handleGrants(w http.ResponseWriter, _ *http.Request, _ sshagent.Peer) error {
	gs, err := d.loadGrants()
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, shareResponse{Grants: gs})
}

// Share grants role to subject (alice, @dev) on the daemon.
func (c *Client) Share(subject, role string) (access.Grant, error) {
	var resp shareResponse
	err := c.do(context.Background(), http.MethodPost, "/v1/grants", access.Request{Subject: subject, Role: role}, &resp)
	return resp.Grant, err
}

// Unshare takes back subject's grant on the daemon.
func (c *Client) Unshare(subject string) (access.Grant, error) {
	var resp shareResponse
	err := c.do(context.Background(), http.MethodPost, "/v1/grants", access.Request{Subject: subject, Revoke: true}, &resp)
	return resp.Grant, err
}

// Grants lists the daemon's grants.
func (c *Client) Grants() (access.Grants, error) {
	var resp shareResponse
	err := c.do(context.Background(), http.MethodGet, "/v1/grants", nil, &resp)
	return resp.Grants, err
}
