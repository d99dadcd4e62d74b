package unixsock

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// ErrUntrusted: the socket's directory or the process listening on it is
// not the user's own; nothing was sent to it.
var ErrUntrusted = errors.New("not trusted")

// UntrustedError names the path refused and its owner; it wraps
// ErrUntrusted.
type UntrustedError struct {
	Path   string // the socket, or its directory
	What   string // "directory", "listener"
	Owner  int    // the uid found
	Reason string // what is wrong, for the message
}

func (e *UntrustedError) Error() string {
	return fmt.Sprintf("refusing %s: %s %s (owner uid %d%s): %v", e.Path, e.What, e.Reason, e.Owner, userName(e.Owner), ErrUntrusted)
}

func (e *UntrustedError) Unwrap() error { return ErrUntrusted }

// userName is " name" for uid, or "" when it has none.
func userName(uid int) string {
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		return " " + u.Username
	}
	return ""
}

// CheckTrustedDir checks, from the client's side, the directory of a
// socket it is about to use: a real directory (not a symlink) of the
// effective user, that neither group nor others may write.
func CheckTrustedDir(dir string) error { return checkDir(dir, os.Geteuid(), "yours") }

// checkDir is CheckTrustedDir for a directory that must be owner's.
func checkDir(dir string, owner int, whose string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("socket directory %s: %w", dir, err)
	}
	found := -1
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		found = int(st.Uid)
	}
	bad := func(reason string) error {
		return &UntrustedError{Path: dir, What: "directory", Owner: found, Reason: reason}
	}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return bad("is a symlink")
	case !fi.IsDir():
		return bad("is not a directory")
	case found != owner:
		return bad(fmt.Sprintf("is not %s (uid %d)", whose, owner))
	case fi.Mode().Perm()&0o022 != 0:
		return bad(fmt.Sprintf("has mode %04o, writable by others (chmod 700 %s)", fi.Mode().Perm(), dir))
	}
	return nil
}

// CheckServer checks the process listening at the other end of c: its
// uid must be the effective uid or root. It returns that process's
// credentials.
func CheckServer(c net.Conn, path string) (Peer, error) {
	return checkServer(c, path, os.Geteuid(), "yours")
}

func checkServer(c net.Conn, path string, owner int, whose string) (Peer, error) {
	p, err := PeerOf(c)
	if err != nil {
		return p, &UntrustedError{Path: path, What: "listener", Owner: -1, Reason: "has no credentials: " + err.Error()}
	}
	if p.UID != owner && p.UID != 0 {
		return p, &UntrustedError{Path: path, What: "listener", Owner: p.UID,
			Reason: fmt.Sprintf("pid %d is not %s (uid %d)", p.PID, whose, owner)}
	}
	return p, nil
}

// Dial connects to the socket at path once its directory passed
// CheckTrustedDir, and returns the connection once the process listening
// passed CheckServer; nothing is written to it before. Errors of either
// check wrap ErrUntrusted; a missing socket or one nobody listens on
// fails as net.Dial does.
func Dial(ctx context.Context, path string) (net.Conn, error) {
	return dial(ctx, path, os.Geteuid(), "yours")
}

// DialOwner is Dial for a guest of another user's agent: the socket's
// directory must be owner's (the user the guest named), not a symlink,
// writable by nobody else, and the process listening owner's or root's.
// A directory of anyone else, the guest's own included, is refused.
func DialOwner(ctx context.Context, path string, owner int) (net.Conn, error) {
	return dial(ctx, path, owner, fmt.Sprintf("owned by the agent's owner%s", userName(owner)))
}

func dial(ctx context.Context, path string, owner int, whose string) (net.Conn, error) {
	if err := checkDir(filepath.Dir(path), owner, whose); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			// As net.Dial would say: nobody to talk to.
			return nil, &net.OpError{Op: "dial", Net: "unix", Addr: &net.UnixAddr{Name: path, Net: "unix"}, Err: syscall.ENOENT}
		}
		return nil, err
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, err
	}
	if _, err := checkServer(c, path, owner, whose); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}
