// Package store keeps a workspace's secrets encrypted at rest.
//
// # Model
//
// A store lives in a home directory (mode 0700, owned by the user):
//
//	<home>/store.json   the header: format version, store id, backend, KDF
//	                    parameters and the wrapped data key (no secret)
//	<home>/lock         flock(2) target that serialises writers
//	<home>/items/       one file per secret, for the default "file" backend
//
// Every secret is sealed with AES-256-GCM under one random 256-bit data key,
// whatever the backend. The additional data of each item binds the store id,
// the secret's name and its version, so an item copied over another, renamed,
// or brought from another store fails to open with ErrIntegrity naming the
// secret asked for. The data key is wrapped by a key derived from the
// passphrase with Argon2id (parameters in the header, bounds-checked before
// any derivation, bound into the wrap's additional data), or, for an OS
// keyring backend initialised without a passphrase, kept in that backend.
// A wrong passphrase fails to unwrap: Unlock reports ErrWrongPassphrase and
// the store stays locked, so nothing can be written under another key.
// Changing the passphrase rewrites only the header, atomically.
//
// Items reach their backend through the github.com/99designs/keyring Keyring
// interface: the package's own filekeyring for "file", keyring's
// secret-service, keyctl and pass otherwise. A backend that cannot be used is
// an error naming it, never a fallback to another.
//
// Writers hold an exclusive flock on <home>/lock for the whole
// read-check-write, so concurrent processes neither lose updates nor create
// two secrets whose names differ only in case. Readers take no lock: the
// backends replace items atomically.
//
// # Rotation
//
// Rotate (or Update with Secret.BeginRotation) stores a new value and keeps
// the one it replaces in the same sealed item, as Secret.PreviousValue
// described by Meta.Previous, so it is protected and bound exactly as the
// current value is. UndoRotation brings it back, FinishRotation deletes it;
// until one of them runs, another rotation is refused (ErrRotationPending).
// The previous value is never released to programs.
//
// # Limits
//
// An item carries its own version, but nothing outside the item records
// which version is current: someone who can write the store directory can
// put back an older ciphertext of the same secret, and it opens with its old
// value and version. Detecting that needs state the attacker cannot also
// roll back, which a directory of files does not have.
package store

import (
	"bytes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/99designs/keyring"

	"github.com/wsxdev/wsx/store/filekeyring"
)

// InitOptions configure a new store.
type InitOptions struct {
	// Backend is "file" (the default when empty), "secret-service",
	// "keyctl" or "pass".
	Backend string
	// Passphrase wraps the data key. It is required for the file backend;
	// for an OS backend, an empty passphrase leaves the data key in the
	// backend so that Unlock needs none.
	Passphrase []byte
	// KDF is the Argon2id cost; the zero value means DefaultKDF.
	KDF KDFParams
	// PassDir is the pass backend's password store, as PASSWORD_STORE_DIR
	// gives it; "" means ~/.password-store.
	PassDir string
}

// OpenOptions are the choices of Open beyond the home directory.
type OpenOptions struct {
	// PassDir is as in InitOptions.
	PassDir string
}

// AddOptions are the choices of Add beyond the secret itself.
type AddOptions struct {
	// AllowDangerousName lets Add store a secret whose name DangerousName
	// reports (PATH, LD_PRELOAD, ...).
	AllowDangerousName bool
	// KeyPassphrase is asked, once, for the passphrase of an encrypted SSH
	// key. Without it an encrypted key is refused; callers can also decrypt
	// it first with ParseKey.
	KeyPassphrase func() ([]byte, error)
}

// Store is an open store. It is safe for concurrent use.
type Store struct {
	home    string
	id      string
	backend string
	kr      keyring.Keyring

	mu   sync.RWMutex
	hdr  *header
	key  []byte      // data key; nil when locked
	aead cipher.AEAD // AES-256-GCM under key
	// keyGen counts the changes of key: what was learnt by opening
	// items with one key (plainLayout) holds its generation, not the key.
	keyGen uint64
	now    func() time.Time

	// The metadata List opened and the sealed items GetMany read (file
	// backend only), the Lists and GetManys made, and the watch on the
	// items directory armed at the second of either (a command makes one
	// of each); listStale says the watch saw a change since the last
	// listing.
	cacheMu     sync.Mutex
	metaCache   metaCache
	seals       sealCache
	listStale   bool
	lists, gets int
	watch       *filekeyring.Watch
}

// Init creates a store in home and returns it unlocked. home is created with
// mode 0700 if missing; an existing home must be a private directory of the
// user (not a symbolic link). It fails with ErrAlreadyInit if home already
// holds a store.
func Init(home string, opts InitOptions) (*Store, error) {
	return initStore(home, opts, nil)
}

// initStore is Init with kr, when not nil, standing in for the backend.
func initStore(home string, opts InitOptions, kr keyring.Keyring) (*Store, error) {
	backend := opts.Backend
	if backend == "" {
		backend = backendFile
	}
	if !knownBackend(backend) {
		return nil, unknownBackend(backend)
	}
	if backend == backendFile && len(opts.Passphrase) == 0 {
		return nil, fmt.Errorf("the file backend needs a passphrase to protect the data key; an empty one is not allowed: %w", ErrEmptyPassphrase)
	}
	kdf := opts.KDF
	if kdf == (KDFParams{}) {
		kdf = DefaultKDF
	}
	if err := kdf.Check(); err != nil {
		return nil, fmt.Errorf("init store: %w", err)
	}
	home, err := filepath.Abs(home)
	if err != nil {
		return nil, fmt.Errorf("init store: %w", err)
	}
	if err := makeHome(home); err != nil {
		return nil, err
	}
	unlock, err := lockHome(home)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if _, err := os.Lstat(filepath.Join(home, headerFile)); err == nil {
		return nil, fmt.Errorf("%s: %w", home, ErrAlreadyInit)
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("init store: %w", err)
	}
	removeHeaderTemps(home)

	var idb [idLen]byte
	rand.Read(idb[:])
	h := &header{
		Version: headerVersion,
		ID:      hex.EncodeToString(idb[:]),
		Backend: backend,
		Created: time.Now().UTC().Round(time.Second),
	}
	if kr == nil {
		if backend == backendFile {
			if err := os.Mkdir(filepath.Join(home, itemsDir), 0o700); err != nil && !errors.Is(err, os.ErrExist) {
				return nil, fmt.Errorf("init store: %w", err)
			}
		}
		if kr, err = openBackend(home, backend, h.ID, opts.PassDir); err != nil {
			return nil, err
		}
	}
	keys, err := kr.Keys()
	if err != nil {
		return nil, backendErr(backend, "list items", err)
	}
	if len(keys) > 0 {
		return nil, fmt.Errorf("init store: backend %s already holds %d items of another store (for file: %s); move them away first", backend, len(keys), filepath.Join(home, itemsDir))
	}

	dataKey := make([]byte, keyLen)
	rand.Read(dataKey)
	if len(opts.Passphrase) > 0 {
		if err := h.wrap(dataKey, opts.Passphrase, kdf); err != nil {
			return nil, fmt.Errorf("init store: %w", err)
		}
	} else {
		h.Key = keyByBackend
		h.KeyCheck = h.keyCheck(dataKey)
		if err := storeHeldKey(kr, h.ID, dataKey); err != nil {
			return nil, backendErr(backend, "store the data key", err)
		}
	}
	if err := h.check(); err != nil {
		return nil, fmt.Errorf("init store: %w", err)
	}
	if err := writeHeaderFile(home, h.marshal()); err != nil {
		return nil, err
	}
	s := newStore(home, kr, h)
	if err := s.setKey(dataKey); err != nil {
		return nil, err
	}
	return s, nil
}

// Open opens the store in home, locked. It fails with ErrNotInitialized if
// home holds no store, with ErrUnsafePermission if home or the header is
// not private to the user, and with ErrBackend if the store's backend
// cannot be used.
func Open(home string, opts ...OpenOptions) (*Store, error) {
	var o OpenOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	return openStore(home, nil, o)
}

// openStore is Open with kr, when not nil, standing in for the backend.
func openStore(home string, kr keyring.Keyring, o OpenOptions) (*Store, error) {
	home, err := filepath.Abs(home)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	if _, err := os.Lstat(home); errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", home, ErrNotInitialized)
	}
	if err := checkDir(home); err != nil {
		return nil, err
	}
	h, err := loadHeader(home)
	if err != nil {
		return nil, err
	}
	if unlock, err := tryLockHome(home); err == nil {
		removeHeaderTemps(home)
		unlock()
	}
	if kr == nil {
		if kr, err = openBackend(home, h.Backend, h.ID, o.PassDir); err != nil {
			return nil, err
		}
	}
	return newStore(home, kr, h), nil
}

func newStore(home string, kr keyring.Keyring, h *header) *Store {
	return &Store{home: home, id: h.ID, backend: h.Backend, kr: kr, hdr: h, now: time.Now}
}

func loadHeader(home string) (*header, error) {
	b, err := readHeaderFile(home)
	if err != nil {
		return nil, err
	}
	h, err := parseHeader(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(home, headerFile), err)
	}
	return h, nil
}

// SetClock replaces the clock that stamps Created, Updated and Rotated.
func (s *Store) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// ID returns the store id, 32 hex digits.
func (s *Store) ID() string { return s.id }

// Backend returns the name of the store's backend.
func (s *Store) Backend() string { return s.backend }

// Home returns the store's home directory.
func (s *Store) Home() string { return s.home }

// NeedsPassphrase reports whether Unlock needs a passphrase; it does not
// when the data key is held by an OS keyring backend.
func (s *Store) NeedsPassphrase() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.hdr.Key == keyByPassphrase
}

// Locked reports whether the store is locked.
func (s *Store) Locked() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.key == nil
}

// Unlock reads the header again and unwraps the data key with passphrase
// (ignored when NeedsPassphrase is false). A wrong passphrase returns
// ErrWrongPassphrase and leaves the store locked; nothing is written.
func (s *Store) Unlock(passphrase []byte) error {
	h, err := loadHeader(s.home)
	if err != nil {
		return err
	}
	if h.ID != s.id {
		return fmt.Errorf("%s now holds another store (id %s, opened %s); open it again: %w", s.home, h.ID, s.id, ErrIntegrity)
	}
	var key []byte
	switch h.Key {
	case keyByPassphrase:
		if key, err = h.unwrap(passphrase); err != nil {
			return err
		}
	case keyByBackend:
		key, err = loadHeldKey(s.kr, h.ID)
		if err != nil {
			if errors.Is(err, ErrIntegrity) {
				return err
			}
			return backendErr(h.Backend, "read the data key", err)
		}
		if !bytes.Equal(h.keyCheck(key), h.KeyCheck) {
			return fmt.Errorf("the data key held by backend %s does not match the store header: %w", h.Backend, ErrIntegrity)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hdr = h
	return s.setKeyLocked(key)
}

func (s *Store) setKey(key []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.setKeyLocked(key)
}

func (s *Store) setKeyLocked(key []byte) error {
	g, err := newGCM(key)
	if err != nil {
		return err
	}
	s.key, s.aead = key, g
	s.keyGen++
	return nil
}

// Lock forgets the data key. Its bytes are overwritten, as far as Go lets a
// program do that.
func (s *Store) Lock() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.key)
	s.key, s.aead = nil, nil
	s.keyGen++
	s.cacheMu.Lock()
	s.metaCache = metaCache{}
	s.seals.drop()
	s.cacheMu.Unlock()
}

// auditInfo is the HKDF info string of AuditKey.
const auditInfo = "wsx audit mac v1"

// AuditKey returns the key of the audit log's MACs: 32 bytes of
// HKDF-SHA256 of the data key with info "wsx audit mac v1".
func (s *Store) AuditKey() ([]byte, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.key == nil {
		return nil, ErrLocked
	}
	return hkdf.Key(sha256.New, s.key, nil, auditInfo, 32)
}

// reader returns what a read needs, or ErrLocked.
func (s *Store) reader() (cipher.AEAD, string, error) {
	g, id, _, err := s.readerGen()
	return g, id, err
}

// readerGen is reader with the generation of the key.
func (s *Store) readerGen() (cipher.AEAD, string, uint64, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.key == nil {
		return nil, "", 0, ErrLocked
	}
	return s.aead, s.id, s.keyGen, nil
}

// Get returns the secret called name. It fails with ErrNotFound, with
// ErrIntegrity (naming the secret) if the stored item does not open, and
// with ErrLocked.
func (s *Store) Get(name string) (Secret, error) {
	if err := ValidateName(name); err != nil {
		return Secret{}, err
	}
	g, id, err := s.reader()
	if err != nil {
		return Secret{}, err
	}
	return s.get(g, id, name)
}

// GetMany is Get of each name, in order. With the file backend the
// store's directory is opened and checked once for them all, and a Store
// read more than once (the agent's) keeps the sealed items it read while
// its watch on the directory sees no change (see sealCache): a use then
// opens no file. Each value is decrypted at each call; the JSON around it
// is decoded strictly at the first opening of a kept item, and compared
// with that one at the next (see plainLayout).
func (s *Store) GetMany(names []string) ([]Secret, error) {
	for _, n := range names {
		if err := ValidateName(n); err != nil {
			return nil, err
		}
	}
	g, id, keyGen, err := s.readerGen()
	if err != nil {
		return nil, err
	}
	secs := make([]Secret, len(names))
	if fk, ok := s.kr.(*filekeyring.Keyring); ok {
		if items, ok := s.getManyFile(fk, names); ok {
			for i, k := range items {
				if secs[i], err = openKept(g, keyGen, id, names[i], k); err != nil {
					return nil, err
				}
			}
			return secs, nil
		}
	} else if m, ok := s.kr.(interface {
		GetMany([]string) ([]keyring.Item, error)
	}); ok {
		// On an error, the names are read one by one below, for the
		// error that names the secret.
		if items, err := m.GetMany(names); err == nil {
			for i, it := range items {
				if secs[i], err = openItem(g, id, names[i], it.Data); err != nil {
					return nil, err
				}
			}
			return secs, nil
		}
	}
	for i, n := range names {
		if secs[i], err = s.get(g, id, n); err != nil {
			return nil, err
		}
	}
	return secs, nil
}

func (s *Store) get(g cipher.AEAD, id, name string) (Secret, error) {
	it, err := s.kr.Get(name)
	if err != nil {
		if isNotFound(err) {
			return Secret{}, fmt.Errorf("secret %s: %w", name, ErrNotFound)
		}
		return Secret{}, fmt.Errorf("secret %s: %w", name, s.wrapBackend("read", err))
	}
	return openItem(g, id, name, it.Data)
}

// wrapBackend names the backend in errors of OS backends; the file
// backend's errors already name their path, and gain this package's
// sentinels: an unsafe file is ErrUnsafePermission, an empty or oversized
// one ErrIntegrity.
func (s *Store) wrapBackend(op string, err error) error {
	if s.backend != backendFile {
		return backendErr(s.backend, op, err)
	}
	switch {
	case errors.Is(err, filekeyring.ErrUnsafe):
		return alsoIs{err, ErrUnsafePermission}
	case errors.Is(err, filekeyring.ErrEmpty), errors.Is(err, filekeyring.ErrTooLarge):
		return alsoIs{err, ErrIntegrity}
	}
	return err
}

// alsoIs is err, with its text, that also matches sentinel in errors.Is.
type alsoIs struct{ err, sentinel error }

func (e alsoIs) Error() string   { return e.err.Error() }
func (e alsoIs) Unwrap() []error { return []error{e.err, e.sentinel} }

// names lists the secret names in the backend, skipping keys that are not
// secret names (the held data key, foreign items).
func (s *Store) names() ([]string, error) {
	keys, err := s.kr.Keys()
	if err != nil {
		return nil, s.wrapBackend("list items", err)
	}
	names := keys[:0]
	for _, k := range keys {
		if ValidateName(k) == nil {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	return names, nil
}

// DamagedError is List's error when some secrets cannot be read: their
// names, sorted, and why each failed. It wraps each of those errors, so
// errors.Is finds ErrIntegrity for a damaged item and ErrUnsafePermission
// for an unsafe one.
type DamagedError struct {
	Names []string
	Errs  []error
}

func (e *DamagedError) Error() string {
	msgs := make([]string, len(e.Errs))
	for i, err := range e.Errs {
		msgs[i] = err.Error()
	}
	return fmt.Sprintf("%d secret(s) cannot be read (%s): %s", len(e.Names), strings.Join(e.Names, ", "), strings.Join(msgs, "; "))
}

func (e *DamagedError) Unwrap() []error { return e.Errs }

// Warnings returns one line for the user about each secret left out, for
// a command that goes on without them: what happened and the fix, never
// why (`wsx info NAME` says that).
func (e *DamagedError) Warnings() []string {
	out := make([]string, len(e.Names))
	for i, n := range e.Names {
		out[i] = fmt.Sprintf("warning: %s cannot be read and is left out (`wsx info %s` says why): restore its item from a backup, or `wsx rm %s` and add it again", n, n, n)
	}
	return out
}

// Cause returns why the secret called name could not be read, or nil when
// e does not name it.
func (e *DamagedError) Cause(name string) error {
	for i, n := range e.Names {
		if n == name {
			if i < len(e.Errs) && e.Errs[i] != nil {
				return e.Errs[i]
			}
			return e
		}
	}
	return nil
}

// List returns the metadata of every secret, sorted by name. A secret that
// cannot be read does not stop it: the others are returned, with a
// *DamagedError naming the ones left out.
//
// With the file backend, List keeps the metadata it opened, keyed by the
// item file's filekeyring.Stamp, and opens only the items whose file
// changed since: listing a large store again costs a directory read and a
// stat per item. A Store listed more than once (the agent's) also watches
// the items directory (inotify) and answers from what it kept, without a
// stat, while nothing in the directory changed. Only metadata is kept,
// never a value; Lock forgets it.
func (s *Store) List() ([]Meta, error) {
	g, id, err := s.reader()
	if err != nil {
		return nil, err
	}
	if fk, ok := s.kr.(*filekeyring.Keyring); ok {
		return s.listFile(fk, g, id)
	}
	names, err := s.names()
	if err != nil {
		return nil, err
	}
	metas := make([]Meta, 0, len(names))
	var dmg DamagedError
	for _, n := range names {
		sec, err := s.get(g, id, n)
		if errors.Is(err, ErrNotFound) {
			continue // removed since Keys
		}
		if err != nil {
			dmg.Names, dmg.Errs = append(dmg.Names, n), append(dmg.Errs, err)
			continue
		}
		metas = append(metas, sec.Meta)
	}
	return metas, dmg.orNil()
}

func (e *DamagedError) orNil() error {
	if len(e.Names) == 0 {
		return nil
	}
	return e
}

// stampedMeta is the metadata List opened from one version of an item file.
type stampedMeta struct {
	stamp filekeyring.Stamp
	meta  Meta
}

// metaCache is what List opened last, for the store id: the secrets in
// name order, and the same by name.
type metaCache struct {
	id     string
	sorted []stampedMeta
	byName map[string]*stampedMeta
}

// current reports whether ents, sorted by key, are exactly the cached
// items: the same names, each with the same stamp.
func (c *metaCache) current(ents []filekeyring.Entry) bool {
	if len(ents) != len(c.sorted) {
		return false
	}
	for i, e := range ents {
		if c.sorted[i].meta.Name != e.Key || c.sorted[i].stamp != e.Stamp {
			return false
		}
	}
	return true
}

// metas returns copies of the cached metadata.
func (c *metaCache) metas() []Meta {
	metas := make([]Meta, len(c.sorted))
	for i := range c.sorted {
		metas[i] = cloneMeta(c.sorted[i].meta)
	}
	return metas
}

// listFile is List for the file backend, through the metadata cache.
func (s *Store) listFile(fk *filekeyring.Keyring, g cipher.AEAD, id string) ([]Meta, error) {
	s.cacheMu.Lock()
	defer s.cacheMu.Unlock()
	c := &s.metaCache
	if c.id != id {
		*c = metaCache{id: id}
	}
	if s.pollLocked() && c.sorted != nil && !s.listStale {
		return c.metas(), nil
	}
	// Not current until a listing succeeds: the events are drained.
	prev := c.sorted
	c.sorted = nil
	if s.watch == nil && s.lists > 0 {
		// A store listed twice is kept open (the agent's): arm the watch
		// before the listing it will vouch for. Without one, every List
		// stats every item.
		s.armLocked(fk)
	}
	s.listStale = false
	s.lists++
	ents, err := fk.Entries()
	if err != nil {
		return nil, s.wrapBackend("list items", err)
	}
	ents = slices.DeleteFunc(ents, func(e filekeyring.Entry) bool { return ValidateName(e.Key) != nil })
	if c.sorted = prev; c.current(ents) {
		return c.metas(), nil
	}
	c.sorted = nil
	next := metaCache{id: id, sorted: make([]stampedMeta, 0, len(ents)), byName: make(map[string]*stampedMeta, len(ents))}
	var dmg DamagedError
	for _, e := range ents {
		name := e.Key
		if old, ok := c.byName[name]; ok && old.stamp == e.Stamp {
			next.sorted = append(next.sorted, *old)
			continue
		}
		it, stamp, err := fk.GetStamped(name)
		if isNotFound(err) {
			continue // removed since Entries
		}
		var sec Secret
		if err != nil {
			err = fmt.Errorf("secret %s: %w", name, s.wrapBackend("read", err))
		} else {
			sec, err = openItem(g, id, name, it.Data)
		}
		if err != nil {
			dmg.Names, dmg.Errs = append(dmg.Names, name), append(dmg.Errs, err)
			continue
		}
		next.sorted = append(next.sorted, stampedMeta{stamp: stamp, meta: sec.Meta})
	}
	metas := make([]Meta, len(next.sorted))
	for i := range next.sorted {
		next.byName[next.sorted[i].meta.Name] = &next.sorted[i]
		metas[i] = cloneMeta(next.sorted[i].meta)
	}
	if len(dmg.Names) == 0 {
		*c = next
	} else {
		// A damaged item must be reported by the next List too: keep
		// what opened, but never take the listing as current.
		next.sorted = nil
		*c = next
	}
	return metas, dmg.orNil()
}

// cloneMeta returns a copy of m that shares no memory with it.
func cloneMeta(m Meta) Meta {
	m.Hosts = slices.Clone(m.Hosts)
	if m.SSH != nil {
		k := *m.SSH
		m.SSH = &k
	}
	if m.Previous != nil {
		p := *m.Previous
		if p.SSH != nil {
			k := *p.SSH
			p.SSH = &k
		}
		m.Previous = &p
	}
	return m
}

// write runs fn with the store unlocked and the write lock held, after
// checking that home still holds the same store. The in-process mutex is
// not held meanwhile, so reads go on during a write; writers, in this
// process or others, are serialised by the flock alone (each takes it on
// its own open file description).
func (s *Store) write(fn func(g cipher.AEAD, id string, now time.Time) error) error {
	g, id, err := s.reader()
	if err != nil {
		return err
	}
	unlock, err := lockHome(s.home)
	if err != nil {
		return err
	}
	defer unlock()
	if _, err := s.checkSameStore(); err != nil {
		return err
	}
	return fn(g, id, s.clock().UTC())
}

// checkSameStore reads the header again, under the write lock, and
// refuses to go on if home now holds another store.
func (s *Store) checkSameStore() (*header, error) {
	h, err := loadHeader(s.home)
	if err != nil {
		return nil, err
	}
	if h.ID != s.id {
		return nil, fmt.Errorf("%s now holds another store (id %s, opened %s); nothing was written: %w", s.home, h.ID, s.id, ErrIntegrity)
	}
	return h, nil
}

func (s *Store) clock() time.Time {
	s.mu.RLock()
	now := s.now
	s.mu.RUnlock()
	return now()
}

func (s *Store) put(g cipher.AEAD, id string, sec Secret) error {
	data, err := sealItem(g, id, sec)
	if err != nil {
		return err
	}
	err = s.kr.Set(keyring.Item{Key: sec.Name, Data: data, Label: "wsx " + sec.Name})
	s.forget()
	if err != nil {
		return fmt.Errorf("secret %s: %w", sec.Name, s.wrapBackend("write", err))
	}
	return nil
}

// Add stores a new secret with Version 1 and Created = Updated = now. It
// validates the name (ValidateName; a DangerousName needs
// opts.AllowDangerousName, else ErrDangerousName), the metadata and the
// value for its type; a key in PEM or OpenSSH form is stored in canonical
// form with Meta.SSH set (see ParseKey). It fails with ErrExists if the
// name, or a name differing only in case, is taken. Created, Updated,
// Rotated, Version, SSH and a previous value given in sec are ignored.
func (s *Store) Add(sec Secret, opts ...AddOptions) (Meta, error) {
	var o AddOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	if err := ValidateName(sec.Name); err != nil {
		return Meta{}, err
	}
	if !o.AllowDangerousName {
		if err := CheckDangerousName(sec.Name); err != nil {
			return Meta{}, err
		}
	}
	sec.Previous, sec.PreviousValue = nil, Value{}
	sec, err := checkSecret(sec, o.KeyPassphrase, true)
	if err != nil {
		return Meta{}, err
	}
	err = s.write(func(g cipher.AEAD, id string, now time.Time) error {
		names, err := s.names()
		if err != nil {
			return err
		}
		for _, n := range names {
			if n == sec.Name {
				return fmt.Errorf("secret %s: %w", sec.Name, ErrExists)
			}
			if strings.EqualFold(n, sec.Name) {
				return fmt.Errorf("secret %s differs only in case from the existing %s: %w", sec.Name, n, ErrExists)
			}
		}
		sec.Created, sec.Updated, sec.Rotated, sec.Version = now, now, time.Time{}, 1
		return s.put(g, id, sec)
	})
	if err != nil {
		return Meta{}, err
	}
	return sec.Meta, nil
}

// Update applies fn to the secret called name and stores the result with
// Version+1 and Updated = now. fn may change the type, value and
// descriptive fields, and Rotated; it runs while the write lock is held, so
// it must not wait for a user. If fn changes the value without changing
// Rotated, Rotated becomes now. Name, Created and Version are the store's:
// changing the name is an error, the others are restored. The result is
// validated as by Add (an encrypted key is refused: pass the output of
// ParseKey), and so is the previous value kept by a rotation: fn may
// start, undo or finish one with the Secret methods BeginRotation,
// UndoRotation and FinishRotation, and otherwise leaves it as it is.
func (s *Store) Update(name string, fn func(*Secret) error) (Meta, error) {
	if err := ValidateName(name); err != nil {
		return Meta{}, err
	}
	var out Meta
	err := s.write(func(g cipher.AEAD, id string, now time.Time) error {
		cur, err := s.get(g, id, name)
		if err != nil {
			return err
		}
		next := cur
		next.Hosts = append([]string(nil), cur.Hosts...)
		if cur.Previous != nil {
			p := *cur.Previous
			next.Previous = &p
		}
		if err := fn(&next); err != nil {
			return err
		}
		if next.Name != name {
			return fmt.Errorf("secret %s: update cannot rename it to %q: %w", name, next.Name, ErrInvalidName)
		}
		changed := next.Type != cur.Type || !next.Value.Equal(cur.Value)
		if next, err = checkSecret(next, nil, changed); err != nil {
			return err
		}
		if !next.Value.Equal(cur.Value) && next.Rotated.Equal(cur.Rotated) {
			next.Rotated = now
		}
		next.Created, next.Version, next.Updated = cur.Created, cur.Version+1, now
		if next.Previous != nil && next.Previous.Version >= next.Version {
			return fmt.Errorf("secret %s: the previous value's version %d is not older than %d: %w", name, next.Previous.Version, next.Version, ErrInvalidValue)
		}
		if err := s.put(g, id, next); err != nil {
			return err
		}
		out = next.Meta
		return nil
	})
	return out, err
}

// Remove deletes the secret called name; ErrNotFound if there is none.
func (s *Store) Remove(name string) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	return s.write(func(cipher.AEAD, string, time.Time) error {
		// Some backends (secret-service) report success for a missing item.
		if _, err := s.kr.Get(name); isNotFound(err) {
			return fmt.Errorf("secret %s: %w", name, ErrNotFound)
		}
		err := s.kr.Remove(name)
		s.forget()
		if err != nil {
			if isNotFound(err) {
				return fmt.Errorf("secret %s: %w", name, ErrNotFound)
			}
			return fmt.Errorf("secret %s: %w", name, s.wrapBackend("remove", err))
		}
		return nil
	})
}

// ChangePassphrase wraps the data key under newPass, with a fresh salt and
// the store's KDF parameters, and replaces the header in one atomic write.
// Items are not touched: after a crash every item opens with the old
// passphrase or every item with the new one. A store whose key is held by
// its backend has no passphrase to change.
func (s *Store) ChangePassphrase(newPass []byte) error {
	if len(newPass) == 0 {
		return fmt.Errorf("the new passphrase is empty; choose a non-empty one: %w", ErrEmptyPassphrase)
	}
	s.mu.RLock()
	key := bytes.Clone(s.key)
	s.mu.RUnlock()
	if key == nil {
		return ErrLocked
	}
	defer clear(key)
	unlock, err := lockHome(s.home)
	if err != nil {
		return err
	}
	defer unlock()
	h, err := s.checkSameStore()
	if err != nil {
		return err
	}
	if h.Key != keyByPassphrase {
		return fmt.Errorf("the data key of this store is held by backend %s; it has no passphrase to change", h.Backend)
	}
	removeHeaderTemps(s.home)
	next := *h
	if err := next.wrap(key, newPass, h.KDF.params()); err != nil {
		return fmt.Errorf("change passphrase: %w", err)
	}
	if err := writeHeaderFile(s.home, next.marshal()); err != nil {
		return err
	}
	s.mu.Lock()
	s.hdr = &next
	s.mu.Unlock()
	return nil
}
