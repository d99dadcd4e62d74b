package store

import (
	"runtime"

	"github.com/wsxdev/wsx/store/filekeyring"
)

// Bounds of the sealed items a Store keeps (sealCache); variables for
// the tests.
var (
	// maxCachedItem is the largest item kept: larger ones (file secrets)
	// are read at each use.
	maxCachedItem = 64 << 10
	// maxCachedBytes bounds the items kept, counted with an allowance
	// for each entry's own memory; past it, items are read, not kept.
	maxCachedBytes = 4 << 20
)

const cacheEntryCost = 256

// sealCache keeps the parsed envelopes of the items GetMany read (file
// backend, with the watch armed): sealed data only, never a value; each
// use still opens, authenticates and decrypts its items. Everything kept
// is dropped at once when the watch reports any change in the items
// directory, or cannot tell, and at Lock.
//
// gen counts those drops: a read that found items missing fills them in
// only if no drop came between its look at the watch and its fill, so an
// item read before a change can never be kept after the change was seen.
// A change that lands after the look is still queued in the watch: the
// next look sees it and drops what this read kept.
type sealCache struct {
	gen   uint64
	items map[string]keptSeal
	bytes int

	// Tests run these after the look at the watch, and after the read of
	// the files, of a GetMany that reads files.
	afterLook, afterRead func()
}

// keptSeal is a kept item and what it counts against maxCachedBytes.
type keptSeal struct {
	k    *keptItem
	cost int
}

// drop forgets every kept item.
func (c *sealCache) drop() {
	c.gen++
	c.items = nil
	c.bytes = 0
}

// forget drops the kept items and listing after a write of this Store;
// the watch would report it too, at the next look.
func (s *Store) forget() {
	s.cacheMu.Lock()
	s.seals.drop()
	s.listStale = true
	s.cacheMu.Unlock()
}

// add keeps k, read for name at generation gen, when gen is current and
// the bounds allow.
func (c *sealCache) add(gen uint64, name string, k *keptItem, size int) {
	if gen != c.gen || size > maxCachedItem {
		return
	}
	cost := size + len(name) + cacheEntryCost
	if c.bytes+cost > maxCachedBytes {
		return
	}
	if c.items == nil {
		c.items = make(map[string]keptSeal)
	}
	c.bytes += cost - c.items[name].cost
	c.items[name] = keptSeal{k, cost}
}

// pollLocked drains the watch on the items directory: a change, or a
// watch that can no longer tell, drops the kept items and marks the kept
// listing stale. It reports whether the watch vouches for what is kept
// now. s.cacheMu is held.
func (s *Store) pollLocked() bool {
	if s.watch == nil {
		return false
	}
	if s.watch.Changed() {
		s.seals.drop()
		s.listStale = true
	}
	if s.watch.Broken() {
		s.watch.Close()
		s.watch = nil
		return false
	}
	return true
}

// armLocked starts watching the items directory of fk (none watched
// yet), for a Store read more than once (the agent's), before the read
// the watch will vouch for. Without inotify nothing is kept. s.cacheMu is
// held.
func (s *Store) armLocked(fk *filekeyring.Keyring) {
	if w, err := fk.Watch(); err == nil {
		s.watch = w
		s.seals.drop()
		s.listStale = true
		runtime.AddCleanup(s, func(w *filekeyring.Watch) { w.Close() }, w)
	}
}

// getManyFile is GetMany for the file backend: the kept envelopes of
// names when the watch says nothing changed, the item files for the
// others. On an error reading the files, ok is false and the caller
// reads the names one by one for the error that names the secret.
func (s *Store) getManyFile(fk *filekeyring.Keyring, names []string) (items []*keptItem, ok bool) {
	s.cacheMu.Lock()
	watched := s.pollLocked()
	if !watched && s.gets > 0 {
		// Read twice: kept open (the agent's), as in listFile.
		s.armLocked(fk)
		watched = s.watch != nil
	}
	s.gets++
	gen := s.seals.gen
	items = make([]*keptItem, len(names))
	var missing []string
	for i, n := range names {
		if k, hit := s.seals.items[n]; hit && watched {
			items[i] = k.k
		} else {
			missing = append(missing, n)
		}
	}
	afterLook, afterRead := s.seals.afterLook, s.seals.afterRead
	s.cacheMu.Unlock()
	if len(missing) == 0 {
		return items, true
	}
	if afterLook != nil {
		afterLook()
	}
	files, err := fk.GetMany(missing)
	if err != nil {
		return nil, false
	}
	read := make(map[string]*keptItem, len(files))
	sizes := make(map[string]int, len(files))
	for _, it := range files {
		e, err := parseEnvelope(it.Data)
		if err != nil {
			return nil, false
		}
		read[it.Key], sizes[it.Key] = &keptItem{e: e, learn: watched && len(it.Data) <= maxCachedItem}, len(it.Data)
	}
	for i, n := range names {
		if items[i] == nil {
			items[i] = read[n]
		}
	}
	if afterRead != nil {
		afterRead()
	}
	if watched {
		s.cacheMu.Lock()
		for n, k := range read {
			s.seals.add(gen, n, k, sizes[n])
		}
		s.cacheMu.Unlock()
	}
	return items, true
}
