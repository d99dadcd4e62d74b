package sshagent

import (
	"crypto/rand"
	"errors"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

func hopBytes(user, host string, ext []byte, keys ...hopKey) []byte {
	out := concat(sshString([]byte(user)), sshString([]byte(host)), sshString(ext))
	for _, k := range keys {
		ca := byte(0)
		if k.isCA {
			ca = 1
		}
		out = concat(out, sshString(k.key.Marshal()), []byte{ca})
	}
	return out
}

func constraintBytes(from, to, ext []byte) []byte {
	return sshString(concat(sshString(from), sshString(to), sshString(ext)))
}

func TestParseDestConstraints(t *testing.T) {
	hk := hopKey{key: newHostKey(t).pub}
	origin := hopBytes("", "", nil)
	to := hopBytes("git", "github.com", nil, hk)
	good := constraintBytes(origin, to, nil)
	d, err := parseDestConstraints(concat(good, good))
	if err != nil || len(d) != 2 || d[0].to.hostname != "github.com" || d[0].to.user != "git" || len(d[0].to.keys) != 1 {
		t.Fatalf("parse: %+v, %v", d, err)
	}
	for name, b := range map[string][]byte{
		"empty":                nil,
		"truncated":            good[:len(good)-1],
		"trailing byte":        append(good, 0),
		"trailing in one":      sshString(concat(sshString(origin), sshString(to), sshString(nil), []byte{0})),
		"constraint extension": constraintBytes(origin, to, []byte("x")),
		"hop extension":        constraintBytes(origin, hopBytes("", "github.com", []byte("x"), hk), nil),
		"from user":            constraintBytes(hopBytes("root", "", nil), to, nil),
		"from host no keys":    constraintBytes(hopBytes("", "bastion", nil), to, nil),
		"from keys no host":    constraintBytes(hopBytes("", "", nil, hk), to, nil),
		"to without keys":      constraintBytes(origin, hopBytes("", "github.com", nil), nil),
		"to without host":      constraintBytes(origin, hopBytes("", "", nil, hk), nil),
		"NUL in hostname":      constraintBytes(origin, hopBytes("", "git\x00hub", nil, hk), nil),
		"bad key blob":         constraintBytes(origin, concat(hopBytes("", "h", nil), sshString([]byte("junk")), []byte{0}), nil),
		"key without CA flag":  constraintBytes(origin, concat(hopBytes("", "h", nil), sshString(hk.key.Marshal())), nil),
		"huge length":          {0xff, 0xff, 0xff, 0xff, 1, 2},
	} {
		if _, err := parseDestConstraints(b); !errors.Is(err, ErrConstraint) {
			t.Errorf("%s: %v, want ErrConstraint", name, err)
		}
	}
}

func TestMatchPattern(t *testing.T) {
	for _, tc := range []struct {
		s, p string
		want bool
	}{
		{"git", "git", true},
		{"git", "gi", false},
		{"git", "g*", true},
		{"git", "*", true},
		{"", "*", true},
		{"", "", true},
		{"git", "?it", true},
		{"git", "??", false},
		{"deploy-bot", "deploy*bot", true},
		{"deploy-bot-x", "deploy*bot", false},
		{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaab", "*a*a*a*a*a*a*a*a*c", false},
		{"Git", "git", false},
	} {
		if got := matchPattern(tc.s, tc.p); got != tc.want {
			t.Errorf("matchPattern(%q, %q) = %v", tc.s, tc.p, got)
		}
	}
}

// A key allowed origin -> bastion -> target: usable at the bastion for
// authentication, forwardable through it to the target, and nowhere else.
func TestPermittedForwardingPath(t *testing.T) {
	bastion, target, other := newHostKey(t), newHostKey(t), newHostKey(t)
	dests := []destConstraint{
		{to: hop{hostname: "bastion", keys: []hopKey{{key: bastion.pub}}}},
		{from: hop{hostname: "bastion", keys: []hopKey{{key: bastion.pub}}}, to: hop{hostname: "target", keys: []hopKey{{key: target.pub}}}},
	}
	user := "me"
	bind := func(hk hostKey, fwd bool) binding { return binding{hostKey: hk.pub, forwarded: fwd} }
	for _, tc := range []struct {
		name  string
		binds []binding
		user  *string
		want  bool
		host  string
	}{
		{"local use", nil, &user, true, ""},
		{"auth to bastion", []binding{bind(bastion, false)}, &user, true, "bastion"},
		{"list via bastion forwarding", []binding{bind(bastion, true)}, nil, true, "bastion"},
		{"auth to target via bastion", []binding{bind(bastion, true), bind(target, false)}, &user, true, "target"},
		{"auth to other", []binding{bind(other, false)}, &user, false, ""},
		{"auth to target directly", []binding{bind(target, false)}, &user, false, ""},
		{"sign on forwarding hop", []binding{bind(bastion, true)}, &user, false, ""},
		{"forward through auth binding", []binding{bind(bastion, false), bind(target, false)}, &user, false, ""},
		{"beyond target", []binding{bind(bastion, true), bind(target, true)}, nil, false, ""},
		{"via other to target", []binding{bind(other, true), bind(target, false)}, &user, false, ""},
	} {
		host, ok := permitted(dests, tc.binds, tc.user)
		if ok != tc.want || host != tc.host {
			t.Errorf("%s: permitted = %q, %v; want %q, %v", tc.name, host, ok, tc.host, tc.want)
		}
	}
}

// Host certificates match a CA hop key for the hop's hostname only.
func TestHostCertificateHop(t *testing.T) {
	ca := sshSigner(t, newEd25519(t))
	hostKey := newHostKey(t)
	cert := &ssh.Certificate{Key: hostKey.pub, CertType: ssh.HostCert, ValidPrincipals: []string{"git.example"},
		ValidBefore: ssh.CertTimeInfinity}
	if err := cert.SignCert(rand.Reader, ca); err != nil {
		t.Fatal(err)
	}
	caHop := hop{hostname: "git.example", keys: []hopKey{{key: ca.PublicKey(), isCA: true}}}
	if !matchHop(cert, caHop) {
		t.Fatal("certificate from the CA not matched")
	}
	if matchHop(cert, hop{hostname: "other.example", keys: caHop.keys}) {
		t.Error("certificate matched for a name it does not carry")
	}
	if matchHop(cert, hop{hostname: "git.example", keys: []hopKey{{key: ca.PublicKey()}}}) {
		t.Error("certificate matched a plain (non-CA) key entry")
	}
	if matchHop(hostKey.pub, caHop) {
		t.Error("plain host key matched a CA entry")
	}
	userCert := *cert
	userCert.CertType = ssh.UserCert
	if err := userCert.SignCert(rand.Reader, ca); err != nil {
		t.Fatal(err)
	}
	if matchHop(&userCert, caHop) {
		t.Error("user certificate matched as a host")
	}
	forged := *cert
	forged.ValidPrincipals = []string{"git.example", "evil.example"}
	if matchHop(&forged, hop{hostname: "evil.example", keys: caHop.keys}) {
		t.Error("certificate with a broken signature matched")
	}
}

func TestParseUserauth(t *testing.T) {
	k := sshPub(t, keyNamed(t, "rsa2048"))
	hk := newHostKey(t).pub
	sid := newSID(t)
	ua, err := parseUserauth(userauthData(sid, "git", k, ssh.KeyAlgoRSASHA256, hk), k)
	if err != nil || ua.user != "git" || string(ua.sid) != string(sid) || ua.hostKey == nil || !sameKey(ua.hostKey, hk) {
		t.Fatalf("parse: %+v, %v", ua, err)
	}
	other := sshPub(t, newEd25519(t))
	for name, data := range map[string][]byte{
		"other key":       userauthData(sid, "git", other, ssh.KeyAlgoED25519, nil),
		"wrong algorithm": userauthData(sid, "git", k, ssh.KeyAlgoED25519, nil),
		"empty sid":       userauthData(nil, "git", k, ssh.KeyAlgoRSASHA256, nil),
		"trailing":        append(userauthData(sid, "git", k, ssh.KeyAlgoRSASHA256, nil), 0),
		"NUL in user":     userauthData(sid, "g\x00t", k, ssh.KeyAlgoRSASHA256, nil),
		"truncated":       userauthData(sid, "git", k, ssh.KeyAlgoRSASHA256, nil)[:40],
	} {
		if _, err := parseUserauth(data, k); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
	// Service and method must be those of public key authentication.
	bad := concat(sshString(sid), []byte{msgUserauthRequest}, sshString([]byte("git")), sshString([]byte("ssh-userauth")),
		sshString([]byte("publickey")), []byte{1}, sshString([]byte(ssh.KeyAlgoRSA)), sshString(k.Marshal()))
	if _, err := parseUserauth(bad, k); err == nil {
		t.Error("parsed a request for another service")
	}
}

// A forwarded connection's host key in the signed request must be the
// bound one (ssh-agent's rule for hops after the first).
func TestDestSignForwardedNeedsHostKey(t *testing.T) {
	bastion, target := newHostKey(t), newHostKey(t)
	k := newEd25519(t)
	pub := sshPub(t, k)
	a := New(Options{Clock: newFakeClock()})
	details := concat(
		constraintBytes(hopBytes("", "", nil), hopBytes("", "bastion", nil, hopKey{key: bastion.pub}), nil),
		constraintBytes(hopBytes("", "bastion", nil, hopKey{key: bastion.pub}), hopBytes("", "target", nil, hopKey{key: target.pub}), nil),
	)
	if err := a.Add(agent.AddedKey{PrivateKey: k, ConstraintExtensions: []agent.ConstraintExtension{
		{ExtensionName: restrictDestination, ExtensionDetails: details}}}); err != nil {
		t.Fatal(err)
	}
	c := a.Conn(Peer{PID: 1})
	if _, err := c.Extension(extSessionBind, bindMsg(t, bastion, newSID(t), true)); err != nil {
		t.Fatal(err)
	}
	sid := newSID(t)
	if _, err := c.Extension(extSessionBind, bindMsg(t, target, sid, false)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Sign(pub, userauthData(sid, "me", pub, ssh.KeyAlgoED25519, nil)); !errors.Is(err, ErrDestination) {
		t.Fatalf("forwarded sign without host key: %v", err)
	}
	if _, err := c.Sign(pub, userauthData(sid, "me", pub, ssh.KeyAlgoED25519, target.pub)); err != nil {
		t.Fatalf("forwarded sign with the bound host key: %v", err)
	}
}
