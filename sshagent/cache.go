package sshagent

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/wsxdev/wsx/store"
)

// DefaultCacheAge is how long a CachedSource trusts its list of the
// store's keys before reading it again.
const DefaultCacheAge = 2 * time.Second

// CacheOptions configure a CachedSource.
type CacheOptions struct {
	// MaxAge bounds how long the key list is trusted: a key added, rotated
	// or removed by a process that does not call Invalidate is seen at
	// most this late. Zero means DefaultCacheAge.
	MaxAge time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// CachedSource serves the store's SSH keys (the secrets whose Meta.SSH is
// set) and keeps what it read: the list of keys for at most MaxAge, and the parsed signer
// of each key used for as long as its secret keeps the same version.
// Decrypting and parsing a key (for RSA, also precomputing its CRT values)
// costs more than a signature; a cached signer costs a map lookup.
//
// The owner calls Invalidate after changing the store, and Drop when the
// store locks: Drop forgets every parsed key. Go cannot overwrite the key
// material of a dropped signer; it is left to the garbage collector.
type CachedSource struct {
	s      SecretStore
	maxAge time.Duration
	now    func() time.Time

	mu       sync.Mutex
	gen      uint64            // bumped by Drop and Invalidate
	listed   time.Time         // when keys was read; zero: not read
	keys     []StoredKey       // the store's keys, as of listed
	versions map[string]uint64 // name -> version of the listed keys
	signers  map[string]cachedSigner
}

type cachedSigner struct {
	version uint64
	signer  ssh.Signer
	raw     any // the private key signer signs with, wiped when dropped
}

var _ KeySource = (*CachedSource)(nil)

// NewCachedSource returns a CachedSource over s.
func NewCachedSource(s SecretStore, opts CacheOptions) *CachedSource {
	c := &CachedSource{s: s, maxAge: opts.MaxAge, now: opts.Now, signers: map[string]cachedSigner{}}
	if c.maxAge <= 0 {
		c.maxAge = DefaultCacheAge
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c
}

// Invalidate makes the next call read the key list again. Signers whose
// secret kept its version stay cached.
func (c *CachedSource) Invalidate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.listed = time.Time{}
}

// Drop forgets the key list and every parsed signer.
func (c *CachedSource) Drop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.listed, c.keys, c.versions = time.Time{}, nil, nil
	for _, cs := range c.signers {
		wipeKey(cs.raw)
	}
	clear(c.signers)
}

// Listed reports how many keys the last list held, without reading the
// store; 0 before the first list and after Drop.
func (c *CachedSource) Listed() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.keys)
}

// Cached reports how many parsed signers are kept.
func (c *CachedSource) Cached() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.signers)
}

// freshLocked reports whether the key list may be used; c.mu is held.
func (c *CachedSource) freshLocked() bool {
	if c.listed.IsZero() {
		return false
	}
	age := c.now().Sub(c.listed)
	return age >= 0 && age < c.maxAge
}

// Keys returns the store's keys, from the cache while it is fresh.
func (c *CachedSource) Keys() ([]StoredKey, error) {
	c.mu.Lock()
	if c.freshLocked() {
		keys := c.keys
		c.mu.Unlock()
		return keys, nil
	}
	gen := c.gen
	c.mu.Unlock()

	metas, err := c.s.List()
	if _, damaged := errors.AsType[*store.DamagedError](err); err != nil && !damaged {
		// Locked, or the store cannot be read at all. A store where some
		// items cannot be read (damaged, unsafe mode, a failed read)
		// still serves the others, as wsx exec and the credential helper
		// do; `wsx list` names the ones left out.
		return nil, fmt.Errorf("list store keys: %w", err)
	}
	keys := storedKeys(metas)
	versions := make(map[string]uint64, len(keys))
	for _, m := range metas {
		if m.SSH != nil {
			versions[m.Name] = m.Version
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen == gen {
		c.listed, c.keys, c.versions = c.now(), keys, versions
		for name, cs := range c.signers {
			if v, ok := versions[name]; !ok || v != cs.version {
				delete(c.signers, name)
			}
		}
	}
	return keys, nil
}

// Signer returns the signer of the key called name: the cached one while
// the secret's version is the one listed, else the key read and parsed
// again.
func (c *CachedSource) Signer(name string) (ssh.Signer, error) {
	for attempt := 0; ; attempt++ {
		c.mu.Lock()
		if c.freshLocked() {
			v, listed := c.versions[name]
			if cs, ok := c.signers[name]; ok && listed && cs.version == v {
				c.mu.Unlock()
				return cs.signer, nil
			}
			gen := c.gen
			c.mu.Unlock()
			return c.load(name, gen, listed, v)
		}
		c.mu.Unlock()
		if attempt > 0 {
			// The list went stale again at once (a clock jump, or
			// Invalidate in between): read the key without caching it.
			return c.load(name, 0, false, 0)
		}
		if _, err := c.Keys(); err != nil {
			return nil, err
		}
	}
}

// load reads and parses the key called name, and caches its signer when
// its version is the listed one and nothing was dropped meanwhile.
func (c *CachedSource) load(name string, gen uint64, listed bool, version uint64) (ssh.Signer, error) {
	sec, err := c.s.Get(name)
	if err != nil {
		return nil, fmt.Errorf("read key %s: %w", name, err)
	}
	signer, raw, err := parseSigner(sec)
	if err != nil {
		return nil, err
	}
	if listed && sec.Version == version {
		c.mu.Lock()
		if c.gen == gen {
			c.signers[name] = cachedSigner{version: version, signer: signer, raw: raw}
		}
		c.mu.Unlock()
	}
	return signer, nil
}
