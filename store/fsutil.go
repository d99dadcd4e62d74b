package store

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/wsxdev/wsx/store/atomicfile"
)

// Files in the store home beside the header.
const (
	lockFile = "lock"
	itemsDir = "items"
)

// checkDir refuses a store directory that is a symbolic link, not a
// directory, owned by another uid or open to group or others. Errors wrap
// ErrUnsafePermission and name the path and the fix.
func checkDir(path string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	return checkOwned(path, fi, true)
}

func checkOwned(path string, fi fs.FileInfo, dir bool) error {
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return fmt.Errorf("%s is a symbolic link; use the path it points to: %w", path, ErrUnsafePermission)
	case dir && !fi.IsDir():
		return fmt.Errorf("%s is not a directory: %w", path, ErrUnsafePermission)
	case !dir && !fi.Mode().IsRegular():
		return fmt.Errorf("%s is not a regular file: %w", path, ErrUnsafePermission)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("%s: cannot read its owner: %w", path, ErrUnsafePermission)
	}
	if euid := os.Geteuid(); int(st.Uid) != euid {
		return fmt.Errorf("%s is owned by uid %d, not %d; chown it to yourself or use another store: %w", path, st.Uid, euid, ErrUnsafePermission)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		want := "600"
		if dir {
			want = "700"
		}
		return fmt.Errorf("%s is open to group or others (mode %04o); run chmod %s %s: %w", path, perm, want, path, ErrUnsafePermission)
	}
	return nil
}

// makeHome creates home (and missing parents) with mode 0700, or checks an
// existing one.
func makeHome(home string) error {
	if _, err := os.Lstat(home); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(home), 0o700); err != nil {
			return fmt.Errorf("create store dir: %w", err)
		}
		if err := os.Mkdir(home, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("create store dir: %w", err)
		}
		// The umask may have removed bits, never added: still 0700 or less.
		if err := os.Chmod(home, 0o700); err != nil {
			return fmt.Errorf("create store dir: %w", err)
		}
	}
	return checkDir(home)
}

// lockHome takes the exclusive write lock of the store, waiting for it.
// The returned func releases it.
func lockHome(home string) (func(), error) {
	return lockPath(filepath.Join(home, lockFile), 0)
}

// tryLockHome takes the write lock only if it is free.
func tryLockHome(home string) (func(), error) {
	return lockPath(filepath.Join(home, lockFile), unix.LOCK_NB)
}

func lockPath(path string, flags int) (func(), error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CREAT|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, 0o600)
	if errors.Is(err, unix.ELOOP) {
		return nil, fmt.Errorf("%s is a symbolic link; remove it: %w", path, ErrUnsafePermission)
	}
	if err != nil {
		return nil, fmt.Errorf("open lock %s: %w", path, &fs.PathError{Op: "open", Path: path, Err: err})
	}
	f := os.NewFile(uintptr(fd), path)
	fi, err := f.Stat()
	if err == nil {
		err = checkOwned(path, fi, false)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	for {
		err = unix.Flock(fd, unix.LOCK_EX|flags)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}

// readHeaderFile reads <home>/store.json without following a link and
// without blocking on a FIFO, refusing one that is not a private regular
// file or is larger than maxHeaderSize.
func readHeaderFile(home string) ([]byte, error) {
	path := filepath.Join(home, headerFile)
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil, fmt.Errorf("%s: no store header: %w", home, ErrNotInitialized)
		}
		if errors.Is(err, unix.ELOOP) {
			return nil, fmt.Errorf("%s is a symbolic link: %w", path, ErrUnsafePermission)
		}
		return nil, fmt.Errorf("open store header: %w", &fs.PathError{Op: "open", Path: path, Err: err})
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("open store header: %w", err)
	}
	if err := checkOwned(path, fi, false); err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(f, maxHeaderSize+1))
	if err != nil {
		return nil, fmt.Errorf("read store header: %w", err)
	}
	if len(b) > maxHeaderSize {
		return nil, alsoIs{fmt.Errorf("store header %s is larger than %d bytes: %w", path, maxHeaderSize, ErrIntegrity), ErrHeader}
	}
	return b, nil
}

// writeHeaderFile replaces <home>/store.json atomically (atomicfile): a
// reader sees the old header or the new one; a crash leaves at most a temp
// file, which removeHeaderTemps removes.
func writeHeaderFile(home string, data []byte) error {
	if err := atomicfile.WriteFile(filepath.Join(home, headerFile), data, 0o600); err != nil {
		return fmt.Errorf("write store header: %w", err)
	}
	return nil
}

// removeHeaderTemps removes temp files left by a header write that was
// killed; a live writer's file is locked and stays.
func removeHeaderTemps(home string) {
	fd, err := unix.Open(home, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	d := os.NewFile(uintptr(fd), home)
	defer d.Close()
	atomicfile.RemoveStale(d, os.Geteuid())
}
