// Package access decides who may do what with a workspace the wsx agent
// serves. It is the one place where that is decided: the agent's local
// API and its SSH agent both ask a [Checker] before every request.
//
// # Model
//
// Every request comes from a process at the other end of a unix socket.
// Its uid (SO_PEERCRED) and, at the time of the request, its groups
// (/proc/PID/status) give it a [Role]:
//
//   - owner: the agent's own uid, and root. Everything.
//   - admin: everything the owner can do except sharing the admin role,
//     `wsx passwd`, and unlocking.
//   - edit: run code that uses the secrets (`wsx exec`, the git
//     credential helper, SSH signatures), never see a value directly; no
//     change to the store, no lock.
//   - view: names, types, descriptions, hosts, ages, status, doctor; no
//     value, no signature, no credential answer.
//
// Roles come from [Grants] the owner makes (`wsx share`): to a user, or to
// a group. A user's own grant decides when there is one; otherwise the
// highest grant of the user's groups does. Roles only tell different unix
// users apart: every process of the owner's uid is the owner.
//
// A guest never unlocks: a locked workspace refuses guests' requests with
// [ErrGuestLocked] until the owner unlocks it.
//
// Grants are kept sealed (AES-256-GCM under a key derived from the store's
// data key, bound to the store id) in the store's directory, so another
// user can neither read nor change them; see [Seal] and [File].
package access

import (
	"errors"
	"fmt"
	"os/user"
	"strconv"
	"strings"
)

// Role is what a peer may do. Higher roles include the lower ones.
type Role int

// The roles, from least to most.
const (
	None Role = iota
	View
	Edit
	Admin
	Owner
)

var roleNames = [...]string{None: "none", View: "view", Edit: "edit", Admin: "admin", Owner: "owner"}

func (r Role) String() string {
	if r < None || r > Owner {
		return fmt.Sprintf("role(%d)", int(r))
	}
	return roleNames[r]
}

// ParseRole reads a role that can be granted: view, edit or admin.
func ParseRole(s string) (Role, error) {
	switch s {
	case "view":
		return View, nil
	case "edit":
		return Edit, nil
	case "admin":
		return Admin, nil
	}
	return None, fmt.Errorf("role %q: a workspace is shared with view, edit or admin: %w", s, ErrInvalidGrant)
}

// Action is what a request asks to do.
type Action int

// The actions. Each request of the API and of the SSH agent is one of
// them.
const (
	// Connect: open a connection at all (checked at accept, and again
	// before each SSH agent request, so a revoked peer is cut off).
	Connect Action = iota
	// Status: the agent's status, doctor.
	Status
	// Read: metadata (names, types, descriptions, hosts, ages), the SSH
	// agent's key list.
	Read
	// Use: values, recorded (exec, the credential helper's answers,
	// compare, scan) and records of the peer's own events.
	Use
	// Sign: an SSH signature with a stored or added key.
	Sign
	// Write: add, set, rotate, rm; credentials git asks to store or
	// erase; ssh-add and ssh-add -d/-D; reload; audit verify.
	Write
	// Lock: wsx lock, ssh-add -x.
	Lock
	// Unlock: wsx unlock, ssh-add -X.
	Unlock
	// Share: grant or revoke view and edit.
	Share
	// ShareAdmin: grant or revoke admin.
	ShareAdmin
	// Passwd: change the store's passphrase.
	Passwd
)

var actionNames = [...]string{Connect: "connect", Status: "status", Read: "read", Use: "use", Sign: "sign",
	Write: "write", Lock: "lock", Unlock: "unlock", Share: "share", ShareAdmin: "share admin", Passwd: "passwd"}

func (a Action) String() string {
	if a < Connect || a > Passwd {
		return fmt.Sprintf("action(%d)", int(a))
	}
	return actionNames[a]
}

// Allows reports whether role r may do a. This table is the roles'
// definition.
func (r Role) Allows(a Action) bool {
	switch r {
	case Owner:
		return true
	case Admin:
		return a != ShareAdmin && a != Passwd && a != Unlock
	case Edit:
		return a <= Sign
	case View:
		return a <= Read
	}
	return false
}

// NeedsUnlocked reports whether a needs the workspace unlocked: all but
// connecting, status and the owner's unlock.
func (a Action) NeedsUnlocked() bool { return a != Connect && a != Status && a != Unlock }

// Errors of Check. Each message says what to do.
var (
	// ErrDenied: the peer's role does not allow the action.
	ErrDenied = errors.New("permission denied")
	// ErrGuestLocked: a guest asked for something while the workspace is
	// locked; only its owner can unlock it.
	ErrGuestLocked = errors.New("the workspace is locked, ask its owner")
	// ErrInvalidGrant: a grant names no known user or group, or no role.
	ErrInvalidGrant = errors.New("invalid grant")
)

// Kind says whether a grant's subject is a user or a group.
type Kind string

// The kinds of subject.
const (
	User  Kind = "user"
	Group Kind = "group"
)

// Grant gives a role to a user or a group. ID is the uid or gid, fixed
// when the grant is made; Name is shown.
type Grant struct {
	Kind Kind   `json:"kind"`
	ID   int    `json:"id"`
	Name string `json:"name"`
	Role string `json:"role"`
}

// Subject is the grant's subject as `wsx share` takes it: the user name,
// or @ and the group name.
func (g Grant) Subject() string {
	if g.Kind == Group {
		return "@" + g.Name
	}
	return g.Name
}

// String is what the audit log says of it: "alice edit", "@dev view".
func (g Grant) String() string { return g.Subject() + " " + g.Role }

// Grants are the grants of one workspace, at most one per subject.
type Grants []Grant

// MaxGrants bounds how many grants a workspace holds.
const MaxGrants = 256

// Set returns gs with g in place of any grant to the same subject.
func (gs Grants) Set(g Grant) (Grants, error) {
	if _, err := ParseRole(g.Role); err != nil {
		return gs, err
	}
	out := gs.Without(g.Kind, g.ID)
	if len(out) >= MaxGrants {
		return gs, fmt.Errorf("%d grants already: %w", len(out), ErrInvalidGrant)
	}
	return append(out, g), nil
}

// Without returns gs without the grant to the subject of kind k and id.
func (gs Grants) Without(k Kind, id int) Grants {
	out := make(Grants, 0, len(gs))
	for _, g := range gs {
		if g.Kind != k || g.ID != id {
			out = append(out, g)
		}
	}
	return out
}

// Find returns the grant to the subject of kind k and id.
func (gs Grants) Find(k Kind, id int) (Grant, bool) {
	for _, g := range gs {
		if g.Kind == k && g.ID == id {
			return g, true
		}
	}
	return Grant{}, false
}

// check validates grants read back from their file.
func (gs Grants) check() error {
	if len(gs) > MaxGrants {
		return fmt.Errorf("%d grants, at most %d", len(gs), MaxGrants)
	}
	seen := map[Grant]bool{}
	for _, g := range gs {
		if g.Kind != User && g.Kind != Group {
			return fmt.Errorf("grant of kind %q", g.Kind)
		}
		if g.ID < 0 {
			return fmt.Errorf("grant to id %d", g.ID)
		}
		if _, err := ParseRole(g.Role); err != nil {
			return err
		}
		key := Grant{Kind: g.Kind, ID: g.ID}
		if seen[key] {
			return fmt.Errorf("two grants to %s", g.Subject())
		}
		seen[key] = true
	}
	return nil
}

// Identity is who a peer is at the time of a request.
type Identity struct {
	UID  int
	GIDs []int // effective gid and supplementary groups
}

// RoleOf is the role id has in a workspace of owner with grants gs.
func RoleOf(owner int, gs Grants, id Identity) Role {
	if id.UID == owner || id.UID == 0 {
		return Owner
	}
	if g, ok := gs.Find(User, id.UID); ok {
		r, _ := ParseRole(g.Role)
		return r
	}
	best := None
	for _, gid := range id.GIDs {
		if g, ok := gs.Find(Group, gid); ok {
			if r, _ := ParseRole(g.Role); r > best {
				best = r
			}
		}
	}
	return best
}

// Peer is a request's origin as the socket tells it (SO_PEERCRED).
type Peer struct {
	UID, PID int
}

// Checker answers, for each request, whether its peer may do what it
// asks. Owner and root are decided from the uid alone; anyone else needs
// Grants, and its identity read from /proc at the time of the request.
type Checker struct {
	// Owner is the agent's uid.
	Owner int
	// Grants returns the current grants; an error refuses every guest.
	Grants func() (Grants, error)
	// Identify reads who the process pid is now (ProcIdentity); it must
	// fail when the process is gone or is no longer uid.
	Identify func(pid, uid int) (Identity, error)
	// Locked reports whether the workspace is locked.
	Locked func() bool
}

// Check returns the peer's role when it may do a, and an error wrapping
// ErrDenied (or ErrGuestLocked) otherwise. It never lets a guest in when
// something it needs cannot be read.
func (c *Checker) Check(p Peer, a Action) (Role, error) {
	if p.UID < 0 {
		return None, fmt.Errorf("a peer without credentials: %w", ErrDenied)
	}
	if p.UID == c.Owner || p.UID == 0 {
		return Owner, nil
	}
	role, err := c.guestRole(p)
	if err != nil {
		return None, err
	}
	if !role.Allows(a) {
		if role == None {
			return None, fmt.Errorf("uid %d (pid %d) has no role here: %w", p.UID, p.PID, ErrDenied)
		}
		return role, fmt.Errorf("uid %d (pid %d) has the %s role, which does not allow %s: %w", p.UID, p.PID, role, a, ErrDenied)
	}
	if a.NeedsUnlocked() && c.Locked != nil && c.Locked() {
		return role, ErrGuestLocked
	}
	return role, nil
}

func (c *Checker) guestRole(p Peer) (Role, error) {
	if c.Grants == nil || c.Identify == nil {
		return None, fmt.Errorf("uid %d (pid %d): nobody else may use this agent: %w", p.UID, p.PID, ErrDenied)
	}
	gs, err := c.Grants()
	if errors.Is(err, ErrGuestLocked) {
		return None, err // changed while locked: known again at the unlock
	}
	if err != nil {
		return None, fmt.Errorf("uid %d (pid %d): grants unavailable (%v): %w", p.UID, p.PID, err, ErrDenied)
	}
	if len(gs) == 0 {
		return None, fmt.Errorf("uid %d (pid %d): the workspace is not shared: %w", p.UID, p.PID, ErrDenied)
	}
	id, err := c.Identify(p.PID, p.UID)
	if err != nil {
		return None, fmt.Errorf("uid %d (pid %d): %v: %w", p.UID, p.PID, err, ErrDenied)
	}
	return RoleOf(c.Owner, gs, id), nil
}

// ParseSubject reads `wsx share`'s subject: a user name, or @ and a group
// name.
func ParseSubject(s string) (Kind, string, error) {
	k, name := User, s
	if rest, ok := strings.CutPrefix(s, "@"); ok {
		k, name = Group, rest
	}
	if name == "" || strings.ContainsAny(name, "@:/ \t\n\x00") {
		return "", "", fmt.Errorf("%q: name a user (alice) or a group (@dev): %w", s, ErrInvalidGrant)
	}
	return k, name, nil
}

// Resolve turns `wsx share`'s subject (alice, @dev) into the grant's
// subject: its kind, id and name, looked up on this system.
func Resolve(subject string) (Grant, error) {
	k, name, err := ParseSubject(subject)
	if err != nil {
		return Grant{}, err
	}
	g := Grant{Kind: k, Name: name}
	if k == Group {
		gr, err := user.LookupGroup(name)
		if err != nil {
			return Grant{}, fmt.Errorf("group %s: no such group here: %w", name, ErrInvalidGrant)
		}
		g.ID, err = strconv.Atoi(gr.Gid)
		return g, err
	}
	u, err := user.Lookup(name)
	if err != nil {
		return Grant{}, fmt.Errorf("user %s: no such user here: %w", name, ErrInvalidGrant)
	}
	g.ID, err = strconv.Atoi(u.Uid)
	return g, err
}

// Change grants g (or, with revoke, takes back the grant to g's subject)
// on behalf of a peer of role by, and returns the grants and the grant
// that was there before (zero when none). Granting or revoking admin
// needs ShareAdmin (the owner); anything else needs Share. The owner
// cannot be given a role: it has them all.
func Change(gs Grants, by Role, g Grant, revoke bool, owner int) (Grants, Grant, error) {
	if !by.Allows(Share) {
		return gs, Grant{}, fmt.Errorf("the %s role cannot share the workspace: %w", by, ErrDenied)
	}
	if g.Kind == User && (g.ID == owner || g.ID == 0) {
		return gs, Grant{}, fmt.Errorf("%s owns the workspace (or is root) and has every role already: %w", g.Name, ErrInvalidGrant)
	}
	prev, had := gs.Find(g.Kind, g.ID)
	if (g.Role == Admin.String() || prev.Role == Admin.String()) && !by.Allows(ShareAdmin) {
		return gs, prev, fmt.Errorf("only the owner grants or revokes admin: %w", ErrDenied)
	}
	if revoke {
		if !had {
			return gs, prev, fmt.Errorf("%s has no grant here: %w", g.Subject(), ErrNotGranted)
		}
		return gs.Without(g.Kind, g.ID), prev, nil
	}
	out, err := gs.Set(g)
	return out, prev, err
}

// ErrNotGranted: unshare of a subject that has no grant.
var ErrNotGranted = errors.New("not shared with them")

// Request is a change of grants: `wsx share SUBJECT ROLE` or, with
// Revoke, `wsx unshare SUBJECT`.
type Request struct {
	Subject string `json:"subject"`
	Role    string `json:"role,omitempty"`
	Revoke  bool   `json:"revoke,omitempty"`
}

// Apply makes req on the grants file f (opened with key), on behalf of a
// peer of role by, in a workspace of owner. It returns the grant made, or
// the one revoked, for the audit log.
func Apply(f *File, key []byte, req Request, by Role, owner int) (Grant, error) {
	g, err := Resolve(req.Subject)
	if err != nil {
		return Grant{}, err
	}
	if !req.Revoke {
		role, err := ParseRole(req.Role)
		if err != nil {
			return Grant{}, err
		}
		g.Role = role.String()
	}
	var prev Grant
	if _, err := f.Update(key, func(gs Grants) (Grants, error) {
		out, pg, err := Change(gs, by, g, req.Revoke, owner)
		prev = pg
		return out, err
	}); err != nil {
		return Grant{}, err
	}
	if req.Revoke {
		return prev, nil
	}
	return g, nil
}
