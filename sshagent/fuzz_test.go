package sshagent

import (
	"bytes"
	"crypto/ed25519"
	"net"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// streamConn is a net.Conn that reads a fixed byte stream and discards
// what is written.
type streamConn struct{ r *bytes.Reader }

func (c *streamConn) Read(p []byte) (int, error)       { return c.r.Read(p) }
func (c *streamConn) Write(p []byte) (int, error)      { return len(p), nil }
func (c *streamConn) Close() error                     { return nil }
func (c *streamConn) LocalAddr() net.Addr              { return &net.UnixAddr{Net: "unix"} }
func (c *streamConn) RemoteAddr() net.Addr             { return &net.UnixAddr{Net: "unix"} }
func (c *streamConn) SetDeadline(time.Time) error      { return nil }
func (c *streamConn) SetReadDeadline(time.Time) error  { return nil }
func (c *streamConn) SetWriteDeadline(time.Time) error { return nil }

func frame(m []byte) []byte { return append(header(uint32(len(m))), m...) }

func frames(msgs ...[]byte) []byte {
	var out []byte
	for _, m := range msgs {
		out = append(out, frame(m)...)
	}
	return out
}

// fixedKey returns a deterministic ed25519 key, so fuzz inputs replay.
func fixedKey(b byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{b}, ed25519.SeedSize))
}

func fuzzHostKey(t testing.TB, b byte) hostKey {
	s, err := ssh.NewSignerFromKey(fixedKey(b))
	if err != nil {
		t.Fatal(err)
	}
	return hostKey{signer: s, pub: s.PublicKey()}
}

// FuzzRequest feeds arbitrary byte streams to a served connection: no
// input may panic (the panic guard would log "internal error").
func FuzzRequest(f *testing.F) {
	k := fixedKey(1)
	pub, _ := ssh.NewPublicKey(k.Public())
	host := fuzzHostKey(f, 2)
	sid := bytes.Repeat([]byte{7}, 32)
	str := func(s string) []byte { return sshString([]byte(s)) }
	sign := concat([]byte{13}, sshString(pub.Marshal()), sshString(userauthData(sid, "git", pub, ssh.KeyAlgoED25519, host.pub)), []byte{0, 0, 0, 0})
	bind := concat([]byte{27}, str(extSessionBind), bindMsg(f, host, sid, false))
	dest := destConstraintExt("h.example", "git", host.pub)
	restricted := ed25519Add(fixedKey(3), "restricted", concat([]byte{255}, str(dest.ExtensionName), sshString(dest.ExtensionDetails)))
	for _, seed := range [][]byte{
		frames([]byte{11}),
		frames([]byte{11}, sign),
		frames(bind, []byte{11}, sign),
		frames(restricted, bind, []byte{11}),
		frames(ed25519Add(fixedKey(4), "c", []byte{1, 0, 0, 0, 5, 2}), []byte{11}),
		frames(concat([]byte{18}, sshString(pub.Marshal())), []byte{19}),
		frames(concat([]byte{22}, str("pw")), []byte{11}, concat([]byte{23}, str("no")), concat([]byte{23}, str("pw"))),
		frames(concat([]byte{27}, str(extQuery))),
		frames(concat([]byte{20}, str("/usr/lib/x.so"), str("pin"))),
		frames(hugeRSAAdd(2048)),
		header(0),
		header(1 << 31),
		append(header(5), 1, 2),
		{0, 0},
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, stream []byte) {
		logs := &logRecorder{}
		a := New(Options{Clock: newFakeClock(), Logf: logs.logf, Confirm: func(ConfirmRequest) error { return nil }})
		if err := a.Add(agent.AddedKey{PrivateKey: k, Comment: "fuzz"}); err != nil {
			t.Fatal(err)
		}
		s := newServer(a, ServeOptions{})
		s.serveConn(&tracked{c: &streamConn{r: bytes.NewReader(stream)}}, Peer{UID: 1000, PID: 1})
		if logs.contains("internal error") {
			t.Fatalf("panic serving a %d-byte stream", len(stream))
		}
	})
}

// FuzzDestConstraints: the restrict-destination parser never panics, and
// what it accepts has a destination for every rule.
func FuzzDestConstraints(f *testing.F) {
	host := fuzzHostKey(f, 5)
	good := destConstraintExt("h.example", "git", host.pub).ExtensionDetails
	r := reader{b: good}
	inner := r.string()
	f.Add(inner)
	f.Add(concat(inner, inner))
	f.Add([]byte{})
	f.Add(good)
	f.Add(constraintBytes(hopBytes("", "bastion", nil, hopKey{key: host.pub}), hopBytes("u*", "t", nil, hopKey{key: host.pub, isCA: true}), nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		dests, err := parseDestConstraints(b)
		if err != nil {
			return
		}
		if len(dests) == 0 {
			t.Fatal("accepted an empty constraint")
		}
		for _, d := range dests {
			if d.to.hostname == "" || len(d.to.keys) == 0 || d.from.user != "" {
				t.Fatalf("accepted an incomplete constraint: %+v", d)
			}
		}
	})
}

// FuzzUserauth: the userauth parser never panics and accepts only requests
// for the expected key.
func FuzzUserauth(f *testing.F) {
	k := fixedKey(6)
	pub, _ := ssh.NewPublicKey(k.Public())
	host := fuzzHostKey(f, 7)
	sid := bytes.Repeat([]byte{9}, 32)
	f.Add(userauthData(sid, "git", pub, ssh.KeyAlgoED25519, nil))
	f.Add(userauthData(sid, "git", pub, ssh.KeyAlgoED25519, host.pub))
	f.Add(userauthData(sid, "", pub, ssh.KeyAlgoRSASHA256, nil))
	f.Add([]byte{0, 0, 0, 1, 1, 50})
	f.Fuzz(func(t *testing.T, data []byte) {
		ua, err := parseUserauth(data, pub)
		if err != nil {
			return
		}
		if len(ua.sid) == 0 || bytes.IndexByte([]byte(ua.user), 0) >= 0 {
			t.Fatalf("accepted %+v", ua)
		}
		if !bytes.Contains(data, pub.Marshal()) {
			t.Fatal("accepted a request for another key")
		}
	})
}
