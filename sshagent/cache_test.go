package sshagent

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"slices"
	"testing"
	"time"

	"golang.org/x/crypto/ssh/agent"

	"github.com/wsxdev/wsx/store"
)

func (f *fakeStore) set(sec store.Secret) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.secrets[sec.Name] = sec
}

func (f *fakeStore) getCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.gets
}

// A CachedSource parses each key once per version: signatures after the
// first read nothing from the store, a rotated key is read again, and a
// removed or locked one is not served.
func TestCachedSource(t *testing.T) {
	clock := newFakeClock()
	first := newEd25519(t)
	sec := keySecret(t, "DEPLOY_KEY", first)
	sec.Version = 1
	fs := &fakeStore{secrets: map[string]store.Secret{"DEPLOY_KEY": sec}}
	src := NewCachedSource(fs, CacheOptions{MaxAge: time.Minute, Now: clock.Now})
	a := New(Options{Clock: clock, Source: src})

	data := []byte("sign me")
	sign := func(k ed25519.PrivateKey) error {
		t.Helper()
		pub := sshPub(t, k)
		sig, err := a.Sign(pub, data)
		if err != nil {
			return err
		}
		return pub.Verify(data, sig)
	}
	if got := listComments(t, a); !slices.Equal(got, []string{"DEPLOY_KEY"}) {
		t.Fatalf("listed %q", got)
	}
	for range 10 {
		if err := sign(first); err != nil {
			t.Fatal(err)
		}
	}
	if n := fs.getCount(); n != 1 {
		t.Fatalf("10 signatures read the key %d times, want 1", n)
	}
	if src.Cached() != 1 {
		t.Fatalf("%d signers cached", src.Cached())
	}

	// Rotated by someone who tells the source: the new key is served and
	// parsed once, the old one is gone.
	second := newEd25519(t)
	rot := keySecret(t, "DEPLOY_KEY", second)
	rot.Version = 2
	fs.set(rot)
	src.Invalidate()
	if err := sign(second); err != nil {
		t.Fatalf("sign with the rotated key: %v", err)
	}
	if err := sign(first); !errors.Is(err, ErrKeyNotFound) {
		t.Fatalf("sign with the key rotated away: %v", err)
	}
	if n := fs.getCount(); n != 2 {
		t.Fatalf("key read %d times, want 2", n)
	}

	// Changed behind the source's back: seen once the list is older than
	// MaxAge.
	third := newEd25519(t)
	rot = keySecret(t, "DEPLOY_KEY", third)
	rot.Version = 3
	fs.set(rot)
	if err := sign(second); err != nil {
		t.Fatalf("within MaxAge the listed key still signs: %v", err)
	}
	clock.Advance(time.Minute)
	if err := sign(third); err != nil {
		t.Fatalf("after MaxAge: %v", err)
	}
	if err := sign(second); !errors.Is(err, ErrKeyNotFound) {
		t.Fatalf("stale key after MaxAge: %v", err)
	}

	// Drop forgets every signer; a locked store serves nothing.
	src.Drop()
	if src.Cached() != 0 {
		t.Fatal("Drop kept signers")
	}
	fs.mu.Lock()
	fs.locked = true
	fs.mu.Unlock()
	if err := sign(third); err == nil {
		t.Fatal("signed with the store locked")
	}
	if got := listComments(t, a); len(got) != 0 {
		t.Fatalf("store locked: listed %q", got)
	}
}

// A source over a store where some items cannot be read, whatever the
// reason, still serves the other keys; a store that cannot be listed at
// all serves none.
func TestCachedSourcePartialList(t *testing.T) {
	good := newEd25519(t)
	for _, why := range []error{
		fmt.Errorf("the item holds the data of GOOD_KEY: %w", store.ErrIntegrity),
		fmt.Errorf("item mode 0666: %w", store.ErrUnsafePermission),
		errors.New("read item: input/output error"),
	} {
		ps := partialStore{fakeStore: &fakeStore{secrets: map[string]store.Secret{"GOOD_KEY": keySecret(t, "GOOD_KEY", good)}},
			err: &store.DamagedError{Names: []string{"BAD_KEY"}, Errs: []error{why}}}
		keys, err := NewCachedSource(ps, CacheOptions{}).Keys()
		if err != nil || len(keys) != 1 || keys[0].Name != "GOOD_KEY" {
			t.Errorf("BAD_KEY: %v: Keys = %v, %v; want GOOD_KEY", why, keys, err)
		}
	}
	ps := partialStore{fakeStore: &fakeStore{secrets: map[string]store.Secret{"GOOD_KEY": keySecret(t, "GOOD_KEY", good)}},
		err: errors.New("list items: permission denied")}
	if keys, err := NewCachedSource(ps, CacheOptions{}).Keys(); err == nil {
		t.Errorf("store not listed: Keys = %v, want an error", keys)
	}
}

// partialStore lists what its fakeStore holds, with err.
type partialStore struct {
	*fakeStore
	err error
}

func (p partialStore) List() ([]store.Meta, error) {
	metas, _ := p.fakeStore.List()
	return metas, p.err
}

// Suspend acts as a lock without passphrase and forgets added keys;
// ssh-add -X cannot end it.
func TestSuspend(t *testing.T) {
	a := New(Options{Clock: newFakeClock()})
	k := newEd25519(t)
	if err := a.Add(agent.AddedKey{PrivateKey: k, Comment: "added"}); err != nil {
		t.Fatal(err)
	}
	a.Suspend()
	if !a.Locked() || a.LockedByClient() {
		t.Fatalf("suspended: Locked %v, LockedByClient %v", a.Locked(), a.LockedByClient())
	}
	if got := listComments(t, a); len(got) != 0 {
		t.Fatalf("suspended agent lists %q", got)
	}
	if _, err := a.Sign(sshPub(t, k), []byte("x")); !errors.Is(err, ErrLocked) {
		t.Fatalf("sign while suspended: %v", err)
	}
	if err := a.Add(agent.AddedKey{PrivateKey: newEd25519(t)}); !errors.Is(err, ErrLocked) {
		t.Fatalf("add while suspended: %v", err)
	}
	if err := a.Unlock([]byte("any")); !errors.Is(err, ErrNotLocked) {
		t.Fatalf("unlock while only suspended: %v", err)
	}
	a.Resume()
	if a.Locked() {
		t.Fatal("still locked after Resume")
	}
	if got := listComments(t, a); len(got) != 0 || a.AddedKeys() != 0 {
		t.Fatalf("added key survived Suspend: %q", got)
	}
	if err := a.Add(agent.AddedKey{PrivateKey: newEd25519(t), Comment: "again"}); err != nil {
		t.Fatal(err)
	}
	if a.AddedKeys() != 1 {
		t.Fatal("AddedKeys after add")
	}
}

// Serve numbers connections and reports their end, so a caller can keep
// per-connection facts (the daemon keeps the peer's process).
func TestServeConnNumbers(t *testing.T) {
	signed := make(chan Peer, 4)
	closed := make(chan Peer, 4)
	k := newEd25519(t)
	a, sock := startOurs(t, Options{OnSign: func(p Peer, _, _ string) error { signed <- p; return nil }},
		ServeOptions{OnClose: func(p Peer) { closed <- p }})
	if err := a.Add(agent.AddedKey{PrivateKey: k}); err != nil {
		t.Fatal(err)
	}
	var conns []uint64
	for range 2 {
		c, err := net.Dial("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := agent.NewClient(c).Sign(sshPub(t, k), []byte("x")); err != nil {
			t.Fatal(err)
		}
		p := <-signed
		conns = append(conns, p.Conn)
		c.Close()
		select {
		case cp := <-closed:
			if cp != p {
				t.Fatalf("OnClose got %+v, OnSign %+v", cp, p)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("OnClose not called")
		}
	}
	if conns[0] == 0 || conns[1] == conns[0] {
		t.Fatalf("connection numbers %v", conns)
	}
}
