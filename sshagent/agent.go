package sshagent

import (
	"crypto"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/wsxdev/wsx/internal/unixsock"
	"github.com/wsxdev/wsx/store"
)

// Errors callers branch on. None of their texts, nor of the errors that
// wrap them, carries key material.
var (
	ErrLocked             = errors.New("agent is locked")
	ErrNotLocked          = errors.New("agent is not locked")
	ErrEmptyPassphrase    = errors.New("empty lock passphrase")
	ErrWrongPassphrase    = errors.New("wrong unlock passphrase")
	ErrKeyNotFound        = errors.New("key not found")
	ErrUnsupportedKey     = errors.New("unsupported key")
	ErrConstraint         = errors.New("unsupported key constraint")
	ErrTooManyKeys        = errors.New("too many keys")
	ErrDestination        = errors.New("key not permitted for this destination")
	ErrConfirmDenied      = errors.New("use of key not confirmed")
	ErrNoApprover         = errors.New("no way to confirm use of key")
	ErrSignRefused        = errors.New("signature refused")
	ErrSessionBind        = errors.New("session-bind refused")
	ErrUnsupportedRequest = errors.New("unsupported request")
)

// Limits on what clients may add.
const (
	// MaxKeys is the most keys ssh-add may add to one agent.
	MaxKeys = 1024
	// MinRSABits and MaxRSABits bound RSA moduli (the bounds of OpenSSH).
	MinRSABits = 1024
	MaxRSABits = 16384
)

// Argon2id parameters for the lock passphrase hash: small, since the hash
// lives only in memory and every wrong guess is slowed down anyway.
const (
	lockKDFTime    = 1
	lockKDFMemory  = 16 * 1024 // KiB
	lockKDFThreads = 1
	lockKDFLen     = 32
	lockSaltLen    = 16
)

// Peer identifies the process at the other end of a connection, from the
// socket's credentials. Serve numbers its connections in Conn, so a
// caller can keep what it learns about a peer for as long as its
// connection lasts (see ServeOptions.OnClose); 0 outside Serve.
type Peer = unixsock.Peer

// Options configures an Agent. The zero value serves only keys added with
// ssh-add and refuses confirm-constrained keys.
type Options struct {
	// Source provides the store's keys; nil for none.
	Source KeySource
	// Confirm asks the user to approve each use of a confirm-constrained
	// key; nil refuses every such use.
	Confirm ConfirmFunc
	// OnSign is called before every signature with the peer, the key (the
	// secret name for store keys, the SHA256 fingerprint for keys added with
	// ssh-add, which no secret name can look like) and the destination when
	// session-bind told it ("user@host", host being the hostname of a
	// destination constraint or the host key's fingerprint). An error
	// refuses the signature.
	OnSign func(peer Peer, key, dest string) error
	// OwnerUnlock, when set, is asked by an unlock request (ssh-add -X)
	// whose passphrase is not the one the agent was locked with, or that
	// comes while the agent is suspended: nil means the owner unlocked
	// (with its own passphrase, the store's), and the client's lock is
	// lifted too. It must not call back into a locked agent's Unlock.
	OwnerUnlock func(peer Peer, passphrase []byte) error
	// OnUnlockFailed is told of every wrong unlock passphrase, for the
	// audit log.
	OnUnlockFailed func(peer Peer)
	// DefaultLifetime applies to added keys that carry no lifetime (ssh-agent -t).
	DefaultLifetime time.Duration
	// Clock defaults to the system clock.
	Clock Clock
	// Logf receives diagnostics (never key material); nil discards them.
	Logf func(format string, args ...any)
}

// Agent is an SSH agent over store keys and keys added by clients. Its
// methods implement agent.ExtendedAgent for a local caller; Serve uses
// Conn to give each client connection its own session bindings.
type Agent struct {
	opts  Options
	clock Clock
	local *conn

	mu        sync.Mutex
	keys      []*identity     // added by clients, in insertion order
	stored    []storedEntry   // last snapshot of Source.Keys
	hidden    map[string]bool // store key blobs removed by a client
	locked    bool            // by a client (ssh-add -x)
	suspended bool            // by the owner (Suspend), e.g. while the store is locked
	lockSalt  []byte
	lockHash  []byte

	unlockMu sync.Mutex    // serialises unlock attempts, delays included
	backoff  store.Backoff // guarded by unlockMu
}

// identity is a key added by a client.
type identity struct {
	signer  ssh.Signer    // nil while sealed
	priv    crypto.Signer // the key signer signs with; nil while sealed
	cert    *ssh.Certificate
	sealed  []byte // the private key, encrypted, while the agent is suspended
	pub     ssh.PublicKey
	blob    string
	comment string
	fp      string
	confirm bool
	expires time.Time // zero: no lifetime
	timer   Timer
	dests   []destConstraint
}

type storedEntry struct {
	name string
	pub  ssh.PublicKey
	blob string
}

var _ agent.ExtendedAgent = (*Agent)(nil)

// New returns an agent with no keys added.
func New(opts Options) *Agent {
	a := &Agent{opts: opts, clock: opts.Clock, hidden: map[string]bool{}}
	if a.clock == nil {
		a.clock = realClock{}
	}
	a.local = &conn{a: a, local: true}
	return a
}

// Conn returns the agent as seen by one client connection: session-bind
// requests on it bind that connection only, and the peer is passed to
// OnSign and Confirm.
func (a *Agent) Conn(peer Peer) agent.ExtendedAgent {
	return &conn{a: a, peer: peer}
}

// List returns the visible keys; empty while locked.
func (a *Agent) List() ([]*agent.Key, error) { return a.local.List() }

// Sign signs data with the key (ssh-rsa for RSA keys).
func (a *Agent) Sign(key ssh.PublicKey, data []byte) (*ssh.Signature, error) {
	return a.local.Sign(key, data)
}

// SignWithFlags signs, honouring the rsa-sha2-256 and rsa-sha2-512 flags.
func (a *Agent) SignWithFlags(key ssh.PublicKey, data []byte, flags agent.SignatureFlags) (*ssh.Signature, error) {
	return a.local.SignWithFlags(key, data, flags)
}

// Add adds a key in memory with its constraints.
func (a *Agent) Add(key agent.AddedKey) error { return a.local.Add(key) }

// Remove removes an added key, or hides a store key for the agent's life.
func (a *Agent) Remove(key ssh.PublicKey) error { return a.local.Remove(key) }

// RemoveAll removes every added key and hides every store key.
func (a *Agent) RemoveAll() error { return a.local.RemoveAll() }

// Lock locks the agent with a non-empty passphrase.
func (a *Agent) Lock(passphrase []byte) error { return a.local.Lock(passphrase) }

// Unlock unlocks the agent; a wrong passphrase delays the next attempt.
func (a *Agent) Unlock(passphrase []byte) error { return a.local.Unlock(passphrase) }

// Signers returns signers that sign through the agent, constraints included.
func (a *Agent) Signers() ([]ssh.Signer, error) { return a.local.Signers() }

// Extension answers "query"; session-bind needs a connection (Conn).
func (a *Agent) Extension(extensionType string, contents []byte) ([]byte, error) {
	return a.local.Extension(extensionType, contents)
}

// Locked reports whether the agent is locked by a client or suspended.
func (a *Agent) Locked() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.closed()
}

// LockedByClient reports whether a client locked the agent (ssh-add -x).
func (a *Agent) LockedByClient() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.locked
}

// closed reports whether requests must be refused; a.mu is held.
func (a *Agent) closed() bool { return a.locked || a.suspended }

// Suspend makes the agent behave as locked (an empty key list, every other
// request refused) without a lock passphrase, until Resume, and forgets
// every key added by clients and the snapshot of store keys. The daemon
// suspends the agent while the store is locked, so that no key material
// stays in the process. A client's lock (ssh-add -x) is independent of it.
func (a *Agent) Suspend() { a.SuspendSealed(nil) }

// SuspendSealed is Suspend that keeps the keys added by clients, each
// encrypted (AES-256-GCM) under key, their private material wiped where
// Go allows it; ResumeSealed with the same key brings them back, with
// their constraints and what is left of their lifetimes. With a nil key
// they are forgotten.
func (a *Agent) SuspendSealed(key []byte) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.suspended = true
	a.stored = nil
	var aead cipher.AEAD
	if len(key) == sealKeyLen {
		aead, _ = newSealAEAD(key)
	}
	for i := 0; i < len(a.keys); i++ {
		id := a.keys[i]
		if id.sealed != nil {
			continue
		}
		if aead == nil || id.seal(aead) != nil {
			a.removeLocked(i)
			i--
		}
	}
}

// UnlockByOwner lifts a client's lock (ssh-add -x) without its
// passphrase: the owner unlocked with its own.
func (a *Agent) UnlockByOwner() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.locked, a.lockSalt, a.lockHash = false, nil, nil
}

// Resume ends Suspend. Keys still sealed stay unusable until
// ResumeSealed.
func (a *Agent) Resume() { a.ResumeSealed(nil) }

// ResumeSealed ends Suspend and opens the keys SuspendSealed sealed with
// key; a key that does not open is dropped.
func (a *Agent) ResumeSealed(key []byte) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.suspended = false
	if key == nil {
		return
	}
	aead, err := newSealAEAD(key)
	for i := 0; i < len(a.keys); i++ {
		id := a.keys[i]
		if id.sealed == nil {
			continue
		}
		if err != nil || id.unseal(aead) != nil {
			a.logf("sshagent: could not restore key %s after the lock; add it again", id.fp)
			a.removeLocked(i)
			i--
		}
	}
}

// Unhide makes the store keys that clients removed (ssh-add -d, -D)
// visible again, and returns how many were hidden.
func (a *Agent) Unhide() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := len(a.hidden)
	a.hidden = map[string]bool{}
	return n
}

// Hidden returns the names of the store keys clients removed, as last
// listed.
func (a *Agent) Hidden() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var names []string
	for _, s := range a.stored {
		if a.hidden[s.blob] {
			names = append(names, s.name)
		}
	}
	return names
}

// AddedKeys reports how many keys clients added, expired ones excluded.
func (a *Agent) AddedKeys() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.clock.Now()
	n := 0
	for _, id := range a.keys {
		if !id.expired(now) {
			n++
		}
	}
	return n
}

func (a *Agent) logf(format string, args ...any) {
	if a.opts.Logf != nil {
		a.opts.Logf(format, args...)
	}
}

// refreshStored reads the source's keys into the snapshot. When the source
// fails (a locked store) its keys disappear until it answers again.
func (a *Agent) refreshStored() {
	if a.opts.Source == nil {
		return
	}
	keys, err := a.opts.Source.Keys()
	var entries []storedEntry
	if err != nil {
		if !errors.Is(err, store.ErrLocked) {
			a.logf("sshagent: store keys unavailable: %v", err)
		}
	} else {
		for _, k := range keys {
			if k.PublicKey == nil {
				continue
			}
			entries = append(entries, storedEntry{name: k.Name, pub: k.PublicKey, blob: string(k.PublicKey.Marshal())})
		}
	}
	a.mu.Lock()
	a.stored = entries
	a.mu.Unlock()
}

func (id *identity) expired(now time.Time) bool {
	return !id.expires.IsZero() && !now.Before(id.expires)
}

// usable reports whether id may sign: not expired, not sealed.
func (id *identity) usable(now time.Time) bool { return !id.expired(now) && id.sealed == nil }

// expire is the lifetime timer's callback.
func (a *Agent) expire(id *identity) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i, k := range a.keys {
		if k == id {
			a.keys = append(a.keys[:i:i], a.keys[i+1:]...)
			a.logf("sshagent: key %s expired", id.fp)
			return
		}
	}
}

// removeLocked drops a.keys[i]; a.mu is held.
func (a *Agent) removeLocked(i int) {
	if t := a.keys[i].timer; t != nil {
		t.Stop()
	}
	a.keys = append(a.keys[:i:i], a.keys[i+1:]...)
}

// newSigner checks a key sent by a client and returns its signer. The
// checks bound the work a hostile key can cause and refuse inconsistent
// keys that would sign garbage.
func newSigner(k agent.AddedKey) (ssh.Signer, error) {
	signer, _, err := newSignerKey(k)
	return signer, err
}

// newSignerKey is newSigner, returning the private key it signs with too.
func newSignerKey(k agent.AddedKey) (ssh.Signer, crypto.Signer, error) {
	signer, priv, err := checkedSigner(k)
	return signer, priv, err
}

func checkedSigner(k agent.AddedKey) (ssh.Signer, crypto.Signer, error) {
	var priv crypto.Signer
	switch p := k.PrivateKey.(type) {
	case *rsa.PrivateKey:
		if p == nil || p.N == nil {
			return nil, nil, fmt.Errorf("rsa key: %w", ErrUnsupportedKey)
		}
		if bits := p.N.BitLen(); bits < MinRSABits || bits > MaxRSABits {
			return nil, nil, fmt.Errorf("rsa key of %d bits, want %d to %d: %w", bits, MinRSABits, MaxRSABits, ErrUnsupportedKey)
		}
		if err := p.Validate(); err != nil {
			return nil, nil, fmt.Errorf("invalid rsa key: %w", ErrUnsupportedKey)
		}
		priv = p
	case *ecdsa.PrivateKey:
		if p == nil || p.D == nil || p.X == nil || p.Y == nil {
			return nil, nil, fmt.Errorf("ecdsa key: %w", ErrUnsupportedKey)
		}
		if c := p.Curve; c != elliptic.P256() && c != elliptic.P384() && c != elliptic.P521() {
			return nil, nil, fmt.Errorf("ecdsa curve: %w", ErrUnsupportedKey)
		}
		if p.D.Sign() <= 0 || p.D.Cmp(p.Curve.Params().N) >= 0 {
			return nil, nil, fmt.Errorf("invalid ecdsa key: %w", ErrUnsupportedKey)
		}
		ep, err := p.ECDH()
		if err != nil {
			return nil, nil, fmt.Errorf("invalid ecdsa key: %w", ErrUnsupportedKey)
		}
		epub, err := p.PublicKey.ECDH()
		if err != nil || !ep.PublicKey().Equal(epub) {
			return nil, nil, fmt.Errorf("ecdsa key does not match its public key: %w", ErrUnsupportedKey)
		}
		priv = p
	case ed25519.PrivateKey:
		if err := checkEd25519(p); err != nil {
			return nil, nil, err
		}
		priv = p
	case *ed25519.PrivateKey:
		if p == nil {
			return nil, nil, fmt.Errorf("ed25519 key: %w", ErrUnsupportedKey)
		}
		if err := checkEd25519(*p); err != nil {
			return nil, nil, err
		}
		priv = *p
	default:
		return nil, nil, fmt.Errorf("key type %T: %w", k.PrivateKey, ErrUnsupportedKey)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil, nil, fmt.Errorf("%v: %w", err, ErrUnsupportedKey)
	}
	if k.Certificate != nil {
		signer, err = ssh.NewCertSigner(k.Certificate, signer)
		if err != nil {
			return nil, nil, fmt.Errorf("certificate does not match key: %w", ErrUnsupportedKey)
		}
	}
	return signer, priv, nil
}

func checkEd25519(p ed25519.PrivateKey) error {
	if len(p) != ed25519.PrivateKeySize {
		return fmt.Errorf("ed25519 key size: %w", ErrUnsupportedKey)
	}
	if subtle.ConstantTimeCompare(ed25519.NewKeyFromSeed(p.Seed()), p) != 1 {
		return fmt.Errorf("ed25519 key does not match its public key: %w", ErrUnsupportedKey)
	}
	return nil
}

// parseConstraintExtensions accepts restrict-destination-v00@openssh.com
// once and refuses anything else.
func parseConstraintExtensions(exts []agent.ConstraintExtension) ([]destConstraint, error) {
	var dests []destConstraint
	seen := false
	for _, e := range exts {
		if e.ExtensionName != restrictDestination {
			return nil, fmt.Errorf("%q: %w", printable(e.ExtensionName, 64), ErrConstraint)
		}
		if seen {
			return nil, fmt.Errorf("%s given twice: %w", restrictDestination, ErrConstraint)
		}
		seen = true
		d, err := parseDestConstraints(e.ExtensionDetails)
		if err != nil {
			return nil, err
		}
		dests = d
	}
	return dests, nil
}

func lockHash(pass, salt []byte) []byte {
	return argon2.IDKey(pass, salt, lockKDFTime, lockKDFMemory, lockKDFThreads, lockKDFLen)
}

// conn is the agent as seen by one connection.
type conn struct {
	a     *Agent
	peer  Peer
	local bool // the Agent's own methods: no connection to bind

	mu    sync.Mutex
	binds []binding
}

var _ agent.ExtendedAgent = (*conn)(nil)

func (c *conn) bindings() []binding {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]binding(nil), c.binds...)
}

func (c *conn) List() ([]*agent.Key, error) {
	a := c.a
	if a.Locked() {
		return nil, nil
	}
	a.refreshStored()
	binds := c.bindings()

	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed() {
		return nil, nil
	}
	now := a.clock.Now()
	seen := map[string]bool{}
	var out []*agent.Key
	for _, id := range a.keys {
		if !id.usable(now) || seen[id.blob] {
			continue
		}
		if _, ok := permitted(id.dests, binds, nil); !ok {
			continue
		}
		seen[id.blob] = true
		out = append(out, &agent.Key{Format: id.pub.Type(), Blob: []byte(id.blob), Comment: id.comment})
	}
	for _, s := range a.stored {
		if seen[s.blob] || a.hidden[s.blob] {
			continue
		}
		seen[s.blob] = true
		out = append(out, &agent.Key{Format: s.pub.Type(), Blob: []byte(s.blob), Comment: s.name})
	}
	return out, nil
}

func (c *conn) Add(key agent.AddedKey) error {
	a := c.a
	if a.Locked() {
		return ErrLocked
	}
	signer, priv, err := newSignerKey(key)
	if err != nil {
		return fmt.Errorf("add key: %w", err)
	}
	dests, err := parseConstraintExtensions(key.ConstraintExtensions)
	if err != nil {
		return fmt.Errorf("add key: %w", err)
	}
	pub := signer.PublicKey()
	id := &identity{
		signer:  signer,
		priv:    priv,
		cert:    key.Certificate,
		pub:     pub,
		blob:    string(pub.Marshal()),
		comment: key.Comment,
		fp:      ssh.FingerprintSHA256(pub),
		confirm: key.ConfirmBeforeUse,
		dests:   dests,
	}
	lifetime := time.Duration(key.LifetimeSecs) * time.Second
	if key.LifetimeSecs == 0 {
		lifetime = a.opts.DefaultLifetime
	}
	binds := c.bindings()

	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed() {
		return ErrLocked
	}
	at := -1
	now := a.clock.Now()
	for i, k := range a.keys {
		if k.blob != id.blob || k.expired(now) {
			continue
		}
		if _, ok := permitted(k.dests, binds, nil); !ok {
			return fmt.Errorf("add key: %w", ErrDestination)
		}
		at = i
		break
	}
	if at < 0 && len(a.keys) >= MaxKeys {
		return fmt.Errorf("add key: %d keys already: %w", len(a.keys), ErrTooManyKeys)
	}
	if lifetime > 0 {
		id.expires = now.Add(lifetime)
		id.timer = a.clock.AfterFunc(lifetime, func() { a.expire(id) })
	}
	if at >= 0 {
		if t := a.keys[at].timer; t != nil {
			t.Stop()
		}
		a.keys[at] = id
	} else {
		a.keys = append(a.keys, id)
	}
	return nil
}

func (c *conn) Remove(key ssh.PublicKey) error {
	a := c.a
	if a.Locked() {
		return ErrLocked
	}
	a.refreshStored()
	blob := string(key.Marshal())
	binds := c.bindings()

	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed() {
		return ErrLocked
	}
	found := false
	now := a.clock.Now()
	for i := 0; i < len(a.keys); i++ {
		k := a.keys[i]
		if k.blob != blob {
			continue
		}
		if k.expired(now) {
			a.removeLocked(i)
			i--
			continue
		}
		if _, ok := permitted(k.dests, binds, nil); !ok {
			return fmt.Errorf("remove key: %w", ErrKeyNotFound)
		}
		a.removeLocked(i)
		i--
		found = true
	}
	for _, s := range a.stored {
		if s.blob == blob && !a.hidden[blob] {
			a.hidden[blob] = true
			found = true
		}
	}
	if !found {
		return fmt.Errorf("remove key: %w", ErrKeyNotFound)
	}
	return nil
}

func (c *conn) RemoveAll() error {
	a := c.a
	if a.Locked() {
		return ErrLocked
	}
	a.refreshStored()
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed() {
		return ErrLocked
	}
	for len(a.keys) > 0 {
		a.removeLocked(len(a.keys) - 1)
	}
	for _, s := range a.stored {
		a.hidden[s.blob] = true
	}
	return nil
}

func (c *conn) Lock(passphrase []byte) error {
	a := c.a
	if len(passphrase) == 0 {
		return ErrEmptyPassphrase
	}
	if a.Locked() {
		return fmt.Errorf("lock: %w", ErrLocked)
	}
	salt := make([]byte, lockSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	hash := lockHash(passphrase, salt)
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed() {
		return fmt.Errorf("lock: %w", ErrLocked)
	}
	a.locked, a.lockSalt, a.lockHash = true, salt, hash
	return nil
}

func (c *conn) Unlock(passphrase []byte) error {
	a := c.a
	a.unlockMu.Lock()
	defer a.unlockMu.Unlock()
	if len(passphrase) == 0 {
		return ErrEmptyPassphrase
	}
	a.mu.Lock()
	locked, suspended, salt, want := a.locked, a.suspended, a.lockSalt, a.lockHash
	a.mu.Unlock()
	if !locked && (!suspended || a.opts.OwnerUnlock == nil) {
		return ErrNotLocked
	}
	if locked && subtle.ConstantTimeCompare(lockHash(passphrase, salt), want) == 1 {
		a.mu.Lock()
		a.locked, a.lockSalt, a.lockHash = false, nil, nil
		a.mu.Unlock()
		a.backoff.Right()
		return nil
	}
	if a.opts.OwnerUnlock != nil && a.opts.OwnerUnlock(c.peer, passphrase) == nil {
		a.UnlockByOwner()
		a.backoff.Right()
		return nil
	}
	if a.opts.OnUnlockFailed != nil {
		a.opts.OnUnlockFailed(c.peer)
	}
	delay := a.backoff.Wrong()
	a.logf("sshagent: wrong unlock passphrase from pid %d, waiting %v", c.peer.PID, delay)
	a.clock.Sleep(delay)
	return ErrWrongPassphrase
}

func (c *conn) Signers() ([]ssh.Signer, error) {
	if c.a.Locked() {
		return nil, ErrLocked
	}
	keys, err := c.List()
	if err != nil {
		return nil, err
	}
	var out []ssh.Signer
	for _, k := range keys {
		pub, err := ssh.ParsePublicKey(k.Blob)
		if err != nil {
			continue
		}
		out = append(out, agentSigner{c: c, pub: pub})
	}
	return out, nil
}

// agentSigner signs through the agent, so constraints, confirmation and
// OnSign apply to in-process users too.
type agentSigner struct {
	c   *conn
	pub ssh.PublicKey
}

func (s agentSigner) PublicKey() ssh.PublicKey { return s.pub }

func (s agentSigner) Sign(_ io.Reader, data []byte) (*ssh.Signature, error) {
	return s.c.SignWithFlags(s.pub, data, 0)
}

func (s agentSigner) SignWithAlgorithm(_ io.Reader, data []byte, algorithm string) (*ssh.Signature, error) {
	var flags agent.SignatureFlags
	rsaKey := isRSA(s.pub)
	switch {
	case algorithm == "" || algorithm == s.pub.Type() || rsaKey && algorithm == ssh.KeyAlgoRSA:
	case rsaKey && algorithm == ssh.KeyAlgoRSASHA256:
		flags = agent.SignatureFlagRsaSha256
	case rsaKey && algorithm == ssh.KeyAlgoRSASHA512:
		flags = agent.SignatureFlagRsaSha512
	default:
		return nil, fmt.Errorf("signature algorithm %q: %w", algorithm, ErrUnsupportedRequest)
	}
	return s.c.SignWithFlags(s.pub, data, flags)
}
