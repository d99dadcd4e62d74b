package daemon

import (
	"errors"
	"fmt"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/wsxdev/wsx/audit"
	"github.com/wsxdev/wsx/internal/access"
	"github.com/wsxdev/wsx/store"
)

// GuestAgent is the agent of another user that a command is a guest of:
// WSX_AGENT=OWNER:DIR, DIR being the directory the owner's `wsx agent
// --shared-dir DIR` serves (what `wsx share` prints).
type GuestAgent struct {
	Owner string // the owner's user name
	UID   int    // and uid: the only one (besides root) trusted there
	Dir   string
}

// ErrBadGuestAgent: WSX_AGENT does not name an owner and a directory.
var ErrBadGuestAgent = errors.New("WSX_AGENT names no agent")

// ParseGuestAgent reads WSX_AGENT's value, OWNER:DIR with DIR absolute.
func ParseGuestAgent(v string) (GuestAgent, error) {
	name, dir, ok := strings.Cut(v, ":")
	if !ok || name == "" || !filepath.IsAbs(dir) {
		return GuestAgent{}, fmt.Errorf("WSX_AGENT=%q: give the owner and the shared directory, as `wsx share` prints them (WSX_AGENT=USER:/path/to/dir): %w", v, ErrBadGuestAgent)
	}
	u, err := user.Lookup(name)
	if err != nil {
		return GuestAgent{}, fmt.Errorf("WSX_AGENT=%q: no user %s here: %w", v, name, ErrBadGuestAgent)
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return GuestAgent{}, fmt.Errorf("WSX_AGENT=%q: user %s has uid %q: %w", v, name, u.Uid, ErrBadGuestAgent)
	}
	return GuestAgent{Owner: name, UID: uid, Dir: filepath.Clean(dir)}, nil
}

// APISocket and AgentSocket are the agent's sockets in g.Dir.
func (g GuestAgent) APISocket() string   { return filepath.Join(g.Dir, APISocketName) }
func (g GuestAgent) AgentSocket() string { return filepath.Join(g.Dir, AgentSocketName) }

// Dial connects to the agent as a guest (DialGuest).
func (g GuestAgent) Dial() (*Client, Status, error) {
	return DialGuest(g.APISocket(), g.UID, clientDialTimeout)
}

// clientDialTimeout bounds a guest's wait for the agent's status.
const clientDialTimeout = 2 * time.Second

// grantsOf is the grants file of st, unlocked, and its key.
func grantsOf(st *store.Store) (*access.File, []byte, error) {
	ak, err := st.AuditKey()
	if err != nil {
		return nil, nil, err
	}
	defer clear(ak)
	key, err := access.KeyFrom(ak)
	return access.NewFile(st.Home(), st.ID()), key, err
}

// ShareOn makes req on the grants of st, opened and unlocked by its owner
// without an agent, and returns the grant with the record the caller
// appends (the agent writes its own).
func ShareOn(st *store.Store, req access.Request, owner int) (access.Grant, audit.Record, error) {
	f, key, err := grantsOf(st)
	if err != nil {
		return access.Grant{}, audit.Record{}, err
	}
	defer clear(key)
	g, err := access.Apply(f, key, req, access.Owner, owner)
	if err != nil {
		return g, audit.Record{}, err
	}
	ev := audit.EventGranted
	if req.Revoke {
		ev = audit.EventRevoked
	}
	return g, audit.Record{Event: ev, Result: audit.ResultOK, Detail: g.String()}, nil
}

// GrantsOn lists the grants of st, opened and unlocked.
func GrantsOn(st *store.Store) (access.Grants, error) {
	f, key, err := grantsOf(st)
	if err != nil {
		return nil, err
	}
	defer clear(key)
	return f.Load(key)
}

// Granter changes and lists a workspace's grants: the agent's (Client),
// or those of a store opened here by its owner (LocalGrants).
type Granter interface {
	Share(subject, role string) (access.Grant, error)
	Unshare(subject string) (access.Grant, error)
	Grants() (access.Grants, error)
}

// LocalGrants are the grants of St, opened and unlocked here by its owner
// (uid Owner) without an agent; Record appends each change's record.
type LocalGrants struct {
	St     *store.Store
	Owner  int
	Record func(...audit.Record) error
}

func (l LocalGrants) Share(subject, role string) (access.Grant, error) {
	return l.apply(access.Request{Subject: subject, Role: role})
}

func (l LocalGrants) Unshare(subject string) (access.Grant, error) {
	return l.apply(access.Request{Subject: subject, Revoke: true})
}

func (l LocalGrants) Grants() (access.Grants, error) { return GrantsOn(l.St) }

func (l LocalGrants) apply(req access.Request) (access.Grant, error) {
	g, rec, err := ShareOn(l.St, req, l.Owner)
	if err != nil {
		return g, err
	}
	rec.Via = audit.ViaCLI
	return g, l.Record(rec)
}
