package audit

import "time"

// Event is what happened to a secret or to the store.
type Event string

// The events a record can carry.
const (
	EventCreated  Event = "created"
	EventUpdated  Event = "updated"
	EventRotated  Event = "rotated"
	EventDeleted  Event = "deleted"
	EventUsed     Event = "used"
	EventAccessed Event = "accessed"
	EventDenied   Event = "denied"
	EventLocked   Event = "locked"
	EventUnlocked Event = "unlocked"
	EventLeaked   Event = "leaked" // a stored value found by wsx scan where it does not belong
)

// Via names the part of wsx that handled the event.
const (
	ViaCLI        = "cli"
	ViaExec       = "exec"
	ViaCredential = "credential"
	ViaAgent      = "agent"
	ViaAPI        = "api"
	// ViaProxy: `wsx exec --inject proxy` put the value into a request
	// the command sent through its HTTPS proxy, or saw a placeholder on
	// its way to a host the secret is not bound to (denied).
	ViaProxy = "proxy"
	// ViaUI is `wsx ui`, the local settings page the agent serves: its
	// records are the command line's (created, updated, rotated, deleted,
	// denied), made from a browser.
	ViaUI = "ui"
)

// Results a record can carry.
const (
	ResultOK     = "ok"
	ResultDenied = "denied"
	ResultError  = "error"
)

// EventPassphrase: the store's passphrase was changed (`wsx passwd`).
const EventPassphrase Event = "passphrase"

// EventFetched: a secret's value was fetched from the service its source
// names (`wsx sync`, or `wsx exec`/`wsx agent` finding it missing or
// older than its ttl). Detail names the source and version, "vault
// secret/app v3", never the value; a failed fetch has result "error" and
// the reason in Detail.
const EventFetched Event = "fetched"

// EventGranted and EventRevoked: the owner (or an admin) shared the
// workspace with a user or group, or took a share back (`wsx share`,
// `wsx unshare`). Detail says whom and which role: "alice edit",
// "@dev view".
const (
	EventGranted Event = "granted"
	EventRevoked Event = "revoked"
)

// Actor is the unix user on whose behalf the event happened.
type Actor struct {
	UID  int    `json:"uid"`
	User string `json:"user,omitempty"`
	// Role is the role of a guest, another user the workspace is shared
	// with (view, edit, admin); empty for its owner.
	Role string `json:"role,omitempty"`
}

// Process identifies the program that asked for a secret. Argv has every
// secret value masked before it is recorded.
type Process struct {
	PID   int      `json:"pid"`
	PPID  int      `json:"ppid,omitempty"`
	Exe   string   `json:"exe,omitempty"`
	Argv  []string `json:"argv,omitempty"`
	Cwd   string   `json:"cwd,omitempty"`
	Start uint64   `json:"start,omitempty"` // start time in clock ticks since boot (/proc/PID/stat field 22)
}

// Context says where a secret was used: the script and line that name it,
// the git repository, the host asked for, the SSH destination.
type Context struct {
	Command  string `json:"command,omitempty"` // short human form, e.g. "git clone https://host/org/repo.git"
	File     string `json:"file,omitempty"`
	Line     int    `json:"line,omitempty"`
	Repo     string `json:"repo,omitempty"`
	Remote   string `json:"remote,omitempty"`
	Branch   string `json:"branch,omitempty"`
	Commit   string `json:"commit,omitempty"`
	Protocol string `json:"protocol,omitempty"`
	Host     string `json:"host,omitempty"`
	Path     string `json:"path,omitempty"`
	Dest     string `json:"dest,omitempty"` // SSH destination
	// Claimed names the fields above that the client sent and the daemon
	// could not check (e.g. "file", "line", "host"); the process facts of
	// a record written by the daemon are its own, from the socket's peer.
	Claimed []string `json:"claimed,omitempty"`
}

// Record is one line of the audit log. It never holds a value or a hash of
// a value.
type Record struct {
	Seq     uint64    `json:"seq"`
	Time    time.Time `json:"time"`
	Event   Event     `json:"event"`
	Secret  string    `json:"secret,omitempty"`
	Actor   Actor     `json:"actor"`
	Via     string    `json:"via"`
	Process *Process  `json:"process,omitempty"`
	Context *Context  `json:"context,omitempty"`
	Result  string    `json:"result"`           // "ok", "denied", "error"
	Detail  string    `json:"detail,omitempty"` // short reason, never a value
	Prev    string    `json:"prev"`             // hex SHA-256 of the previous line; "" for the first
	MAC     string    `json:"mac"`              // hex HMAC-SHA256 over the line without "mac"
}
