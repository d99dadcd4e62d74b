package filekeyring

import (
	"errors"
	"fmt"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Watch tells whether the keyring's directory may have changed, through
// inotify(7), so that a reader that keeps what it derived from the items
// (the store's list of metadata) can skip the stat of every item file when
// nothing happened. Every change of an entry of the directory (create,
// write, attributes, rename, removal) and of the directory itself counts.
type Watch struct {
	mu     sync.Mutex
	fd     int // -1 once closed
	broken bool
}

const watchMask = unix.IN_CREATE | unix.IN_DELETE | unix.IN_MODIFY | unix.IN_ATTRIB | unix.IN_CLOSE_WRITE |
	unix.IN_MOVED_FROM | unix.IN_MOVED_TO | unix.IN_DELETE_SELF | unix.IN_MOVE_SELF

// Watch starts watching the directory. The caller must Close it.
func (k *Keyring) Watch() (*Watch, error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("watch %s: %w", k.dir, err)
	}
	if _, err := unix.InotifyAddWatch(fd, k.dir, watchMask|unix.IN_ONLYDIR|unix.IN_DONT_FOLLOW); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("watch %s: %w", k.dir, err)
	}
	return &Watch{fd: fd}, nil
}

// Changed reports whether anything happened in the directory since the
// last call (or since Watch). It reports true, for good, when it cannot
// tell: the event queue overflowed, the directory itself was moved or
// removed, or a read failed; Broken then says to Close the Watch and start
// another.
func (w *Watch) Changed() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fd < 0 || w.broken {
		return true
	}
	changed := false
	var buf [16 << 10]byte
	for {
		n, err := unix.Read(w.fd, buf[:])
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
