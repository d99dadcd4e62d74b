package sshagent

import (
	"crypto/rand"
	"errors"
	"fmt"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// target is the key a signature request names: an added identity or a
// store key.
type target struct {
	id   *identity // nil for a store key
	name string    // store key name
	pub  ssh.PublicKey
	blob string // pub, marshalled
}

func (t target) label() string {
	if t.id != nil {
		return t.id.fp
	}
	return t.name
}

func (t target) comment() string {
	if t.id != nil {
		return t.id.comment
	}
	return t.name
}

// lookup finds the key with the given blob. A store key missing from the
// snapshot is looked up again in the source, for clients that sign without
// listing first.
func (a *Agent) lookup(blob string) (target, error) {
	for attempt := 0; attempt < 2; attempt++ {
		if attempt == 1 {
			if a.opts.Source == nil {
				break
			}
			a.refreshStored()
		}
		a.mu.Lock()
		if a.closed() {
			a.mu.Unlock()
			return target{}, ErrLocked
		}
		now := a.clock.Now()
		for _, id := range a.keys {
			if id.blob == blob && id.usable(now) {
				a.mu.Unlock()
				return target{id: id, pub: id.pub, blob: blob}, nil
			}
		}
		if !a.hidden[blob] {
			for _, s := range a.stored {
				if s.blob == blob {
					a.mu.Unlock()
					return target{name: s.name, pub: s.pub, blob: blob}, nil
				}
			}
		}
		a.mu.Unlock()
	}
	return target{}, ErrKeyNotFound
}

// stillUsable re-checks, after a confirmation that may have taken a while,
// that the agent was not locked and the key not removed meanwhile.
func (a *Agent) stillUsable(t target) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed() {
		return ErrLocked
	}
	if t.id == nil {
		if a.hidden[t.blob] {
			return ErrKeyNotFound
		}
		return nil
	}
	now := a.clock.Now()
	for _, id := range a.keys {
		if id == t.id && id.usable(now) {
			return nil
		}
	}
	return ErrKeyNotFound
}

func (c *conn) Sign(key ssh.PublicKey, data []byte) (*ssh.Signature, error) {
	return c.SignWithFlags(key, data, 0)
}

func (c *conn) SignWithFlags(key ssh.PublicKey, data []byte, flags agent.SignatureFlags) (*ssh.Signature, error) {
	sig, err := c.sign(key, data, flags)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	return sig, nil
}

func (c *conn) sign(key ssh.PublicKey, data []byte, flags agent.SignatureFlags) (*ssh.Signature, error) {
	a := c.a
	t, err := a.lookup(string(key.Marshal()))
	if err != nil {
		return nil, err
	}
	binds := c.bindings()
	dest := ""
	if t.id != nil && len(t.id.dests) > 0 {
		dest, err = checkDestSign(t.id, binds, data)
		if err != nil {
			a.logf("sshagent: refused key %s to pid %d: %v", t.id.fp, c.peer.PID, err)
			return nil, err
		}
	} else if len(binds) > 0 {
		dest = boundDest(binds, t.pub, data)
	}
	if t.id != nil && t.id.confirm {
		if a.opts.Confirm == nil {
			return nil, ErrNoApprover
		}
		req := ConfirmRequest{Key: t.comment(), Fingerprint: ssh.FingerprintSHA256(t.pub), Dest: dest, Peer: c.peer}
		if err := a.opts.Confirm(req); err != nil {
			if !errors.Is(err, ErrConfirmDenied) && !errors.Is(err, ErrNoApprover) {
				err = fmt.Errorf("%w: %w", err, ErrConfirmDenied)
			}
			return nil, err
		}
		if err := a.stillUsable(t); err != nil {
			return nil, err
		}
	}
	signer := ssh.Signer(nil)
	if t.id != nil {
		a.mu.Lock()
		signer = t.id.signer
		a.mu.Unlock()
		if signer == nil { // sealed by a lock meanwhile
			return nil, ErrLocked
		}
	} else {
		signer, err = a.opts.Source.Signer(t.name)
		if err != nil {
			return nil, err
		}
		if string(signer.PublicKey().Marshal()) != t.blob {
			return nil, fmt.Errorf("key %s changed: %w", t.name, ErrKeyNotFound)
		}
	}
	// Last before the signature, so the hook records only uses that happen.
	if a.opts.OnSign != nil {
		if err := a.opts.OnSign(c.peer, t.label(), dest); err != nil {
			return nil, fmt.Errorf("%w: %w", err, ErrSignRefused)
		}
	}
	return signWith(signer, data, flags)
}

// signWith signs with the algorithm the flags ask for: for RSA keys
// rsa-sha2-256, rsa-sha2-512 or (no flag) ssh-rsa; other keys have one.
func signWith(signer ssh.Signer, data []byte, flags agent.SignatureFlags) (*ssh.Signature, error) {
	if !isRSA(signer.PublicKey()) {
		return signer.Sign(rand.Reader, data)
	}
	alg := ssh.KeyAlgoRSA
	switch {
	case flags&agent.SignatureFlagRsaSha256 != 0:
		alg = ssh.KeyAlgoRSASHA256
	case flags&agent.SignatureFlagRsaSha512 != 0:
		alg = ssh.KeyAlgoRSASHA512
	}
	as, ok := signer.(ssh.AlgorithmSigner)
	if !ok {
		if alg != ssh.KeyAlgoRSA {
			return nil, fmt.Errorf("signer cannot choose an algorithm: %w", ErrUnsupportedRequest)
		}
		return signer.Sign(rand.Reader, data)
	}
	return as.SignWithAlgorithm(rand.Reader, data, alg)
}

func isRSA(pub ssh.PublicKey) bool {
	switch pub.Type() {
	case ssh.KeyAlgoRSA, ssh.CertAlgoRSAv01:
		return true
	}
	return false
}
