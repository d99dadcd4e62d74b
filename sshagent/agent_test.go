package sshagent

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/wsxdev/wsx/store"
)

func addedCount(a *Agent) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.keys)
}

// SECURITY 30: the key goes when its lifetime ends, with no request to
// trigger the removal.
func TestLifetimeRemovesWithoutRequests(t *testing.T) {
	clock := newFakeClock()
	a := New(Options{Clock: clock})
	if err := a.Add(agent.AddedKey{PrivateKey: newEd25519(t), Comment: "two seconds", LifetimeSecs: 2}); err != nil {
		t.Fatal(err)
	}
	if err := a.Add(agent.AddedKey{PrivateKey: newEd25519(t), Comment: "forever"}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(1999 * time.Millisecond)
	if n := addedCount(a); n != 2 {
		t.Fatalf("%d keys before the lifetime ends, want 2", n)
	}
	clock.Advance(time.Millisecond)
	if n := addedCount(a); n != 1 {
		t.Fatalf("%d keys when the lifetime ends, want 1", n)
	}
	if got := listComments(t, a); !slices.Equal(got, []string{"forever"}) {
		t.Fatalf("listed %q", got)
	}
}

// The same with the real clock and timers, in a synctest bubble, over
// the wire (net.Pipe) with ServeAgent.
func TestLifetimeSynctest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := New(Options{DefaultLifetime: 5 * time.Second})
		client, server := net.Pipe()
		defer client.Close()
		go agent.ServeAgent(a.Conn(Peer{UID: 1000, PID: 42}), server)
		c := agent.NewClient(client)
		if err := c.Add(agent.AddedKey{PrivateKey: newEd25519(t), Comment: "lifetime 2", LifetimeSecs: 2}); err != nil {
			t.Fatal(err)
		}
		if err := c.Add(agent.AddedKey{PrivateKey: newEd25519(t), Comment: "default lifetime"}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if n := addedCount(a); n != 1 {
			t.Fatalf("%d keys at 2 s, want 1", n)
		}
		time.Sleep(3 * time.Second)
		synctest.Wait()
		if n := addedCount(a); n != 0 {
			t.Fatalf("%d keys at 5 s, want 0 (default lifetime)", n)
		}
		if got := listComments(t, c); len(got) != 0 {
			t.Fatalf("listed %q", got)
		}
		server.Close()
	})
}

// Re-adding a key replaces it, and its old lifetime no longer applies.
func TestReAddReplacesLifetime(t *testing.T) {
	clock := newFakeClock()
	a := New(Options{Clock: clock})
	k := newEd25519(t)
	if err := a.Add(agent.AddedKey{PrivateKey: k, Comment: "old", LifetimeSecs: 1}); err != nil {
		t.Fatal(err)
	}
	if err := a.Add(agent.AddedKey{PrivateKey: k, Comment: "new"}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Hour)
	if got := listComments(t, a); !slices.Equal(got, []string{"new"}) {
		t.Fatalf("listed %q, want the re-added key only", got)
	}
}

// SECURITY 31: wrong unlocks slow down 0.1 s a step up to 10 s, across
// connections, and the right passphrase still works.
func TestUnlockBackoff(t *testing.T) {
	clock := newFakeClock()
	a := New(Options{Clock: clock})
	pass := []byte("correct horse")
	if err := a.Lock(pass); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(a.lockHash, pass) || len(a.lockHash) != lockKDFLen {
		t.Fatal("lock passphrase kept in a recoverable form")
	}
	conns := []agent.ExtendedAgent{a.Conn(Peer{PID: 1}), a.Conn(Peer{PID: 2}), a}
	for i := 0; i < 5; i++ {
		if err := conns[i%len(conns)].Unlock([]byte(fmt.Sprintf("guess %d", i))); !errors.Is(err, ErrWrongPassphrase) {
			t.Fatalf("guess %d: %v, want ErrWrongPassphrase", i, err)
		}
	}
	want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond, 400 * time.Millisecond, 500 * time.Millisecond}
	if got := clock.Slept(); !slices.Equal(got, want) {
		t.Fatalf("delays %v, want %v", got, want)
	}
	if err := a.Unlock(nil); !errors.Is(err, ErrEmptyPassphrase) {
		t.Fatalf("empty unlock: %v", err)
	}
	if err := a.Conn(Peer{PID: 3}).Unlock(pass); err != nil {
		t.Fatalf("right passphrase after wrong ones: %v", err)
	}
	if len(clock.Slept()) != len(want) {
		t.Fatal("the right passphrase was delayed")
	}
	// Success resets the count; the delay is capped at 10 s.
	if err := a.Lock(pass); err != nil {
		t.Fatal(err)
	}
	a.Unlock([]byte("wrong"))
	a.unlockMu.Lock()
	for range 97 {
		a.backoff.Wrong()
	}
	a.unlockMu.Unlock()
	for i := 0; i < 3; i++ {
		a.Unlock([]byte("wrong"))
	}
	got := clock.Slept()[len(want):]
	wantTail := []time.Duration{100 * time.Millisecond, 9900 * time.Millisecond, 10 * time.Second, 10 * time.Second}
	if !slices.Equal(got, wantTail) {
		t.Fatalf("delays %v, want %v", got, wantTail)
	}
}

// blockingClock's Sleep waits until released, to observe serialisation.
type blockingClock struct {
	realClock
	sleeping chan struct{}
	release  chan struct{}
}

func (c blockingClock) Sleep(time.Duration) {
	c.sleeping <- struct{}{}
	<-c.release
}

// While a wrong attempt waits, no other unlock attempt runs: the delay is
// global, not per connection.
func TestUnlockDelayIsGlobal(t *testing.T) {
	clock := blockingClock{sleeping: make(chan struct{}), release: make(chan struct{})}
	a := New(Options{Clock: clock})
	if err := a.Lock([]byte("right")); err != nil {
		t.Fatal(err)
	}
	go a.Conn(Peer{PID: 1}).Unlock([]byte("wrong"))
	select {
	case <-clock.sleeping:
	case <-time.After(10 * time.Second):
		t.Fatal("a wrong passphrase caused no delay")
	}
	done := make(chan error, 1)
	go func() { done <- a.Conn(Peer{PID: 2}).Unlock([]byte("right")) }()
	select {
	case err := <-done:
		t.Fatalf("unlock ran during another attempt's delay: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	close(clock.release)
	if err := <-done; err != nil {
		t.Fatalf("Unlock: %v", err)
	}
	if a.Locked() {
		t.Fatal("still locked")
	}
}

func TestLockedAgent(t *testing.T) {
	a := New(Options{Clock: newFakeClock()})
	k := newEd25519(t)
	if err := a.Add(agent.AddedKey{PrivateKey: k}); err != nil {
		t.Fatal(err)
	}
	if err := a.Lock([]byte("p")); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Signers(); !errors.Is(err, ErrLocked) {
		t.Errorf("Signers: %v", err)
	}
	if _, err := a.Extension(extQuery, nil); err == nil {
		t.Error("query answered while locked")
	}
	if _, err := a.Sign(sshPub(t, k), []byte("x")); !errors.Is(err, ErrLocked) {
		t.Errorf("Sign: %v", err)
	}
}

// SECURITY 32 with an injected approver: approve, deny, no approver.
func TestConfirm(t *testing.T) {
	k := newEd25519(t)
	pub := sshPub(t, k)
	var asked []ConfirmRequest
	approve := true
	confirm := func(req ConfirmRequest) error {
		asked = append(asked, req)
		if approve {
			return nil
		}
		return errors.New("user said no")
	}
	a := New(Options{Clock: newFakeClock(), Confirm: confirm})
	if err := a.Add(agent.AddedKey{PrivateKey: k, Comment: "deploy key", ConfirmBeforeUse: true}); err != nil {
		t.Fatal(err)
	}
	c := a.Conn(Peer{UID: 1000, PID: 4242})
	if _, err := c.Sign(pub, []byte("x")); err != nil {
		t.Fatalf("approved: %v", err)
	}
	approve = false
	if _, err := c.Sign(pub, []byte("x")); !errors.Is(err, ErrConfirmDenied) {
		t.Fatalf("denied: %v, want ErrConfirmDenied", err)
	}
	if len(asked) != 2 || asked[0].Key != "deploy key" || asked[0].Peer.PID != 4242 ||
		asked[0].Fingerprint != ssh.FingerprintSHA256(pub) {
		t.Fatalf("confirm requests %+v", asked)
	}
	if p := asked[0].Prompt(); !strings.Contains(p, "deploy key") || !strings.Contains(p, "4242") {
		t.Errorf("prompt %q lacks the key or the process", p)
	}

	noApprover := New(Options{Clock: newFakeClock()})
	if err := noApprover.Add(agent.AddedKey{PrivateKey: k, ConfirmBeforeUse: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := noApprover.Sign(pub, []byte("x")); !errors.Is(err, ErrNoApprover) {
		t.Fatalf("no approver: %v, want ErrNoApprover", err)
	}
	// Keys without the constraint are not asked about.
	asked = nil
	other := newEd25519(t)
	if err := a.Add(agent.AddedKey{PrivateKey: other}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Sign(sshPub(t, other), []byte("x")); err != nil || len(asked) != 0 {
		t.Fatalf("unconstrained key: %v, %d confirmations", err, len(asked))
	}
}

// A key removed while its confirmation was pending is not used.
func TestConfirmThenRemoved(t *testing.T) {
	k := newEd25519(t)
	pub := sshPub(t, k)
	var a *Agent
	a = New(Options{Clock: newFakeClock(), Confirm: func(ConfirmRequest) error {
		return a.Conn(Peer{}).Remove(pub)
	}})
	if err := a.Add(agent.AddedKey{PrivateKey: k, ConfirmBeforeUse: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Sign(pub, []byte("x")); !errors.Is(err, ErrKeyNotFound) {
		t.Fatalf("Sign: %v, want ErrKeyNotFound", err)
	}
}

func TestAskpassConfirm(t *testing.T) {
	dir := t.TempDir()
	script := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o700); err != nil {
			t.Fatal(err)
		}
		return p
	}
	record := filepath.Join(dir, "record")
	req := ConfirmRequest{Key: "GITHUB_DEPLOY\x1b[31m", Fingerprint: "SHA256:abc", Dest: "git@github.com", Peer: Peer{UID: 1000, PID: 77}}
	for _, tc := range []struct {
		name, body string
		want       error
	}{
		{"empty answer", "exit 0\n", nil},
		{"yes", "echo yes\n", nil},
		{"YES", "echo YES\n", nil},
		{"no", "echo no\n", ErrConfirmDenied},
		{"exit 1", "echo yes; exit 1\n", ErrConfirmDenied},
		{"records", fmt.Sprintf("printf '%%s|%%s' \"$SSH_ASKPASS_PROMPT\" \"$1\" > %s\n", record), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := []string{"SSH_ASKPASS=" + script(tc.name, tc.body), "SSH_ASKPASS_PROMPT=none", "PATH=/usr/bin:/bin"}
			err := AskpassConfirm(env)(req)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	got, err := os.ReadFile(record)
	if err != nil {
		t.Fatal(err)
	}
	kind, prompt, _ := strings.Cut(string(got), "|")
	if kind != "confirm" {
		t.Errorf("SSH_ASKPASS_PROMPT=%q, want confirm", kind)
	}
	if !strings.Contains(prompt, "SHA256:abc") || !strings.Contains(prompt, "git@github.com") || strings.Contains(prompt, "\x1b") {
		t.Errorf("prompt %q", prompt)
	}
	if err := AskpassConfirm([]string{"PATH=/usr/bin"})(req); !errors.Is(err, ErrNoApprover) {
		t.Errorf("without SSH_ASKPASS: %v, want ErrNoApprover", err)
	}
	if err := AskpassConfirm([]string{"SSH_ASKPASS=" + filepath.Join(dir, "missing")})(req); err == nil {
		t.Error("missing askpass program approved")
	}
}

// fakeStore is a SecretStore in memory.
type fakeStore struct {
	mu      sync.Mutex
	secrets map[string]store.Secret
	locked  bool
	gets    int
}

func (f *fakeStore) List() ([]store.Meta, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.locked {
		return nil, store.ErrLocked
	}
	var out []store.Meta
	for _, s := range f.secrets {
		out = append(out, s.Meta)
	}
	slices.SortFunc(out, func(a, b store.Meta) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func (f *fakeStore) Get(name string) (store.Secret, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gets++
	if f.locked {
		return store.Secret{}, store.ErrLocked
	}
	s, ok := f.secrets[name]
	if !ok {
		return store.Secret{}, store.ErrNotFound
	}
	return s, nil
}

// keySecret builds a key secret as the store keeps it.
func keySecret(t testing.TB, name string, k ed25519.PrivateKey) store.Secret {
	t.Helper()
	block, err := ssh.MarshalPrivateKey(k, "")
	if err != nil {
		t.Fatal(err)
	}
	pub := sshPub(t, k)
	return store.Secret{
		Meta: store.Meta{Name: name, Type: store.TypeKey, SSH: &store.SSHKey{
			Algorithm:   pub.Type(),
			Fingerprint: ssh.FingerprintSHA256(pub),
			PublicKey:   strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub))),
		}},
		Value: store.NewValue(pemEncode(block)),
	}
}

func TestStoreKeys(t *testing.T) {
	deploy, personal, rotated := newEd25519(t), newEd25519(t), newEd25519(t)
	fs := &fakeStore{secrets: map[string]store.Secret{
		"DEPLOY_KEY":   keySecret(t, "DEPLOY_KEY", deploy),
		"PERSONAL_KEY": keySecret(t, "PERSONAL_KEY", personal),
		"API_TOKEN":    {Meta: store.Meta{Name: "API_TOKEN", Type: store.TypeToken}, Value: store.NewValue([]byte("tok"))},
	}}
	// ROTATED_KEY's metadata names a key its value no longer holds.
	stale := keySecret(t, "ROTATED_KEY", rotated)
	stale.Value = keySecret(t, "ROTATED_KEY", newEd25519(t)).Value
	fs.secrets["ROTATED_KEY"] = stale

	var signed []string
	src := NewCachedSource(fs, CacheOptions{})
	a := New(Options{Clock: newFakeClock(), Source: src, OnSign: func(p Peer, key, dest string) error {
		signed = append(signed, key)
		return nil
	}})
	if got := listComments(t, a); !slices.Equal(got, []string{"DEPLOY_KEY", "PERSONAL_KEY", "ROTATED_KEY"}) {
		t.Fatalf("listed %q", got)
	}
	data := []byte("sign me")
	sig, err := a.Sign(sshPub(t, deploy), data)
	if err != nil {
		t.Fatalf("Sign with a store key: %v", err)
	}
	if err := sshPub(t, deploy).Verify(data, sig); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Sign(sshPub(t, rotated), data); !errors.Is(err, ErrKeyNotFound) {
		t.Errorf("sign with a key whose value changed: %v", err)
	}
	if !slices.Equal(signed, []string{"DEPLOY_KEY"}) {
		t.Errorf("OnSign saw %q, want the secret name of the one signature made", signed)
	}

	// Removing hides the key from this agent; the secret stays.
	if err := a.Remove(sshPub(t, deploy)); err != nil {
		t.Fatal(err)
	}
	if got := listComments(t, a); !slices.Equal(got, []string{"PERSONAL_KEY", "ROTATED_KEY"}) {
		t.Fatalf("after Remove: %q", got)
	}
	if _, ok := fs.secrets["DEPLOY_KEY"]; !ok {
		t.Fatal("Remove deleted the secret")
	}
	if _, err := a.Sign(sshPub(t, deploy), data); !errors.Is(err, ErrKeyNotFound) {
		t.Fatalf("sign with a removed store key: %v", err)
	}

	// A key added with ssh-add and the same public key shadows the store's.
	if err := a.Add(agent.AddedKey{PrivateKey: personal, Comment: "from ssh-add"}); err != nil {
		t.Fatal(err)
	}
	if got := listComments(t, a); !slices.Equal(got, []string{"from ssh-add", "ROTATED_KEY"}) {
		t.Fatalf("with a shadowing key: %q", got)
	}

	// A locked store serves nothing (its owner drops what the source
	// kept, as the daemon does); unlocked again, it serves.
	fs.mu.Lock()
	fs.locked = true
	fs.mu.Unlock()
	src.Drop()
	if got := listComments(t, a); !slices.Equal(got, []string{"from ssh-add"}) {
		t.Fatalf("store locked: %q", got)
	}
	fs.mu.Lock()
	fs.locked = false
	fs.mu.Unlock()

	if err := a.RemoveAll(); err != nil {
		t.Fatal(err)
	}
	if got := listComments(t, a); len(got) != 0 {
		t.Fatalf("after RemoveAll: %q", got)
	}
	if len(fs.secrets) != 4 {
		t.Fatal("RemoveAll deleted secrets")
	}
	// A key added to the store later is served once the owner says the
	// store changed.
	later := newEd25519(t)
	fs.mu.Lock()
	fs.secrets["LATER_KEY"] = keySecret(t, "LATER_KEY", later)
	fs.mu.Unlock()
	src.Invalidate()
	if _, err := a.Sign(sshPub(t, later), data); err != nil {
		t.Fatalf("sign with a key added to the store after listing: %v", err)
	}
}

// SECURITY 34 for signing (fail closed): OnSign's refusal stops the
// signature, and it learns the destination of a bound connection.
func TestOnSign(t *testing.T) {
	k := newEd25519(t)
	pub := sshPub(t, k)
	type call struct {
		peer      Peer
		key, dest string
	}
	var calls []call
	refuse := false
	a := New(Options{Clock: newFakeClock(), OnSign: func(p Peer, key, dest string) error {
		calls = append(calls, call{p, key, dest})
		if refuse {
			return errors.New("audit log unavailable")
		}
		return nil
	}})
	if err := a.Add(agent.AddedKey{PrivateKey: k, Comment: "any comment"}); err != nil {
		t.Fatal(err)
	}
	hk := newHostKey(t)
	c := a.Conn(Peer{UID: 1000, PID: 99, GID: 100})
	sid := newSID(t)
	if _, err := c.Extension(extSessionBind, bindMsg(t, hk, sid, false)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Sign(pub, userauthData(sid, "git", pub, ssh.KeyAlgoED25519, nil)); err != nil {
		t.Fatal(err)
	}
	want := call{Peer{UID: 1000, PID: 99, GID: 100}, ssh.FingerprintSHA256(pub), "git@" + ssh.FingerprintSHA256(hk.pub)}
	if len(calls) != 1 || calls[0] != want {
		t.Fatalf("OnSign calls %+v, want %+v", calls, want)
	}
	refuse = true
	if sig, err := c.Sign(pub, []byte("x")); !errors.Is(err, ErrSignRefused) || sig != nil {
		t.Fatalf("refused by OnSign: %v", err)
	}
}

func TestAddValidation(t *testing.T) {
	a := New(Options{Clock: newFakeClock()})
	ed := newEd25519(t)
	badEd := slices.Clone(ed)
	copy(badEd[32:], newEd25519(t)[32:])
	rsaOfBits := func(bits uint) *rsa.PrivateKey {
		n := new(big.Int).Add(new(big.Int).Lsh(big.NewInt(1), bits-1), big.NewInt(1))
		return &rsa.PrivateKey{PublicKey: rsa.PublicKey{N: n, E: 65537}, D: big.NewInt(3), Primes: []*big.Int{n, big.NewInt(1)}}
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	badEC := *ec
	badEC.D = new(big.Int).Add(ec.D, big.NewInt(1))
	zeroEC := *ec
	zeroEC.D = big.NewInt(0)
	rsaKey := keyNamed(t, "rsa2048").(*rsa.PrivateKey)
	badRSA := *rsaKey
	badRSA.D = new(big.Int).Add(rsaKey.D, big.NewInt(2))
	certSigner := sshSigner(t, newEd25519(t))
	cert := &ssh.Certificate{Key: sshPub(t, newEd25519(t)), CertType: ssh.UserCert, ValidPrincipals: []string{"u"}, ValidBefore: ssh.CertTimeInfinity}
	if err := cert.SignCert(rand.Reader, certSigner); err != nil {
		t.Fatal(err)
	}
	for name, k := range map[string]agent.AddedKey{
		"ed25519 halves differ": {PrivateKey: badEd},
		"rsa 512":               {PrivateKey: rsaOfBits(512)},
		"rsa 16385":             {PrivateKey: rsaOfBits(16385)},
		"rsa wrong d":           {PrivateKey: &badRSA},
		"ecdsa wrong d":         {PrivateKey: &badEC},
		"ecdsa zero d":          {PrivateKey: &zeroEC},
		"cert of another key":   {PrivateKey: ed, Certificate: cert},
		"unknown type":          {PrivateKey: "a string"},
	} {
		if err := a.Add(k); !errors.Is(err, ErrUnsupportedKey) {
			t.Errorf("%s: %v, want ErrUnsupportedKey", name, err)
		}
	}
	if got := listComments(t, a); len(got) != 0 {
		t.Fatalf("invalid keys stored: %q", got)
	}
	// A certificate for the key is listed as the certificate and signs.
	good := &ssh.Certificate{Key: sshPub(t, ed), CertType: ssh.UserCert, ValidPrincipals: []string{"u"}, ValidBefore: ssh.CertTimeInfinity}
	if err := good.SignCert(rand.Reader, certSigner); err != nil {
		t.Fatal(err)
	}
	if err := a.Add(agent.AddedKey{PrivateKey: ed, Certificate: good, Comment: "cert"}); err != nil {
		t.Fatal(err)
	}
	keys, _ := a.List()
	if len(keys) != 1 || keys[0].Format != ssh.CertAlgoED25519v01 {
		t.Fatalf("listed %v", keys)
	}
	sig, err := a.Sign(good, []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	if err := good.Verify([]byte("x"), sig); err != nil {
		t.Fatal(err)
	}
}

func TestMaxKeys(t *testing.T) {
	a := New(Options{Clock: newFakeClock()})
	k := newEd25519(t)
	a.mu.Lock()
	for i := 0; i < MaxKeys; i++ {
		a.keys = append(a.keys, &identity{blob: fmt.Sprint(i), pub: sshPub(t, k)})
	}
	a.mu.Unlock()
	if err := a.Add(agent.AddedKey{PrivateKey: k}); !errors.Is(err, ErrTooManyKeys) {
		t.Fatalf("Add beyond MaxKeys: %v", err)
	}
}

func TestSignersGoThroughAgent(t *testing.T) {
	k := newEd25519(t)
	a := New(Options{Clock: newFakeClock(), Confirm: func(ConfirmRequest) error { return errors.New("no") }})
	if err := a.Add(agent.AddedKey{PrivateKey: k, ConfirmBeforeUse: true}); err != nil {
		t.Fatal(err)
	}
	if err := a.Add(agent.AddedKey{PrivateKey: keyNamed(t, "rsa2048")}); err != nil {
		t.Fatal(err)
	}
	signers, err := a.Signers()
	if err != nil || len(signers) != 2 {
		t.Fatalf("Signers = %d, %v", len(signers), err)
	}
	if _, err := signers[0].Sign(rand.Reader, []byte("x")); !errors.Is(err, ErrConfirmDenied) {
		t.Fatalf("signer skipped confirmation: %v", err)
	}
	rs, ok := signers[1].(ssh.AlgorithmSigner)
	if !ok {
		t.Fatal("RSA signer cannot choose an algorithm")
	}
	sig, err := rs.SignWithAlgorithm(rand.Reader, []byte("x"), ssh.KeyAlgoRSASHA512)
	if err != nil || sig.Format != ssh.KeyAlgoRSASHA512 {
		t.Fatalf("SignWithAlgorithm: %v, %v", sig, err)
	}
	if _, err := rs.SignWithAlgorithm(rand.Reader, []byte("x"), ssh.KeyAlgoED25519); err == nil {
		t.Fatal("RSA signer signed as ed25519")
	}
}

func TestQueryExtension(t *testing.T) {
	a := New(Options{Clock: newFakeClock()})
	reply, err := a.Extension(extQuery, nil)
	if err != nil {
		t.Fatal(err)
	}
	if reply[0] != msgExtensionResponse {
		t.Fatalf("reply type %d", reply[0])
	}
	r := reader{b: reply[1:]}
	var names []string
	for r.err == nil && len(r.b) > 0 {
		names = append(names, string(r.string()))
	}
	if r.err != nil || !slices.Equal(names, []string{extQuery, extQuery, extSessionBind}) {
		t.Fatalf("query reply %q, %v", names, r.err)
	}
	if _, err := a.Extension("unknown@example.com", nil); !errors.Is(err, agent.ErrExtensionUnsupported) {
		t.Fatalf("unknown extension: %v", err)
	}
	if _, err := a.Extension(extSessionBind, bindMsg(t, newHostKey(t), newSID(t), false)); !errors.Is(err, ErrSessionBind) {
		t.Fatalf("session-bind without a connection: %v", err)
	}
}

// ssh-agent stores a key with an empty restrict-destination constraint as
// unconstrained; we refuse it (SECURITY 33: never stored with less than
// asked for).
func TestEmptyDestinationConstraintRefused(t *testing.T) {
	a := New(Options{Clock: newFakeClock()})
	err := a.Add(agent.AddedKey{PrivateKey: newEd25519(t),
		ConstraintExtensions: []agent.ConstraintExtension{{ExtensionName: restrictDestination}}})
	if !errors.Is(err, ErrConstraint) {
		t.Fatalf("Add: %v, want ErrConstraint", err)
	}
	dup := destConstraintExt("h", "", newHostKey(t).pub)
	err = a.Add(agent.AddedKey{PrivateKey: newEd25519(t), ConstraintExtensions: []agent.ConstraintExtension{dup, dup}})
	if !errors.Is(err, ErrConstraint) {
		t.Fatalf("constraint given twice: %v, want ErrConstraint", err)
	}
	if got := listComments(t, a); len(got) != 0 {
		t.Fatalf("stored %q", got)
	}
}
