package sshagent

import (
	"errors"
	"fmt"

	"golang.org/x/crypto/ssh"

	"github.com/wsxdev/wsx/store"
)

// KeySource lists keys kept outside the agent and hands out their signers.
// The agent calls Keys for every list request and Signer for every
// signature, so a source that becomes unavailable (a locked store) stops
// serving keys at once.
type KeySource interface {
	Keys() ([]StoredKey, error)
	Signer(name string) (ssh.Signer, error)
}

// StoredKey is a key of a KeySource: its public half and the name under
// which it is kept, which the agent lists as the key's comment.
type StoredKey struct {
	Name      string
	PublicKey ssh.PublicKey
}

// SecretStore is the part of the encrypted store that CachedSource reads.
type SecretStore interface {
	List() ([]store.Meta, error)
	Get(name string) (store.Secret, error)
}

// ErrNotSSHKey is returned by a CachedSource asked for a secret that is
// not an SSH private key.
var ErrNotSSHKey = errors.New("not an ssh private key")

// storedKeys lists the SSH keys among metas.
func storedKeys(metas []store.Meta) []StoredKey {
	var keys []StoredKey
	for _, m := range metas {
		if m.SSH == nil {
			continue
		}
		pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(m.SSH.PublicKey))
		if err != nil {
			// Metadata that does not parse cannot be matched to a
			// signature request; the key stays out of the list.
			continue
		}
		keys = append(keys, StoredKey{Name: m.Name, PublicKey: pub})
	}
	return keys
}

// parseSigner parses the private key of an SSH key secret.
func parseSigner(sec store.Secret) (ssh.Signer, any, error) {
	if sec.SSH == nil {
		return nil, nil, fmt.Errorf("key %s: %w", sec.Name, ErrNotSSHKey)
	}
	raw, err := ssh.ParseRawPrivateKey(sec.Value.Bytes())
	if err != nil {
		return nil, nil, fmt.Errorf("parse key %s: %w", sec.Name, err)
	}
	signer, err := ssh.NewSignerFromKey(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("key %s: %w", sec.Name, err)
	}
	return signer, raw, nil
}
