package unixsock

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// MaxSocketPath is the longest unix socket path the kernel accepts
// (sun_path holds 108 bytes with the terminating NUL).
const MaxSocketPath = 107

// Errors of Listen.
var (
	ErrUnsafeDir    = errors.New("unsafe socket directory")
	ErrPathTooLong  = errors.New("socket path too long")
	ErrAgentRunning = errors.New("an agent is already running")
	ErrNotSocket    = errors.New("not a socket")
)

// Listen creates a socket at path, mode 0600. Its directory must
// already exist, be a real directory (not a symlink) owned by the
// effective uid with mode 0700. A socket left at path by a server that
// died is replaced; a socket where a server still answers is left alone
// and reported with that server's pid; anything else at path is refused.
func Listen(path string) (net.Listener, error) {
	if err := checkPathLen(path); err != nil {
		return nil, err
	}
	if err := CheckPrivateDir(filepath.Dir(path)); err != nil {
		return nil, err
	}
	return listen(path)
}

// ListenShared is Listen in a directory that need not be private, as
// ssh-agent's -a: the socket itself is 0600 and servers check every
// peer's uid, so only the directory's own protection is lost (another
// user who may write there can remove or replace the socket). The
// directory must exist and be a directory; CheckPrivateDir says what to
// warn about.
func ListenShared(path string) (net.Listener, error) {
	if err := checkPathLen(path); err != nil {
		return nil, err
	}
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("socket directory %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("socket directory %s is not a directory: %w", dir, ErrUnsafeDir)
	}
	return listen(path)
}

// ListenGroup is Listen for other users: a socket in a directory shared
// with them, mode 0660 with the directory's group, so that only members
// of that group (and the owner) can connect; servers still check every
// peer. The directory must be a real directory (not a symlink) of the
// effective uid that neither group nor others may write, so nobody else
// can remove or replace the socket.
func ListenGroup(path string) (net.Listener, error) {
	if err := checkPathLen(path); err != nil {
		return nil, err
	}
	dir := filepath.Dir(path)
	fi, err := os.Lstat(dir)
	if err != nil {
		return nil, fmt.Errorf("shared directory %s: %w", dir, err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return nil, fmt.Errorf("shared directory %s is a symlink; use the real path: %w", dir, ErrUnsafeDir)
	case !fi.IsDir() || !ok:
		return nil, fmt.Errorf("shared directory %s is not a directory: %w", dir, ErrUnsafeDir)
	case int(st.Uid) != os.Geteuid():
		return nil, fmt.Errorf("shared directory %s is owned by uid %d, not %d: %w", dir, st.Uid, os.Geteuid(), ErrUnsafeDir)
	case fi.Mode().Perm()&0o022 != 0:
		return nil, fmt.Errorf("shared directory %s has mode %04o, writable by others (chmod 750 %s): %w", dir, fi.Mode().Perm(), dir, ErrUnsafeDir)
	}
	l, err := listen(path)
	if err != nil {
		return nil, err
	}
	if err := os.Lchown(path, -1, int(st.Gid)); err != nil {
		l.Close()
		return nil, fmt.Errorf("chgrp %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o660); err != nil {
		l.Close()
		return nil, fmt.Errorf("chmod %s: %w", path, err)
	}
	return l, nil
}

func checkPathLen(path string) error {
	if len(path) > MaxSocketPath {
		return fmt.Errorf("socket path %s is %d bytes, the limit is %d; choose a shorter directory: %w",
			path, len(path), MaxSocketPath, ErrPathTooLong)
	}
	return nil
}

func listen(path string) (net.Listener, error) {
	if err := clearStale(path); err != nil {
		return nil, err
	}
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, fmt.Errorf("chmod %s: %w", path, err)
	}
	return l, nil
}

// CheckPrivateDir refuses a socket directory other users could enter or
// swap: a symlink, not a directory, another user's, or a mode other than
// 0700.
func CheckPrivateDir(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("socket directory %s: %w", dir, err)
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return fmt.Errorf("socket directory %s is a symlink; use the real path: %w", dir, ErrUnsafeDir)
	}
	if !fi.IsDir() {
		return fmt.Errorf("socket directory %s is not a directory: %w", dir, ErrUnsafeDir)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("socket directory %s: no owner information: %w", dir, ErrUnsafeDir)
	}
	if euid := os.Geteuid(); int(st.Uid) != euid {
		return fmt.Errorf("socket directory %s is owned by uid %d, not %d: %w", dir, st.Uid, euid, ErrUnsafeDir)
	}
	if perm := fi.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky); perm != 0o700 {
		return fmt.Errorf("socket directory %s has mode %04o, want 0700 (chmod 700 %s): %w", dir, perm&fs.ModePerm, dir, ErrUnsafeDir)
	}
	return nil
}

// clearStale removes a socket at path that no agent answers on.
func clearStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("socket %s: %w", path, err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("%s exists and is not a socket; remove it or choose another path: %w", path, ErrNotSocket)
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		defer c.Close()
		if peer, perr := PeerOf(c); perr == nil && peer.PID > 0 {
			return fmt.Errorf("socket %s: pid %d answers on it: %w", path, peer.PID, ErrAgentRunning)
		}
		return fmt.Errorf("socket %s: %w", path, ErrAgentRunning)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("probe socket %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove stale socket %s: %w", path, err)
	}
	return nil
}

// Harden makes the process non-dumpable (no ptrace attach or
// /proc/PID/mem reads by processes of the same uid without
// CAP_SYS_PTRACE) and disables core files, as ssh-agent does.
func Harden() error {
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl PR_SET_DUMPABLE: %w", err)
	}
	if err := unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{Cur: 0, Max: 0}); err != nil {
		return fmt.Errorf("setrlimit RLIMIT_CORE: %w", err)
	}
	return nil
}
