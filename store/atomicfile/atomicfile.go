// Package atomicfile replaces files atomically, the one way wsx writes a
// file that must be whole or absent: the store's items and header, and the
// small state files of the command line.
//
// A write creates a temporary file (TempPrefix and random hex) in the
// target's directory with an flock on it before its name appears (an
// unnamed file, locked, then linked in), writes, sets the mode, fsyncs,
// renames it over the target and fsyncs the directory; the flock is held
// until then. A reader sees the old content or the new, never a mix; a
// crash leaves at most a temporary file, which RemoveStale removes once no
// writer holds its lock. Links are never followed.
package atomicfile

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// TempPrefix starts the name of every temporary file.
const TempPrefix = ".tmp-"

// Hooks are the points where tests make a write fail; the zero value is
// what production uses.
type Hooks struct {
	BeforeCreate func() error                        // before the temporary file is created
	AfterCreate  func(name string)                   // after its name appears in the directory
	Named        bool                                // create it by name, as where the file system has no unnamed files
	Write        func(f *os.File, data []byte) error // replaces writing data to the temporary file
	BeforeRename func() error                        // after fsync, before the rename
}

// WriteFile replaces the file at path with data, mode perm. The directory
// of path is opened without following a link.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open directory", Path: dir, Err: err}
	}
	d := os.NewFile(uintptr(fd), dir)
	defer d.Close()
	return WriteAt(d, filepath.Base(path), data, perm, Hooks{})
}

// WriteAt replaces the file name in the open directory d with data, mode
// perm, as the package doc describes.
func WriteAt(d *os.File, name string, data []byte, perm os.FileMode, h Hooks) (err error) {
	dfd := int(d.Fd())
	target := filepath.Join(d.Name(), name)
	tmp, tmpName, err := createTemp(d, h)
	if err != nil {
		return err
	}
	// The flock on tmp is held until it is closed, after the rename and the
	// directory fsync, so no cleaner removes it while this write is live.
	defer func() {
		if err != nil {
			unix.Unlinkat(dfd, tmpName, 0)
		}
		tmp.Close()
	}()
	if h.Write != nil {
		err = h.Write(tmp, data)
	} else {
		_, err = tmp.Write(data)
	}
	if err == nil {
		err = tmp.Chmod(perm)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if err != nil {
		return fmt.Errorf("write temporary file %s: %w", tmp.Name(), bareErr(err))
	}
	if h.BeforeRename != nil {
		if err := h.BeforeRename(); err != nil {
			return fmt.Errorf("replace %s: %w", target, err)
		}
	}
	if err := unix.Renameat(dfd, tmpName, dfd, name); err != nil {
		return &os.LinkError{Op: "rename", Old: tmp.Name(), New: target, Err: err}
	}
	if err := unix.Fsync(dfd); err != nil {
		// The new content is in place; only its durability is in doubt.
		return &os.PathError{Op: "fsync directory", Path: d.Name(), Err: err}
	}
	return nil
}

// createTemp creates and locks a new temporary file in d. The file is
// created unnamed (O_TMPFILE), locked, then linked in under its name, so
// no cleaner can take its lock while this writer lives. Where the file
// system has no unnamed files (or /proc, through which it is linked, is
// not mounted), createNamed makes it by name.
func createTemp(d *os.File, h Hooks) (*os.File, string, error) {
	if h.BeforeCreate != nil {
		if err := h.BeforeCreate(); err != nil {
			return nil, "", fmt.Errorf("create temporary file in %s: %w", d.Name(), err)
		}
	}
	if h.Named {
		return createNamed(d, h)
	}
	dfd := int(d.Fd())
	fd, err := unix.Openat(dfd, ".", unix.O_TMPFILE|unix.O_WRONLY|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return createNamed(d, h)
	}
	if err := flock(fd, unix.LOCK_EX); err != nil {
		unix.Close(fd)
		return nil, "", &os.PathError{Op: "lock temporary file in", Path: d.Name(), Err: err}
	}
	for range 8 {
		name := tempName()
		err = unix.Linkat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(fd), dfd, name, unix.AT_SYMLINK_FOLLOW)
		if errors.Is(err, unix.EEXIST) {
			continue
		}
		if err != nil {
			unix.Close(fd)
			return createNamed(d, h)
		}
		if h.AfterCreate != nil {
			h.AfterCreate(name)
		}
		return os.NewFile(uintptr(fd), filepath.Join(d.Name(), name)), name, nil
	}
	unix.Close(fd)
	return nil, "", fmt.Errorf("create temporary file in %s: %w", d.Name(), err)
}

// tempName is a new random temporary file name.
func tempName() string {
	var rnd [12]byte
	rand.Read(rnd[:])
	return TempPrefix + hex.EncodeToString(rnd[:])
}

// createNamed creates a new temporary file by name in d, then locks it. A
// cleaner in another process may take the lock on a file this writer has
// just created and remove it before the writer's flock; the writer then
// sees that its name no longer points at its file and tries a new name.
func createNamed(d *os.File, h Hooks) (*os.File, string, error) {
	dfd := int(d.Fd())
	var lastErr error
	for range 8 {
		name := tempName()
		fd, err := unix.Openat(dfd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		if errors.Is(err, unix.EEXIST) {
			lastErr = err
			continue
		}
		if err != nil {
			return nil, "", &os.PathError{Op: "create temporary file in", Path: d.Name(), Err: err}
		}
		if h.AfterCreate != nil {
			h.AfterCreate(name)
		}
		if err := flock(fd, unix.LOCK_EX); err != nil {
			unix.Unlinkat(dfd, name, 0)
			unix.Close(fd)
			return nil, "", &os.PathError{Op: "lock temporary file", Path: filepath.Join(d.Name(), name), Err: err}
		}
		if same, err := sameFile(dfd, name, fd); err != nil || !same {
			unix.Close(fd)
			lastErr = errors.New("temporary file removed by a concurrent cleaner")
			continue
		}
		return os.NewFile(uintptr(fd), filepath.Join(d.Name(), name)), name, nil
	}
	return nil, "", fmt.Errorf("create temporary file in %s: %w", d.Name(), lastErr)
}

// RemoveStale removes the temporary files in d whose writer is gone: those
// owned by uid whose flock can be taken without waiting. Failures are
// ignored; a file left here is tried again next time.
func RemoveStale(d *os.File, uid int) {
	dfd := int(d.Fd())
	names, err := readDirNames(d)
	if err != nil {
		return
	}
	for _, name := range names {
		if !strings.HasPrefix(name, TempPrefix) {
			continue
		}
		var st unix.Stat_t
		if err := unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil ||
			st.Mode&unix.S_IFMT != unix.S_IFREG || int(st.Uid) != uid {
			continue
		}
		fd, err := unix.Openat(dfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
		if err != nil {
			continue
		}
		if flock(fd, unix.LOCK_EX|unix.LOCK_NB) == nil {
			// Still the same file: after a rename the name is gone or
			// names another writer's file.
			if same, err := sameFile(dfd, name, fd); err == nil && same {
				unix.Unlinkat(dfd, name, 0)
			}
		}
		unix.Close(fd)
	}
}

// readDirNames lists the names in the open directory d, without stat.
func readDirNames(d *os.File) ([]string, error) {
	if _, err := d.Seek(0, 0); err != nil {
		return nil, err
	}
	return d.Readdirnames(-1)
}

// sameFile reports whether name in the directory dfd is the file open as fd.
func sameFile(dfd int, name string, fd int) (bool, error) {
	var a, b unix.Stat_t
	if err := unix.Fstat(fd, &a); err != nil {
		return false, err
	}
	if err := unix.Fstatat(dfd, name, &b, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return false, err
	}
	return a.Dev == b.Dev && a.Ino == b.Ino, nil
}

// bareErr drops an *os.PathError around err, for messages that already
// name the path.
func bareErr(err error) error {
	if pe, ok := errors.AsType[*os.PathError](err); ok {
		return pe.Err
	}
	return err
}

func flock(fd, how int) error {
	for {
		err := unix.Flock(fd, how)
		if err != unix.EINTR {
			return err
		}
	}
}
