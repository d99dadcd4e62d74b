package sshagent

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// Keys added with ssh-add survive a suspension sealed, with no private
// material left in reach, and come back with the same key only.
func TestSuspendSealed(t *testing.T) {
	_, edPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecPriv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	a := New(Options{})
	for _, k := range []any{edPriv, ecPriv} {
		if err := a.Add(agent.AddedKey{PrivateKey: k, Comment: "added", LifetimeSecs: 3600}); err != nil {
			t.Fatal(err)
		}
	}
	edHeld := a.keys[0].priv.(ed25519.PrivateKey)
	ecHeld := a.keys[1].priv.(*ecdsa.PrivateKey)
	seed := bytes.Clone(edPriv.Seed())
	key := bytes.Repeat([]byte{7}, sealKeyLen)
	a.SuspendSealed(key)
	if keys, _ := a.List(); len(keys) != 0 {
		t.Fatalf("suspended agent lists %d keys", len(keys))
	}
	for _, id := range a.keys {
		if id.sealed == nil || id.priv != nil || id.signer != nil {
			t.Fatalf("key %s not sealed", id.fp)
		}
		if bytes.Contains(id.sealed, seed) {
			t.Fatal("the sealed form holds the seed in clear")
		}
	}
	if !bytes.Equal(edHeld, make([]byte, len(edHeld))) {
		t.Error("the ed25519 key the agent held was not wiped")
	}
	for _, w := range ecHeld.D.Bits() {
		if w != 0 {
			t.Error("the ecdsa key the agent held was not wiped")
			break
		}
	}
	data := []byte("data")
	if _, err := a.Sign(ssh.PublicKey(mustPub(t, edPriv.Public())), data); err == nil {
		t.Fatal("signed while suspended")
	}
	// A wrong key drops them; the right key brings them back.
	b := New(Options{})
	b.keys = append(b.keys, a.keys[0])
	a.keys = a.keys[1:]
	b.suspended = true
	b.ResumeSealed(bytes.Repeat([]byte{8}, sealKeyLen))
	if len(b.keys) != 0 {
		t.Error("a key opened with the wrong seal key")
	}
	a.ResumeSealed(key)
	keys, _ := a.List()
	if len(keys) != 1 || keys[0].Comment != "added" {
		t.Fatalf("after resume: %v", keys)
	}
	pub := mustPub(t, ecPriv.Public())
	sig, err := a.Sign(pub, data)
	if err != nil || pub.Verify(data, sig) != nil {
		t.Fatalf("the resumed key does not sign: %v", err)
	}
	if a.keys[0].timer == nil || a.keys[0].expires.IsZero() {
		t.Error("the lifetime was lost")
	}
	// Without a key they are forgotten, as before.
	a.Suspend()
	a.Resume()
	if a.AddedKeys() != 0 {
		t.Error("Suspend without a key kept the keys")
	}
}

func mustPub(t *testing.T, k any) ssh.PublicKey {
	t.Helper()
	p, err := ssh.NewPublicKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// One lock: a client's unlock with the owner's passphrase lifts both the
// client's lock and a suspension; wrong ones are reported.
func TestOwnerUnlock(t *testing.T) {
	var a *Agent
	failed := 0
	a = New(Options{
		OwnerUnlock: func(_ Peer, p []byte) error {
			if string(p) != "store pass" {
				return errors.New("wrong")
			}
			a.Resume()
			return nil
		},
		OnUnlockFailed: func(Peer) { failed++ },
		Clock:          newFakeClock(),
	})
	if err := a.Unlock([]byte("x")); !errors.Is(err, ErrNotLocked) {
		t.Fatalf("unlock of an open agent: %v", err)
	}
	// ssh-add -x, then the store's passphrase.
	if err := a.Lock([]byte("lockpw")); err != nil {
		t.Fatal(err)
	}
	if err := a.Unlock([]byte("nope")); !errors.Is(err, ErrWrongPassphrase) || failed != 1 {
		t.Fatalf("wrong passphrase: %v, %d failures", err, failed)
	}
	if err := a.Unlock([]byte("store pass")); err != nil || a.Locked() {
		t.Fatalf("unlock with the owner's passphrase: %v, locked %v", err, a.Locked())
	}
	// Suspended by the owner (wsx lock): ssh-add -X with the store's
	// passphrase.
	a.Suspend()
	if err := a.Unlock([]byte("lockpw")); !errors.Is(err, ErrWrongPassphrase) || failed != 2 {
		t.Fatalf("old lock passphrase on a suspended agent: %v", err)
	}
	if err := a.Unlock([]byte("store pass")); err != nil || a.Locked() {
		t.Fatalf("unlock of a suspended agent: %v, locked %v", err, a.Locked())
	}
	// The owner lifts a client's lock.
	if err := a.Lock([]byte("lockpw")); err != nil {
		t.Fatal(err)
	}
	a.UnlockByOwner()
	if a.Locked() {
		t.Fatal("UnlockByOwner left the lock")
	}
}
