package daemon

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/wsxdev/wsx/store"
)

var testPassphrase = []byte("daemon test passphrase")

// cheapKDF keeps unlocks fast in tests.
var cheapKDF = store.KDFParams{Time: 1, MemoryKiB: 1 << 10, Threads: 1}

// shortDir returns a fresh 0700 directory with a short path, for sockets.
func shortDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "wsxd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// newTestStore creates a store, unlocked, in a new directory.
func newTestStore(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Init(filepath.Join(shortDir(t), "home"), store.InitOptions{Passphrase: testPassphrase, KDF: cheapKDF})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// startDaemon serves a daemon over st until the test ends and returns it
// with a client of its API.
func startDaemon(t testing.TB, st *store.Store, adjust func(*Options)) (*Daemon, *Client) {
	t.Helper()
	opts := Options{
		Store:     st,
		AuditPath: filepath.Join(st.Home(), "audit.log"),
		RunDir:    filepath.Join(st.Home(), "run"),
		Logf:      t.Logf,
	}
	if adjust != nil {
		adjust(&opts)
	}
	d, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Serve(ctx) }()
	c := NewClient(d.APISocket())
	t.Cleanup(func() {
		c.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return d, c
}

// keySecret is an ed25519 key secret named name, and its public key.
func keySecret(t testing.TB, name string) (store.Secret, ssh.PublicKey) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ssh.NewPublicKey(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	return store.Secret{Meta: store.Meta{Name: name, Type: store.TypeKey}, Value: store.NewValue(pemBytes(block))}, pub
}

func pemBytes(b *pem.Block) []byte { return pem.EncodeToMemory(b) }

func syscallUmask(m int) int { return syscall.Umask(m) }
