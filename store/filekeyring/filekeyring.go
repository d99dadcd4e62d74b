package filekeyring

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/99designs/keyring"
	"golang.org/x/sys/unix"

	"github.com/wsxdev/wsx/store/atomicfile"
)

// Limits on keys and items.
const (
	MaxKeyLen   = 200     // bytes in a key name
	MaxItemSize = 4 << 20 // bytes in an item's data
)

const (
	itemSuffix = ".wsx"
	dirPerm    = 0o700
	filePerm   = 0o600
)

// Errors callers may branch on with errors.Is.
var (
	// ErrUnsafe: the directory or an item file is a link, of the wrong kind,
	// owned by another uid, or open to group or other.
	ErrUnsafe = errors.New("unsafe permissions")
	// ErrTooLarge: the item is larger than MaxItemSize.
	ErrTooLarge = errors.New("item too large")
	// ErrEmpty: Set was given no data, or an item file is empty.
	ErrEmpty = errors.New("empty item")
)

// errInvalidKey: the key name breaks the rule in the package doc.
var errInvalidKey = errors.New("invalid key name")

// Keyring is a directory of item files. It is safe for concurrent use by
// several goroutines and several processes.
type Keyring struct {
	dir  string // absolute path
	euid int

	// hooks injects faults in tests; zero in production.
	hooks atomicfile.Hooks
}

var _ keyring.Keyring = (*Keyring)(nil)

// Open returns the Keyring in dir, creating dir with mode 0700 if it does not
// exist (its parent must). It refuses a dir that is a symbolic link, not a
// directory, owned by another uid than the effective one, or open to group or
// other, and it removes temporary files left by writers that died.
func Open(dir string) (*Keyring, error) {
	if dir == "" {
		return nil, errors.New("open keyring: empty directory path")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("open keyring %s: %w", dir, err)
	}
	k := &Keyring{dir: abs, euid: os.Geteuid()}
	if err := os.Mkdir(abs, dirPerm); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("open keyring: create directory: %w", err)
	}
	d, err := k.openDir()
	if err != nil {
		return nil, fmt.Errorf("open keyring: %w", err)
	}
	defer d.Close()
	k.removeStaleTemps(d)
	return k, nil
}

// Dir returns the absolute path of the keyring's directory.
func (k *Keyring) Dir() string { return k.dir }

// openDir opens the keyring directory without following a link and checks
// its kind, owner and mode on the open descriptor.
func (k *Keyring) openDir() (*os.File, error) {
	fd, err := k.openDirFD()
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), k.dir), nil
}

// openDirFD is openDir's descriptor, not registered with Go's poller: a
// read of an item through it costs no system calls but its own.
func (k *Keyring) openDirFD() (int, error) {
	fd, err := unix.Open(k.dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		var st unix.Stat_t
		if lerr := unix.Lstat(k.dir, &st); lerr == nil {
			switch st.Mode & unix.S_IFMT {
			case unix.S_IFLNK:
				return -1, fmt.Errorf("directory %s is a symbolic link; use the directory it points to, or replace the link with a directory (mkdir -m 700 %s): %w", k.dir, k.dir, ErrUnsafe)
			case unix.S_IFDIR:
			default:
				return -1, fmt.Errorf("%s is not a directory; move it aside or choose another path: %w", k.dir, ErrUnsafe)
			}
		}
		return -1, &os.PathError{Op: "open directory", Path: k.dir, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, &os.PathError{Op: "stat directory", Path: k.dir, Err: err}
	}
	if err := k.checkDir(&st); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

func (k *Keyring) checkDir(st *unix.Stat_t) error {
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return fmt.Errorf("%s is not a directory; move it aside or choose another path: %w", k.dir, ErrUnsafe)
	}
	if int(st.Uid) != k.euid {
		return fmt.Errorf("directory %s is owned by uid %d, not by uid %d; fix: chown %d %s, or use a directory you own: %w",
			k.dir, st.Uid, k.euid, k.euid, k.dir, ErrUnsafe)
	}
	if perm := st.Mode & 0o777; perm&0o077 != 0 {
		return fmt.Errorf("directory %s has mode %04o, open to group or other; fix: chmod 700 %s: %w", k.dir, perm, k.dir, ErrUnsafe)
	}
	return nil
}

// checkItem checks a stat of the file path that holds an item: a regular file
// owned by the effective uid and, if checkMode, closed to group and other.
func (k *Keyring) checkItem(path string, st *unix.Stat_t, checkMode bool) error {
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
	case unix.S_IFLNK:
		return fmt.Errorf("item file %s is a symbolic link, not a regular file; remove it (rm %s): %w", path, path, ErrUnsafe)
	default:
		return fmt.Errorf("item file %s is not a regular file (%s); move it out of the directory: %w", path, kindName(st.Mode), ErrUnsafe)
	}
	if int(st.Uid) != k.euid {
		return fmt.Errorf("item file %s is owned by uid %d, not by uid %d; fix: chown %d %s: %w", path, st.Uid, k.euid, k.euid, path, ErrUnsafe)
	}
	if perm := st.Mode & 0o777; checkMode && perm&0o077 != 0 {
		return fmt.Errorf("item file %s has mode %04o, open to group or other; fix: chmod 600 %s: %w", path, perm, path, ErrUnsafe)
	}
	return nil
}

func kindName(mode uint32) string {
	switch mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return "a directory"
	case unix.S_IFIFO:
		return "a FIFO"
	case unix.S_IFSOCK:
		return "a socket"
	case unix.S_IFCHR, unix.S_IFBLK:
		return "a device"
	case unix.S_IFLNK:
		return "a symbolic link"
	}
	return "not a regular file"
}

// validKey reports whether key is a valid key name, with the rule it breaks.
func validKey(key string) error {
	if key == "" {
		return fmt.Errorf("empty key: %w", errInvalidKey)
	}
	if len(key) > MaxKeyLen {
		return fmt.Errorf("key of %d bytes, longer than %d: %w", len(key), MaxKeyLen, errInvalidKey)
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		ok := c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_'
		if i > 0 {
			ok = ok || c == '.' || c == '-'
		}
		if !ok {
			return fmt.Errorf("key %q: byte %d must match [A-Za-z0-9_][A-Za-z0-9_.-]*: %w", key, i, errInvalidKey)
		}
	}
	return nil
}

func (k *Keyring) itemPath(key string) string { return filepath.Join(k.dir, key+itemSuffix) }

// statItem lstats the item file for key relative to the directory d and
// checks it. A missing item gives keyring.ErrKeyNotFound.
func (k *Keyring) statItem(d *os.File, key string, checkMode bool) (unix.Stat_t, error) {
	return k.statItemAt(int(d.Fd()), key, checkMode)
}

func (k *Keyring) statItemAt(dfd int, key string, checkMode bool) (unix.Stat_t, error) {
	var st unix.Stat_t
	err := unix.Fstatat(dfd, key+itemSuffix, &st, unix.AT_SYMLINK_NOFOLLOW)
	if errors.Is(err, unix.ENOENT) {
		return st, fmt.Errorf("key %q: %w", key, keyring.ErrKeyNotFound)
	}
	if err != nil {
		return st, &os.PathError{Op: "stat", Path: k.itemPath(key), Err: err}
	}
	return st, k.checkItem(k.itemPath(key), &st, checkMode)
}

// openItem opens the item file for key, refusing anything but a safe regular
// file. A FIFO or device is never opened: the lstat comes first, and the open
// is non-blocking and does not follow links in case the file was swapped.
// The caller closes the descriptor.
func (k *Keyring) openItem(key string) (int, unix.Stat_t, error) {
	if err := validKey(key); err != nil {
		return -1, unix.Stat_t{}, err
	}
	dfd, err := k.openDirFD()
	if err != nil {
		return -1, unix.Stat_t{}, err
	}
	defer unix.Close(dfd)
	return k.openItemAt(dfd, key)
}

// openItemAt is openItem in the directory open as dfd; key is valid.
func (k *Keyring) openItemAt(dfd int, key string) (int, unix.Stat_t, error) {
	var st unix.Stat_t
	if _, err := k.statItemAt(dfd, key, true); err != nil {
		return -1, st, err
	}
	path := k.itemPath(key)
	fd, err := unix.Openat(dfd, key+itemSuffix, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	switch {
	case errors.Is(err, unix.ENOENT):
		return -1, st, fmt.Errorf("key %q: %w", key, keyring.ErrKeyNotFound)
	case errors.Is(err, unix.ELOOP):
		return -1, st, fmt.Errorf("item file %s is a symbolic link, not a regular file; remove it (rm %s): %w", path, path, ErrUnsafe)
	case err != nil:
		return -1, st, &os.PathError{Op: "open", Path: path, Err: err}
	}
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, st, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	if err := k.checkItem(path, &st, true); err != nil {
		unix.Close(fd)
		return -1, st, err
	}
	return fd, st, nil
}

// Get returns the item stored under key, or keyring.ErrKeyNotFound.
func (k *Keyring) Get(key string) (keyring.Item, error) {
	it, _, err := k.GetStamped(key)
	return it, err
}

// GetStamped is Get with the Stamp of the file the data was read from.
func (k *Keyring) GetStamped(key string) (keyring.Item, Stamp, error) {
	fd, st, err := k.openItem(key)
	if err != nil {
		return keyring.Item{}, Stamp{}, fmt.Errorf("get: %w", err)
	}
	return k.readItem(fd, key, &st)
}

// GetMany is Get of each key, in order, with the directory opened and
// checked once for all: the items of one use. It stops at the first
// error.
func (k *Keyring) GetMany(keys []string) ([]keyring.Item, error) {
	for _, key := range keys {
		if err := validKey(key); err != nil {
			return nil, fmt.Errorf("get: %w", err)
		}
	}
	dfd, err := k.openDirFD()
	if err != nil {
		return nil, fmt.Errorf("get: %w", err)
	}
	defer unix.Close(dfd)
	items := make([]keyring.Item, len(keys))
	for i, key := range keys {
		fd, st, err := k.openItemAt(dfd, key)
		if err != nil {
			return nil, fmt.Errorf("get: %w", err)
		}
		if items[i], _, err = k.readItem(fd, key, &st); err != nil {
			return nil, err
		}
	}
	return items, nil
}

// readItem reads the item file fd, of key, as stat st found it, and
// closes it.
func (k *Keyring) readItem(fd int, key string, st *unix.Stat_t) (keyring.Item, Stamp, error) {
	defer unix.Close(fd)
	path := k.itemPath(key)
	if st.Size > MaxItemSize {
		return keyring.Item{}, Stamp{}, fmt.Errorf("get: item file %s has %d bytes, more than %d: %w", path, st.Size, MaxItemSize, ErrTooLarge)
	}
	data, err := readFD(fd, int(st.Size), MaxItemSize+1)
	if err != nil {
		return keyring.Item{}, Stamp{}, fmt.Errorf("get: read %s: %w", path, err)
	}
	if len(data) > MaxItemSize {
		return keyring.Item{}, Stamp{}, fmt.Errorf("get: item file %s grew beyond %d bytes: %w", path, MaxItemSize, ErrTooLarge)
	}
	if len(data) == 0 {
		return keyring.Item{}, Stamp{}, fmt.Errorf("get: item file %s is empty, the file is damaged; remove it and store the item again: %w", path, ErrEmpty)
	}
	return keyring.Item{Key: key, Data: data}, stampOf(st), nil
}

// readFD reads the regular file fd to its end, at most limit bytes, into
// a buffer one byte larger than its size as stat gave it, so that a file
// that did not change is read with one read that comes back short.
func readFD(fd, size, limit int) ([]byte, error) {
	buf := make([]byte, min(size+1, limit))
	n := 0
	for n < limit {
		if n == len(buf) {
			buf = append(buf, make([]byte, min(len(buf), limit-len(buf)))...)
		}
		m, err := unix.Read(fd, buf[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if m == 0 {
			break
		}
		n += m
	}
	return buf[:n], nil
}

// GetMetadata returns the key and the modification time of the item, without
// reading its data.
func (k *Keyring) GetMetadata(key string) (keyring.Metadata, error) {
	fd, st, err := k.openItem(key)
	if err != nil {
		return keyring.Metadata{}, fmt.Errorf("get metadata: %w", err)
	}
	unix.Close(fd)
	return keyring.Metadata{
		Item:             &keyring.Item{Key: key},
		ModificationTime: statMtime(&st),
	}, nil
}

// Set stores item.Data under item.Key, replacing any previous value
// atomically. Label and Description are not stored.
func (k *Keyring) Set(item keyring.Item) error {
	if err := validKey(item.Key); err != nil {
		return fmt.Errorf("set: %w", err)
	}
	if len(item.Data) == 0 {
		return fmt.Errorf("set %q: no data: %w", item.Key, ErrEmpty)
	}
	if len(item.Data) > MaxItemSize {
		return fmt.Errorf("set %q: %d bytes, more than %d: %w", item.Key, len(item.Data), MaxItemSize, ErrTooLarge)
	}
	d, err := k.openDir()
	if err != nil {
		return fmt.Errorf("set %q: %w", item.Key, err)
	}
	defer d.Close()
	if err := k.write(d, item.Key, item.Data); err != nil {
		return fmt.Errorf("set %q: %w", item.Key, err)
	}
	return nil
}

// write puts data in the item file for key through a locked temporary file.
func (k *Keyring) write(d *os.File, key string, data []byte) error {
	return atomicfile.WriteAt(d, key+itemSuffix, data, filePerm, k.hooks)
}

// removeStaleTemps removes temporary files whose writer is gone.
func (k *Keyring) removeStaleTemps(d *os.File) { atomicfile.RemoveStale(d, k.euid) }

// readDirNames lists the names in the open directory d, without stat.
func readDirNames(d *os.File) ([]string, error) {
	if _, err := d.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, &os.PathError{Op: "read directory", Path: d.Name(), Err: err}
	}
	return names, nil
}

// Stamp identifies one version of an item file: device, inode, size,
// modification and change times. Every replacement of the item (a new file
// renamed into place) and every write to the file changes it, so a reader
// may keep what it derived from an item for as long as its Stamp stays the
// same. The change time cannot be set by a user.
type Stamp struct {
	Dev, Ino     uint64
	Size         int64
	Mtime, Ctime int64 // nanoseconds since the epoch
}

func stampOf(st *unix.Stat_t) Stamp {
	return Stamp{
		Dev: uint64(st.Dev), Ino: st.Ino, Size: st.Size,
		Mtime: st.Mtim.Nano(), Ctime: st.Ctim.Nano(),
	}
}

// Entry is a key and the Stamp of its item file.
type Entry struct {
	Key   string
	Stamp Stamp
}

// Keys lists the keys of the items in the directory, sorted. It ignores,
// without opening them, files that are not items: other names, temporary
// files, links, directories, FIFOs and files owned by another uid.
func (k *Keyring) Keys() ([]string, error) {
	ents, err := k.Entries()
	if err != nil {
		return nil, err
	}
	keys := make([]string, len(ents))
	for i, e := range ents {
		keys[i] = e.Key
	}
	return keys, nil
}

// Entries is Keys with the Stamp of each item file, sorted by key.
func (k *Keyring) Entries() ([]Entry, error) {
	d, err := k.openDir()
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	defer d.Close()
	names, err := readDirNames(d)
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	ents := []Entry{}
	for _, name := range names {
		key, ok := strings.CutSuffix(name, itemSuffix)
		if !ok || validKey(key) != nil {
			continue
		}
		var st unix.Stat_t
		if err := unix.Fstatat(int(d.Fd()), name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			continue // removed since the listing
		}
		if st.Mode&unix.S_IFMT != unix.S_IFREG || int(st.Uid) != k.euid {
			continue
		}
		ents = append(ents, Entry{Key: key, Stamp: stampOf(&st)})
	}
	slices.SortFunc(ents, func(a, b Entry) int { return strings.Compare(a.Key, b.Key) })
	return ents, nil
}

// Remove deletes the item stored under key, or returns keyring.ErrKeyNotFound.
// It refuses to delete a file at the item's path that is not a regular file
// owned by the effective uid; a file open to group or other is removed.
func (k *Keyring) Remove(key string) error {
	if err := validKey(key); err != nil {
		return fmt.Errorf("remove: %w", err)
	}
	d, err := k.openDir()
	if err != nil {
		return fmt.Errorf("remove %q: %w", key, err)
	}
	defer d.Close()
	if _, err := k.statItem(d, key, false); err != nil {
		return fmt.Errorf("remove: %w", err)
	}
	dfd := int(d.Fd())
	if err := unix.Unlinkat(dfd, key+itemSuffix, 0); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("remove: key %q: %w", key, keyring.ErrKeyNotFound)
		}
		return &os.PathError{Op: "remove", Path: k.itemPath(key), Err: err}
	}
	if err := unix.Fsync(dfd); err != nil {
		return &os.PathError{Op: "fsync directory", Path: k.dir, Err: err}
	}
	return nil
}

func statMtime(st *unix.Stat_t) time.Time {
	return time.Unix(st.Mtim.Unix()).UTC()
}
