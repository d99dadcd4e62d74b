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
func CheckTrustedDir(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("socket directory %s: %w", dir, err)
	}
	owner := -1
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		owner = int(st.Uid)
	}
	bad := func(reason string) error {
		return &UntrustedError{Path: dir, What: "directory", Owner: owner, Reason: reason}
	}
	switch euid := os.Geteuid(); {
	case fi.Mode()&fs.ModeSymlink != 0:
		return bad("is a symlink")
	case !fi.IsDir():
		return bad("is not a directory")
	case owner != euid:
		return bad(fmt.Sprintf("is not yours (uid %d)", euid))
	case fi.Mode().Perm()&0o022 != 0:
		return bad(fmt.Sprintf("has mode %04o, writable by others (chmod 700 %s)", fi.Mode().Perm(), dir))
	}
	return nil
}

// CheckServer checks the process listening at the other end of c: its
// uid must be the effective uid or root. It returns that process's
// credentials.
func CheckServer(c net.Conn, path string) (Peer, error) {
	p, err := PeerOf(c)
	if err != nil {
		return p, &UntrustedError{Path: path, What: "listener", Owner: -1, Reason: "has no credentials: " + err.Error()}
	}
	if euid := os.Geteuid(); p.UID != euid && p.UID != 0 {
		return p, &UntrustedError{Path: path, What: "listener", Owner: p.UID,
			Reason: fmt.Sprintf("pid %d is not yours (uid %d)", p.PID, euid)}
	}
	return p, nil
}

// Dial connects to the socket at path once its directory passed
// CheckTrustedDir, and returns the connection once the process listening
// passed CheckServer; nothing is written to it before. Errors of either
// check wrap ErrUntrusted; a missing socket or one nobody listens on
// fails as net.Dial does.
func Dial(ctx context.Context, path string) (net.Conn, error) {
	if err := CheckTrustedDir(filepath.Dir(path)); err != nil {
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
	if _, err := CheckServer(c, path); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}
