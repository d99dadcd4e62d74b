package store

import (
	"bytes"
	"crypto/cipher"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// Item format constants.
const (
	envelopeVersion = 1
	// maxEnvelopeSize bounds an item read from a backend: a MaxFileSize
	// value is base64 twice (in the sealed JSON, then in the envelope), plus
	// metadata.
	maxEnvelopeSize = 3 << 20
)

// envelope is keyring.Item.Data: the sealed JSON of an itemPlain, with the
// name and version it was sealed for in the clear so that Get can say
// what it found before it tries to open it.
type envelope struct {
	V       int    `json:"v"`
	Name    string `json:"name"`
	Version uint64 `json:"version"`
	Nonce   []byte `json:"nonce"`
	CT      []byte `json:"ct"`
}

// itemPlain is what an envelope seals: the metadata, the value and, during
// a rotation, the previous value. Both values are under the same seal, so
// the previous one is as protected, and as bound to the store, name and
// version, as the current one.
type itemPlain struct {
	Meta     Meta   `json:"meta"`
	Value    []byte `json:"value"`
	Previous []byte `json:"previous,omitempty"`
}

// itemAD is the additional data of an item: it binds the store, the name
// and the version, so an item copied from another store or another name
// fails to open.
func itemAD(storeID, name string, version uint64) []byte {
	return []byte("wsx item v1\x00" + storeID + "\x00" + name + "\x00" + strconv.FormatUint(version, 10))
}

// parseEnvelope decodes an item strictly: size cap, valid name, GCM-sized
// nonce and ciphertext, and the exact bytes sealItem writes (json.Marshal
// of the envelope), so unknown, duplicate or mis-cased fields, other
// spacing and trailing data are all refused. It does no cryptography.
func parseEnvelope(data []byte) (*envelope, error) {
	if len(data) > maxEnvelopeSize {
		return nil, fmt.Errorf("%d bytes is more than the %d allowed", len(data), maxEnvelopeSize)
	}
	var e envelope
	if err := decodeStrict(data, &e); err != nil {
		return nil, err
	}
	if canon, err := json.Marshal(e); err != nil || !bytes.Equal(canon, data) {
		return nil, errors.New("item is not in canonical form")
	}
	switch {
	case e.V != envelopeVersion:
		return nil, fmt.Errorf("item format %d is not %d", e.V, envelopeVersion)
	case ValidateName(e.Name) != nil:
		return nil, errors.New("item names an invalid secret")
	case e.Version == 0:
		return nil, errors.New("item version is 0")
	case len(e.Nonce) != nonceLen:
		return nil, errors.New("item nonce has the wrong size")
	case len(e.CT) < tagLen:
		return nil, errors.New("item ciphertext is too short")
	}
	return &e, nil
}

// sealItem seals sec for store id with the data key's AEAD.
func sealItem(g cipher.AEAD, storeID string, sec Secret) ([]byte, error) {
	plain, err := json.Marshal(itemPlain{Meta: sec.Meta, Value: sec.Value.Bytes(), Previous: sec.PreviousValue.Bytes()})
	if err != nil {
		return nil, fmt.Errorf("encode secret %s: %w", sec.Name, err)
	}
	s := sealWith(g, plain, itemAD(storeID, sec.Name, sec.Version))
	clear(plain)
	return json.Marshal(envelope{V: envelopeVersion, Name: sec.Name, Version: sec.Version, Nonce: s.Nonce, CT: s.CT})
}

// openItem opens the item stored under name. Every failure wraps
// ErrIntegrity and names the secret asked for: an item whose envelope
// names another secret, or that fails authentication, was swapped,
// renamed, moved from another store or damaged.
func openItem(g cipher.AEAD, storeID, name string, data []byte) (Secret, error) {
	e, err := parseEnvelope(data)
	if err != nil {
		return Secret{}, fmt.Errorf("secret %s: damaged item: %v: %w", name, err, ErrIntegrity)
	}
	return openEnvelope(g, storeID, name, e)
}

// openEnvelope is openItem of an envelope parseEnvelope accepted; it does
// not change e.
func openEnvelope(g cipher.AEAD, storeID, name string, e *envelope) (Secret, error) {
	sec, plain, err := openEnvelopePlain(g, storeID, name, e)
	clear(plain)
	return sec, err
}

// openEnvelopePlain is openEnvelope that also returns the plaintext, which
// the caller clears.
func openEnvelopePlain(g cipher.AEAD, storeID, name string, e *envelope) (sec Secret, plain []byte, err error) {
	if e.Name != name {
		return Secret{}, nil, fmt.Errorf("secret %s: the item holds the data of %s (swapped or renamed): %w", name, e.Name, ErrIntegrity)
	}
	plain, err = g.Open(nil, e.Nonce, e.CT, itemAD(storeID, name, e.Version))
	if err != nil {
		return Secret{}, nil, fmt.Errorf("secret %s: item fails authentication (modified, or from another store): %w", name, ErrIntegrity)
	}
	defer func() {
		if err != nil {
			clear(plain)
			plain = nil
		}
	}()
	var p itemPlain
	if err := decodeStrict(plain, &p); err != nil {
		return Secret{}, nil, fmt.Errorf("secret %s: sealed item does not decode: %w", name, ErrIntegrity)
	}
	if p.Meta.Name != name || p.Meta.Version != e.Version {
		return Secret{}, nil, fmt.Errorf("secret %s: sealed metadata disagrees with the item: %w", name, ErrIntegrity)
	}
	if _, err := ParseType(string(p.Meta.Type)); err != nil {
		return Secret{}, nil, fmt.Errorf("secret %s: %v: %w", name, err, ErrIntegrity)
	}
	if err := checkPrevious(p.Meta, p.Previous); err != nil {
		return Secret{}, nil, fmt.Errorf("secret %s: %v: %w", name, err, ErrIntegrity)
	}
	sec = Secret{Meta: p.Meta, Value: NewValue(p.Value)}
	clear(p.Value)
	if p.Meta.Previous != nil {
		sec.PreviousValue = NewValue(p.Previous)
	}
	clear(p.Previous)
	return sec, plain, nil
}

// checkPrevious checks that a sealed item's previous value agrees with its
// description: present only with one, of a known type, from an older
// version.
func checkPrevious(m Meta, prev []byte) error {
	p := m.Previous
	switch {
	case p == nil && len(prev) > 0:
		return errors.New("previous value without its description")
	case p == nil:
		return nil
	case p.Version == 0 || p.Version >= m.Version:
		return fmt.Errorf("previous value of version %d is not older than version %d", p.Version, m.Version)
	}
	if _, err := ParseType(string(p.Type)); err != nil {
		return fmt.Errorf("previous value: %v", err)
	}
	return nil
}
