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
	d.mu.RLock()
	key := d.grantsKey
	d.mu.RUnlock()
	return d.grants.Load(key)
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

// shareRequest is the body of POST /v1/grants: a subject (alice, @dev),
// and a role, or none to revoke.
type shareRequest struct {
	Subject string `json:"subject"`
	Role    string `json:"role,omitempty"`
	Revoke  bool   `json:"revoke,omitempty"`
}

// shareResponse is the grant made or revoked, and every grant after it.
type shareResponse struct {
	Grant  access.Grant  `json:"grant"`
	Grants access.Grants `json:"grants"`
}

// change applies req on behalf of p and records it.
func (d *Daemon) change(req shareRequest, by access.Role, p sshagent.Peer) (shareResponse, error) {
	g, err := access.Resolve(req.Subject)
	if err != nil {
		return shareResponse{}, err
	}
	if !req.Revoke {
		role, err := access.ParseRole(req.Role)
		if err != nil {
			return shareResponse{}, err
		}
		g.Role = role.String()
	}
	rel, err := d.released()
	if err != nil {
		return shareResponse{}, err
	}
	d.mu.RLock()
	key := d.grantsKey
	d.mu.RUnlock()
	var prev access.Grant
	gs, err := d.grants.Update(key, func(gs access.Grants) (access.Grants, error) {
		out, pg, err := access.Change(gs, by, g, req.Revoke, d.owner)
		prev = pg
		return out, err
	})
	if err != nil {
		return shareResponse{}, err
	}
	ev := audit.EventGranted
	if req.Revoke {
		ev, g = audit.EventRevoked, prev
	}
	d.logf("%s: %s", ev, g)
	if _, err := rel.Append(audit.Record{Event: ev, Via: audit.ViaAPI, Result: audit.ResultOK, Detail: g.String(),
		Actor: d.actorAs(p.UID, by), Process: d.describe(p.PID).proc}); err != nil {
		return shareResponse{}, fmt.Errorf("the grant was changed, but not recorded: %w", err)
	}
	return shareResponse{Grant: g, Grants: gs}, nil
}

func (d *Daemon) handleShare(w http.ResponseWriter, r *http.Request, p sshagent.Peer) error {
	var req shareRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	resp, err := d.change(req, roleOf(r), p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, resp)
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
	err := c.do(context.Background(), http.MethodPost, "/v1/grants", shareRequest{Subject: subject, Role: role}, &resp)
	return resp.Grant, err
}

// Unshare takes back subject's grant on the daemon.
func (c *Client) Unshare(subject string) (access.Grant, error) {
	var resp shareResponse
	err := c.do(context.Background(), http.MethodPost, "/v1/grants", shareRequest{Subject: subject, Revoke: true}, &resp)
	return resp.Grant, err
}

// Grants lists the daemon's grants.
func (c *Client) Grants() (access.Grants, error) {
	var resp shareResponse
	err := c.do(context.Background(), http.MethodGet, "/v1/grants", nil, &resp)
	return resp.Grants, err
}
