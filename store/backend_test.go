package store

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/99designs/keyring"
)

// SECURITY.md item 11: an unavailable backend is an error naming it, and
// nothing falls back to another backend.
func TestBackendUnavailable(t *testing.T) {
	t.Run("pass not installed", func(t *testing.T) {
		t.Setenv("PATH", t.TempDir()) // no pass program on PATH
		home := filepath.Join(t.TempDir(), "home")
		_, err := Init(home, InitOptions{Backend: "pass", Passphrase: testPass, KDF: testKDF})
		wantErr(t, "Init pass", err, ErrBackend, "backend pass", "not installed")
		_, err = Init(home, InitOptions{Backend: "pass", KDF: testKDF})
		wantErr(t, "Init pass without passphrase", err, ErrBackend, "backend pass")
		if _, err := os.Lstat(filepath.Join(home, headerFile)); !errors.Is(err, os.ErrNotExist) {
			t.Error("a failed Init left a store header")
		}
		if _, err := os.Lstat(filepath.Join(home, itemsDir)); !errors.Is(err, os.ErrNotExist) {
			t.Error("a failed Init fell back to the file backend")
		}
	})
	t.Run("pass store not initialised", func(t *testing.T) {
		bin := t.TempDir()
		if err := os.WriteFile(filepath.Join(bin, "pass"), []byte("#!/bin/sh\nexit 1\n"), 0o700); err != nil {
			t.Fatal(err)
		}
		t.Setenv("PATH", bin)
		noStore := filepath.Join(t.TempDir(), "no-store")
		// The store takes the directory as an option, never from its
		// environment.
		t.Setenv("PASSWORD_STORE_DIR", t.TempDir())
		_, err := Init(filepath.Join(t.TempDir(), "home"), InitOptions{Backend: "pass", Passphrase: testPass, KDF: testKDF, PassDir: noStore})
		wantErr(t, "Init pass", err, ErrBackend, "backend pass", "pass init", noStore)
	})
	t.Run("secret-service without a session bus", func(t *testing.T) {
		if slices.Contains(keyring.AvailableBackends(), keyring.SecretServiceBackend) {
			t.Skip("a Secret Service is reachable here")
		}
		_, err := Init(filepath.Join(t.TempDir(), "home"), InitOptions{Backend: "secret-service", Passphrase: testPass, KDF: testKDF})
		wantErr(t, "Init secret-service", err, ErrBackend, "backend secret-service", "D-Bus")
	})
	t.Run("store header naming a backend that is gone", func(t *testing.T) {
		// A store made with an OS backend, opened where it is unavailable.
		home := filepath.Join(t.TempDir(), "home")
		if _, err := initStore(home, InitOptions{Backend: "pass", KDF: testKDF}, newMemKeyring()); err != nil {
			t.Fatal(err)
		}
		t.Setenv("PATH", t.TempDir())
		_, err := Open(home)
		wantErr(t, "Open", err, ErrBackend, "backend pass")
	})
}

// A store whose data key is held by its backend unlocks without a
// passphrase; the held key is checked against the header.
func TestBackendHeldKey(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	kr := newMemKeyring()
	s, err := initStore(home, InitOptions{Backend: "keyctl", KDF: testKDF}, kr)
	if err != nil {
		t.Fatal(err)
	}
	if s.NeedsPassphrase() || s.Backend() != "keyctl" {
		t.Fatalf("NeedsPassphrase %v backend %q", s.NeedsPassphrase(), s.Backend())
	}
	mustAdd(t, s, "API_TOKEN", TypeToken, "value-1")
	if _, err := os.Lstat(filepath.Join(home, itemsDir)); !errors.Is(err, os.ErrNotExist) {
		t.Error("an OS-backend store created the file backend's items dir")
	}
	metas, err := s.List()
	if err != nil || len(metas) != 1 {
		t.Errorf("List: %d metas, %v (the held key must not be listed)", len(metas), err)
	}

	o, err := openStore(home, kr, OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Unlock(nil); err != nil {
		t.Fatalf("Unlock without a passphrase: %v", err)
	}
	if _, err := o.Get("API_TOKEN"); err != nil {
		t.Fatal(err)
	}
	if err := o.ChangePassphrase([]byte("p")); err == nil || !strings.Contains(err.Error(), "held by backend keyctl") {
		t.Errorf("ChangePassphrase of a backend-keyed store: %v", err)
	}

	// A held key replaced by another store's key is refused on Unlock.
	other, err := initStore(filepath.Join(t.TempDir(), "other"), InitOptions{Backend: "keyctl", KDF: testKDF}, newMemKeyring())
	if err != nil {
		t.Fatal(err)
	}
	var stranger heldKey
	stranger.Key = make([]byte, keyLen)
	other.mu.RLock()
	copy(stranger.Key, other.key)
	other.mu.RUnlock()
	if err := storeHeldKey(kr, s.ID(), stranger.Key); err != nil {
		t.Fatal(err)
	}
	o.Lock()
	wantErr(t, "Unlock with a foreign held key", o.Unlock(nil), ErrIntegrity, "keyctl")
	if err := storeHeldKey(kr, other.ID(), stranger.Key); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "Unlock with a held key of another id", o.Unlock(nil), ErrIntegrity)
	if err := kr.Remove(dataKeyItem); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "Unlock with the held key gone", o.Unlock(nil), ErrBackend, "keyctl")

	// With a passphrase at init, an OS backend store wraps the key like the
	// file backend and keeps nothing but items in the backend.
	kr2 := newMemKeyring()
	p, err := initStore(filepath.Join(t.TempDir(), "p"), InitOptions{Backend: "pass", Passphrase: testPass, KDF: testKDF}, kr2)
	if err != nil {
		t.Fatal(err)
	}
	if !p.NeedsPassphrase() {
		t.Error("a passphrase store says it needs none")
	}
	if keys, _ := kr2.Keys(); len(keys) != 0 {
		t.Errorf("passphrase store put %v in its backend", keys)
	}
}

// The keyctl backend, for real, where the kernel allows it. The test
// removes what it stored; the empty "wsx" keyring stays in the user keyring.
func TestKeyctlBackend(t *testing.T) {
	if !slices.Contains(keyring.AvailableBackends(), keyring.KeyCtlBackend) {
		t.Skip("keyctl backend not built for this OS")
	}
	home := filepath.Join(t.TempDir(), "home")
	s, err := Init(home, InitOptions{Backend: "keyctl", KDF: testKDF})
	if errors.Is(err, ErrBackend) {
		t.Skipf("keyctl unavailable here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.kr.Remove("API_TOKEN")
		s.kr.Remove(dataKeyItem)
	})
	mustAdd(t, s, "API_TOKEN", TypeToken, "value-1")
	o, err := Open(home)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Unlock(nil); err != nil {
		t.Fatal(err)
	}
	got, err := o.Get("API_TOKEN")
	if err != nil || !got.Value.Equal(NewValue([]byte("value-1"))) {
		t.Fatalf("Get from keyctl: %v", err)
	}
	if metas, err := o.List(); err != nil || len(metas) != 1 {
		t.Errorf("List from keyctl: %d metas, %v", len(metas), err)
	}
}
