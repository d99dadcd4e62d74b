package access

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/wsxdev/wsx/store/atomicfile"
)

// FileName is the grants file's name in the store's directory.
const FileName = "grants.wsx"

// maxFileSize bounds the grants file read back.
const maxFileSize = 256 << 10

// ErrDamaged: the grants file does not open (changed outside wsx, or from
// another store). Every guest is refused until it is written again.
var ErrDamaged = errors.New("grants file damaged")

// KeyFrom derives the key that seals the grants from the audit MAC key of
// the store (HKDF-SHA256, its own info string), so that only a process
// holding the store unlocked can read or change them.
func KeyFrom(auditKey []byte) ([]byte, error) {
	return hkdf.Key(sha256.New, auditKey, nil, "wsx grants v1", 32)
}

type sealed struct {
	V     int    `json:"v"`
	Nonce []byte `json:"nonce"`
	CT    []byte `json:"ct"`
}

type plain struct {
	Grants Grants `json:"grants"`
}

func ad(storeID string) []byte { return []byte("wsx grants v1\x00" + storeID) }

func gcm(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// Seal encrypts gs for the store storeID under key (KeyFrom).
func Seal(key []byte, storeID string, gs Grants) ([]byte, error) {
	if gs == nil {
		gs = Grants{}
	}
	if err := gs.check(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidGrant, err)
	}
	g, err := gcm(key)
	if err != nil {
		return nil, err
	}
	p, err := json.Marshal(plain{Grants: gs})
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, g.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return json.Marshal(sealed{V: 1, Nonce: nonce, CT: g.Seal(nil, nonce, p, ad(storeID))})
}

// Open decrypts and checks what Seal made for storeID. Anything else
// fails with ErrDamaged.
func Open(key []byte, storeID string, data []byte) (Grants, error) {
	var s sealed
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil || s.V != 1 {
		return nil, fmt.Errorf("not a grants file: %w", ErrDamaged)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("data after the grants: %w", ErrDamaged)
	}
	g, err := gcm(key)
	if err != nil {
		return nil, err
	}
	if len(s.Nonce) != g.NonceSize() {
		return nil, fmt.Errorf("bad nonce: %w", ErrDamaged)
	}
	p, err := g.Open(nil, s.Nonce, s.CT, ad(storeID))
	if err != nil {
		return nil, fmt.Errorf("fails authentication (changed outside wsx, or from another store): %w", ErrDamaged)
	}
	var out plain
	pd := json.NewDecoder(bytes.NewReader(p))
	pd.DisallowUnknownFields()
	if err := pd.Decode(&out); err != nil {
		return nil, fmt.Errorf("does not decode: %w", ErrDamaged)
	}
	if err := out.Grants.check(); err != nil {
		return nil, fmt.Errorf("%v: %w", err, ErrDamaged)
	}
	if out.Grants == nil {
		out.Grants = Grants{}
	}
	return out.Grants, nil
}

// File is the grants file of one store, read again whenever it changes
// on disk (a grant revoked by a command that opened the store itself
// takes effect at the next request).
type File struct {
	path    string
	storeID string

	mu     sync.Mutex
	cached Grants
	stamp  stamp
	valid  bool
}

// stamp identifies one version of the file without reading it.
type stamp struct {
	exists       bool
	dev, ino     uint64
	size         int64
	mtime, ctime unix.Timespec
}

// NewFile returns the grants file of the store in home with id storeID.
func NewFile(home, storeID string) *File {
	return &File{path: filepath.Join(home, FileName), storeID: storeID}
}

// Path is the file's path.
func (f *File) Path() string { return f.path }

func (f *File) stat() (stamp, error) {
	var st unix.Stat_t
	err := unix.Lstat(f.path, &st)
	if errors.Is(err, unix.ENOENT) {
		return stamp{}, nil
	}
	if err != nil {
		return stamp{}, &fs.PathError{Op: "stat", Path: f.path, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return stamp{}, fmt.Errorf("%s is not a regular file: %w", f.path, ErrDamaged)
	}
	return stamp{exists: true, dev: st.Dev, ino: st.Ino, size: st.Size, mtime: st.Mtim, ctime: st.Ctim}, nil
}

// Load returns the grants: the ones read last when the file has not
// changed since, else the file read again and opened with key. With a nil
// key (the store is locked) only unchanged grants can be returned;
// otherwise Load fails with ErrGuestLocked. A missing file holds no
// grants.
func (f *File) Load(key []byte) (Grants, error) {
	st, err := f.stat()
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.valid && st == f.stamp {
		return f.cached, nil
	}
	if !st.exists {
		f.cached, f.stamp, f.valid = Grants{}, st, true
		return f.cached, nil
	}
	if key == nil {
		return nil, ErrGuestLocked
	}
	data, err := readNoFollow(f.path)
	if err != nil {
		return nil, err
	}
	gs, err := Open(key, f.storeID, data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.path, err)
	}
	f.cached, f.stamp, f.valid = gs, st, true
	return gs, nil
}

func readNoFollow(path string) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	fl := os.NewFile(uintptr(fd), path)
	defer fl.Close()
	fi, err := fl.Stat()
	if err != nil {
		return nil, err
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return nil, fmt.Errorf("%s is owned by uid %d: %w", path, st.Uid, ErrDamaged)
	}
	if fi.Size() > maxFileSize {
		return nil, fmt.Errorf("%s is %d bytes: %w", path, fi.Size(), ErrDamaged)
	}
	buf := make([]byte, fi.Size())
	if _, err := fl.ReadAt(buf, 0); err != nil {
		return nil, err
	}
	return buf, nil
}

// Update changes the grants with fn and writes them back sealed (0600,
// atomically), under the store's write lock (home/lock), and returns
// them.
func (f *File) Update(key []byte, fn func(Grants) (Grants, error)) (Grants, error) {
	if key == nil {
		return nil, ErrGuestLocked
	}
	unlock, err := lockDir(filepath.Dir(f.path))
	if err != nil {
		return nil, err
	}
	defer unlock()
	f.mu.Lock()
	f.valid = false // read again under the lock
	f.mu.Unlock()
	gs, err := f.Load(key)
	if err != nil {
		return nil, err
	}
	gs, err = fn(append(Grants(nil), gs...))
	if err != nil {
		return nil, err
	}
	data, err := Seal(key, f.storeID, gs)
	if err != nil {
		return nil, err
	}
	if err := atomicfile.WriteFile(f.path, data, 0o600); err != nil {
		return nil, fmt.Errorf("write %s: %w", f.path, err)
	}
	f.mu.Lock()
	f.valid = false
	f.mu.Unlock()
	return gs, nil
}

// lockDir takes the store's write lock, the flock on dir/lock.
func lockDir(dir string) (func(), error) {
	path := filepath.Join(dir, "lock")
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CREAT|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	if err := unix.Flock(fd, unix.LOCK_EX); err != nil {
		unix.Close(fd)
		return nil, &fs.PathError{Op: "flock", Path: path, Err: err}
	}
	return func() { unix.Close(fd) }, nil
}
