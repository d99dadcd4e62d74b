package filekeyring

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Watch tells whether the keyring's directory may have changed, through
// inotify(7), so that a reader that keeps what it derived from the items
// (the store's list of metadata, the sealed items of its last uses) can
// skip the stat, or the read, of every item file when nothing happened.
// Every change of an entry of the directory (create, write, attributes,
// rename, removal) and of the directory itself counts, and so does the
// directory's path coming to name another directory, or one no longer
// private.
//
// inotify sees the changes made through the directory: a write to an item
// file through a hard link in another directory is not seen. Whoever can
// make such a link can also roll an item back (see the store's Limits).
type Watch struct {
	k      *Keyring
	mu     sync.Mutex
	fd     int // -1 once closed
	broken bool
	dev    uint64 // the watched directory
	ino    uint64
	buf    []byte // events read; kept off the callers' stacks
}

const watchMask = unix.IN_CREATE | unix.IN_DELETE | unix.IN_MODIFY | unix.IN_ATTRIB | unix.IN_CLOSE_WRITE |
	unix.IN_MOVED_FROM | unix.IN_MOVED_TO | unix.IN_DELETE_SELF | unix.IN_MOVE_SELF

// Watch starts watching the directory, which must pass the checks of
// Open. The caller must Close it.
func (k *Keyring) Watch() (*Watch, error) {
	dfd, err := k.openDirFD()
	if err != nil {
		return nil, fmt.Errorf("watch: %w", err)
	}
	var st unix.Stat_t
	err = unix.Fstat(dfd, &st)
	unix.Close(dfd)
	if err != nil {
		return nil, &os.PathError{Op: "stat directory", Path: k.dir, Err: err}
	}
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("watch %s: %w", k.dir, err)
	}
	if _, err := unix.InotifyAddWatch(fd, k.dir, watchMask|unix.IN_ONLYDIR|unix.IN_DONT_FOLLOW); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("watch %s: %w", k.dir, err)
	}
	w := &Watch{k: k, fd: fd, dev: uint64(st.Dev), ino: st.Ino}
	if !w.samePath() {
		// Replaced between the check and the watch.
		unix.Close(fd)
		return nil, fmt.Errorf("watch %s: the directory was replaced: %w", k.dir, ErrUnsafe)
	}
	return w, nil
}

// samePath reports whether the keyring's path still names the watched
// directory, as private as Open wants it.
func (w *Watch) samePath() bool {
	var st unix.Stat_t
	if err := unix.Lstat(w.k.dir, &st); err != nil {
		return false
	}
	return uint64(st.Dev) == w.dev && st.Ino == w.ino && w.k.checkDir(&st) == nil
}

// Changed reports whether anything happened in the directory since the
// last call (or since Watch). It reports true, for good, when it cannot
// tell: the event queue overflowed, the directory itself was moved or
// removed, its path names another directory or one open to others, or a
// read failed; Broken then says to Close the Watch and start another.
func (w *Watch) Changed() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fd < 0 || w.broken {
		return true
	}
	if !w.samePath() {
		w.broken = true
		return true
	}
	changed := false
	if w.buf == nil {
		w.buf = make([]byte, 4<<10)
	}
	buf := w.buf
	for {
		n, err := unix.Read(w.fd, buf)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if errors.Is(err, unix.EAGAIN) {
			return changed
		}
		if err != nil || n <= 0 {
			w.broken = true
			return true
		}
		changed = true
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
			if ev.Mask&(unix.IN_Q_OVERFLOW|unix.IN_IGNORED|unix.IN_DELETE_SELF|unix.IN_MOVE_SELF|unix.IN_UNMOUNT) != 0 {
				w.broken = true
			}
			off += unix.SizeofInotifyEvent + int(ev.Len)
		}
	}
}

// Broken reports whether the Watch can no longer tell changes.
func (w *Watch) Broken() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.fd < 0 || w.broken
}

// Close stops watching. It may be called more than once.
func (w *Watch) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fd < 0 {
		return nil
	}
	err := unix.Close(w.fd)
	w.fd = -1
	return err
}
