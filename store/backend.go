package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/99designs/keyring"

	"github.com/wsxdev/wsx/store/filekeyring"
)

// Backend names.
const (
	backendFile          = "file"
	backendSecretService = "secret-service"
	backendKeyctl        = "keyctl"
	backendPass          = "pass"
)

// Backends lists the valid backend names; the first is the default.
var Backends = []string{backendFile, backendSecretService, backendKeyctl, backendPass}

func knownBackend(name string) bool {
	for _, b := range Backends {
		if b == name {
			return true
		}
	}
	return false
}

// serviceName is the keyring.Config ServiceName of every OS backend.
const serviceName = "wsx"

// dataKeyItem is the backend item holding the data key of a store whose
// key is held by its backend. Its name is not a valid secret name, so it
// can neither collide with a secret nor be listed as one.
const dataKeyItem = "wsx-data-key"

// openBackend opens the keyring that holds the items of store id. An OS
// backend that cannot be used is an error naming it and wrapping
// ErrBackend; wsx never falls back to another backend.
// passDir is the pass backend's password store ("" for ~/.password-store).
func openBackend(home, backend, id, passDir string) (keyring.Keyring, error) {
	if backend == backendFile {
		kr, err := filekeyring.Open(filepath.Join(home, itemsDir))
		if errors.Is(err, filekeyring.ErrUnsafe) {
			return nil, alsoIs{fmt.Errorf("open file backend: %w", err), ErrUnsafePermission}
		}
		if err != nil {
			return nil, fmt.Errorf("open file backend: %w", err)
		}
		return kr, nil
	}
	if !knownBackend(backend) {
		return nil, unknownBackend(backend)
	}
	if backend == backendPass {
		dir, err := checkPass(passDir)
		if err != nil {
			return nil, err
		}
		passDir = dir
	}
	kr, err := keyring.Open(keyring.Config{
		AllowedBackends: []keyring.BackendType{keyring.BackendType(backend)},
		ServiceName:     serviceName,
		KeyCtlScope:     "user",
		// The login collection is unlocked with the user's session; a
		// collection of our own would make the desktop ask for a new
		// keyring password (or store it unencrypted if left empty).
		LibSecretCollectionName: "login",
		PassPrefix:              serviceName + "/" + id,
		PassDir:                 passDir,
	})
	if err != nil {
		return nil, fmt.Errorf("backend %s is unavailable (%s): %w", backend, unavailableHint(backend), ErrBackend)
	}
	switch backend {
	case backendKeyctl:
		// One flat keyring named "wsx" for every store: keys are prefixed.
		kr = prefixKeyring{kr: kr, prefix: id + "."}
	case backendSecretService:
		// A collection shared with other programs: labels are prefixed.
		kr = prefixKeyring{kr: kr, prefix: serviceName + "." + id + "."}
	}
	return kr, nil
}

func unknownBackend(name string) error {
	return fmt.Errorf("backend %q is not one of %s: %w", name, strings.Join(Backends, ", "), errUnknownBackend)
}

// checkPass explains the unavailability keyring.Open would only report as
// "not available", and returns the password store's directory: dir, or
// ~/.password-store when dir is "".
func checkPass(dir string) (string, error) {
	if _, err := exec.LookPath("pass"); err != nil {
		return "", fmt.Errorf("backend pass is unavailable (the pass program is not installed or not in PATH): %w", ErrBackend)
	}
	if dir == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("backend pass is unavailable (no home directory for ~/.password-store): %w", ErrBackend)
		}
		dir = filepath.Join(h, ".password-store")
	}
	if _, err := os.Stat(filepath.Join(dir, ".gpg-id")); err != nil {
		return "", fmt.Errorf("backend pass is unavailable (%s is not a password store; run pass init GPG-ID): %w", dir, ErrBackend)
	}
	return dir, nil
}

func unavailableHint(backend string) string {
	switch backend {
	case backendSecretService:
		return "no Secret Service on the D-Bus session bus; start gnome-keyring or KeePassXC's Secret Service integration, or check DBUS_SESSION_BUS_ADDRESS"
	case backendKeyctl:
		return "the kernel key retention service refused access; keyctl may be blocked in this container"
	case backendPass:
		return "the pass program cannot be used"
	}
	return "cannot be opened"
}

// backendErr wraps an error of an OS backend operation so that it names
// the backend and wraps ErrBackend.
func backendErr(backend, op string, err error) error {
	return fmt.Errorf("backend %s: %s: %v: %w", backend, op, err, ErrBackend)
}

// prefixKeyring keeps the keys of one store apart in a shared keyring.
type prefixKeyring struct {
	kr     keyring.Keyring
	prefix string
}

func (p prefixKeyring) Get(key string) (keyring.Item, error) {
	it, err := p.kr.Get(p.prefix + key)
	it.Key = strings.TrimPrefix(it.Key, p.prefix)
	return it, err
}

func (p prefixKeyring) GetMetadata(key string) (keyring.Metadata, error) {
	return p.kr.GetMetadata(p.prefix + key)
}

func (p prefixKeyring) Set(it keyring.Item) error {
	it.Key = p.prefix + it.Key
	return p.kr.Set(it)
}

func (p prefixKeyring) Remove(key string) error { return p.kr.Remove(p.prefix + key) }

func (p prefixKeyring) Keys() ([]string, error) {
	all, err := p.kr.Keys()
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, k := range all {
		if rest, ok := strings.CutPrefix(k, p.prefix); ok {
			keys = append(keys, rest)
		}
	}
	return keys, nil
}

// heldKey is the data of the dataKeyItem.
type heldKey struct {
	V   int    `json:"v"`
	ID  string `json:"id"`
	Key []byte `json:"key"`
}

const maxHeldKeySize = 1 << 10

func storeHeldKey(kr keyring.Keyring, id string, key []byte) error {
	b, err := json.Marshal(heldKey{V: 1, ID: id, Key: key})
	if err != nil {
		return err
	}
	return kr.Set(keyring.Item{Key: dataKeyItem, Data: b, Label: "wsx data key " + id})
}

func loadHeldKey(kr keyring.Keyring, id string) ([]byte, error) {
	it, err := kr.Get(dataKeyItem)
	if err != nil {
		return nil, err
	}
	var h heldKey
	if err := strictUnmarshal(it.Data, maxHeldKeySize, &h); err != nil {
		return nil, fmt.Errorf("data key item: %v: %w", err, ErrIntegrity)
	}
	if h.V != 1 || h.ID != id || len(h.Key) != keyLen {
		return nil, fmt.Errorf("data key item does not belong to store %s: %w", id, ErrIntegrity)
	}
	return h.Key, nil
}

// isNotFound reports whether a backend error means "no such item".
func isNotFound(err error) bool { return errors.Is(err, keyring.ErrKeyNotFound) }
