package sshagent

import (
	"bytes"
	"crypto/dsa"
	"crypto/ed25519"
	"crypto/rand"
	"math/big"
	"testing"

	"golang.org/x/crypto/ssh"
)

// Keys the agent cannot sign with are refused on the wire the way
// ssh-agent refuses any add: one SSH_AGENT_FAILURE byte, the connection
// kept, nothing listed. DSA is refused on purpose (OpenSSH 10 dropped it);
// security keys (sk-*) need the FIDO middleware ssh-agent calls, which
// wsx does not have, so their keys and certificates are refused too.

// skEd25519Blob is the public blob of an sk-ssh-ed25519 key.
func skEd25519Blob(pub ed25519.PublicKey, application string) []byte {
	return concat(sshString([]byte("sk-ssh-ed25519@openssh.com")), sshString(pub), sshString([]byte(application)))
}

// skAdd encodes an add-identity request for an sk-ssh-ed25519 private key
// (PROTOCOL.u2f): public key, application, flags, key handle, reserved.
func skAdd(pub ed25519.PublicKey, comment string) []byte {
	return concat([]byte{17}, sshString([]byte("sk-ssh-ed25519@openssh.com")), sshString(pub),
		sshString([]byte("ssh:")), []byte{1}, sshString([]byte("handle")), sshString(nil),
		sshString([]byte(comment)))
}

// skCertAdd encodes an add-identity request for a certificate of an
// sk-ssh-ed25519 key as ssh-add sends a key's -cert.pub beside it:
// the certificate, then the fields of the plain key.
func skCertAdd(t *testing.T, pub ed25519.PublicKey, comment string) []byte {
	t.Helper()
	skPub, err := ssh.ParsePublicKey(skEd25519Blob(pub, "ssh:"))
	if err != nil {
		t.Fatalf("parse sk public key: %v", err)
	}
	cert := &ssh.Certificate{
		Key:             skPub,
		CertType:        ssh.HostCert,
		KeyId:           "host",
		ValidPrincipals: []string{"localhost"},
		ValidBefore:     ssh.CertTimeInfinity,
	}
	if err := cert.SignCert(rand.Reader, sshSigner(t, newEd25519(t))); err != nil {
		t.Fatalf("sign certificate: %v", err)
	}
	return concat([]byte{17}, sshString([]byte(ssh.CertAlgoSKED25519v01)), sshString(cert.Marshal()), sshString(pub),
		sshString([]byte("ssh:")), []byte{1}, sshString([]byte("handle")), sshString(nil),
		sshString([]byte(comment)))
}

// dsaAdd encodes an add-identity request for a fresh 1024-bit DSA key.
func dsaAdd(t *testing.T, comment string) []byte {
	t.Helper()
	var k dsa.PrivateKey
	if err := dsa.GenerateParameters(&k.Parameters, rand.Reader, dsa.L1024N160); err != nil {
		t.Fatal(err)
	}
	if err := dsa.GenerateKey(&k, rand.Reader); err != nil {
		t.Fatal(err)
	}
	mpint := func(n *big.Int) []byte { return ssh.Marshal(struct{ N *big.Int }{n}) }
	return concat([]byte{17}, sshString([]byte(ssh.KeyAlgoDSA)), mpint(k.P), mpint(k.Q), mpint(k.G),
		mpint(k.Y), mpint(k.X), sshString([]byte(comment)))
}

func TestRefusedKeysReplyFailure(t *testing.T) {
	_, sock := startOurs(t, Options{Clock: newFakeClock()}, ServeOptions{})
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		msg  []byte
	}{
		{"ssh-dss", dsaAdd(t, "dsa")},
		{"sk-ssh-ed25519", skAdd(pub, "sk")},
		{"sk-ssh-ed25519-cert", skCertAdd(t, pub, "sk-cert")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			reply, err := rawRequest(t, sock, c.msg)
			if err != nil {
				t.Fatalf("add: connection closed instead of a reply: %v", err)
			}
			if !bytes.Equal(reply, []byte{5}) {
				t.Errorf("add: reply %v, want SSH_AGENT_FAILURE", reply)
			}
		})
	}
	// The agent still serves, and listed none of them.
	a := dial(t, sock)
	if got := listComments(t, a); len(got) != 0 {
		t.Errorf("refused keys listed: %q", got)
	}
	ok := newEd25519(t)
	reply, err := rawRequest(t, sock, ed25519Add(ok, "ok", nil))
	if err != nil || !bytes.Equal(reply, []byte{6}) {
		t.Fatalf("ed25519 add after refusals: reply %v, %v; want SSH_AGENT_SUCCESS", reply, err)
	}
	if got := listComments(t, a); len(got) != 1 || got[0] != "ok" {
		t.Errorf("after adding ed25519: list %q, want [ok]", got)
	}
}

// suiteSKProvider: an sk key naming a provider outside ssh-agent's allowed
// paths is refused by both agents with SSH_AGENT_FAILURE.
func suiteSKProvider(t *testing.T, h *harness) {
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	add := skAdd(pub, "sk")
	add[0] = 25 // SSH_AGENTC_ADD_ID_CONSTRAINED
	msg := concat(add, []byte{255}, sshString([]byte("sk-provider@openssh.com")), sshString([]byte("/tmp/wsx-no-such-provider.so")))
	reply, err := rawRequest(t, h.sock, msg)
	if err != nil {
		t.Fatalf("add: %v", err)
	}
	if !bytes.Equal(reply, []byte{5}) {
		t.Errorf("add: reply %v, want SSH_AGENT_FAILURE", reply)
	}
	if got := listComments(t, dial(t, h.sock)); len(got) != 0 {
		t.Errorf("refused sk key listed: %q", got)
	}
}
