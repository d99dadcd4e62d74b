package sshagent

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"math/big"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// sealKeyLen is the length of SuspendSealed's key.
const sealKeyLen = 32

func newSealAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != sealKeyLen {
		return nil, errors.New("seal key must be 32 bytes")
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// seal encrypts id's private key into id.sealed and wipes and drops the
// key; a.mu is held.
func (id *identity) seal(aead cipher.AEAD) error {
	if id.priv == nil {
		return errors.New("no private key")
	}
	block, err := ssh.MarshalPrivateKey(id.priv, "")
	if err != nil {
		return err
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(block.Bytes)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		clear(block.Bytes)
		return err
	}
	id.sealed = aead.Seal(nonce, nonce, block.Bytes, []byte(id.blob))
	clear(block.Bytes)
	wipeKey(id.priv)
	id.priv, id.signer = nil, nil
	return nil
}

// unseal opens id.sealed and rebuilds its signer; a.mu is held.
func (id *identity) unseal(aead cipher.AEAD) error {
	ns := aead.NonceSize()
	if len(id.sealed) < ns {
		return errors.New("sealed key too short")
	}
	plain, err := aead.Open(nil, id.sealed[:ns], id.sealed[ns:], []byte(id.blob))
	if err != nil {
		return err
	}
	raw, err := ssh.ParseRawPrivateKey(pem.EncodeToMemory(&pem.Block{Type: "OPENSSH PRIVATE KEY", Bytes: plain}))
	clear(plain)
	if err != nil {
		return err
	}
	signer, priv, err := newSignerKey(agent.AddedKey{PrivateKey: raw, Certificate: id.cert})
	if err != nil {
		return err
	}
	id.signer, id.priv, id.sealed = signer, priv, nil
	return nil
}

// wipeKey overwrites the private parts of k that Go lets us reach: the
// bytes of an ed25519 key, the words of RSA and ECDSA private numbers.
// Copies Go made meanwhile (precomputed values, the garbage collector's)
// are beyond reach; they go when the memory is reused.
func wipeKey(k any) {
	wipe := func(n *big.Int) {
		if n != nil {
			clear(n.Bits())
		}
	}
	switch p := k.(type) {
	case ed25519.PrivateKey:
		clear(p)
	case *ed25519.PrivateKey:
		if p != nil {
			clear(*p)
		}
	case *rsa.PrivateKey:
		wipe(p.D)
		for _, q := range p.Primes {
			wipe(q)
		}
		wipe(p.Precomputed.Dp)
		wipe(p.Precomputed.Dq)
		wipe(p.Precomputed.Qinv)
	case *ecdsa.PrivateKey:
		wipe(p.D)
	}
}
