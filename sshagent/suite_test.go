package sshagent

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"os"
	osexec "os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// The behavioural suite runs every case against OpenSSH's ssh-agent and
// against ours, both over a real unix socket, so that where they agree is
// checked rather than assumed.

type harness struct {
	sock string
	// advance lets d pass for key lifetimes: real time for ssh-agent,
	// the fake clock for ours.
	advance func(d time.Duration)
}

type impl struct {
	name string
	// start runs a fresh agent whose environment (for SSH_ASKPASS) is env.
	start func(t *testing.T, env []string) *harness
}

func impls() []impl {
	return []impl{
		{"openssh", func(t *testing.T, env []string) *harness {
			return &harness{sock: startOpenSSH(t, env...), advance: time.Sleep}
		}},
		{"wsx", func(t *testing.T, env []string) *harness {
			clock := newFakeClock()
			_, sock := startOurs(t, Options{Clock: clock, Confirm: AskpassConfirm(env)}, ServeOptions{})
			return &harness{sock: sock, advance: clock.Advance}
		}},
	}
}

func runSuite(t *testing.T, name string, env func(t *testing.T) []string, f func(t *testing.T, h *harness)) {
	t.Run(name, func(t *testing.T) {
		for _, im := range impls() {
			t.Run(im.name, func(t *testing.T) {
				var e []string
				if env != nil {
					e = env(t)
				}
				f(t, im.start(t, e))
			})
		}
	})
}

func TestBehaviour(t *testing.T) {
	runSuite(t, "keys", nil, suiteKeys)
	runSuite(t, "remove-all", nil, suiteRemoveAll)
	runSuite(t, "lock", nil, suiteLock)
	runSuite(t, "lifetime", nil, suiteLifetime)
	runSuite(t, "confirm-approve", askpassEnv(true), suiteConfirm(true))
	runSuite(t, "confirm-deny", askpassEnv(false), suiteConfirm(false))
	runSuite(t, "confirm-no-askpass", nil, suiteConfirm(false))
	runSuite(t, "smartcard", nil, suiteSmartcard)
	runSuite(t, "unknown-constraint", nil, suiteUnknownConstraint)
	runSuite(t, "session-bind", nil, suiteSessionBind)
	runSuite(t, "restrict-destination", nil, suiteRestrictDestination)
	runSuite(t, "ssh-add", nil, suiteSSHAdd)
	runSuite(t, "sk-provider", nil, suiteSKProvider)
}

func suiteKeys(t *testing.T, h *harness) {
	for _, k := range testKeys() {
		t.Run(k.name, func(t *testing.T) {
			c := dial(t, h.sock)
			if got := listComments(t, c); len(got) != 0 {
				t.Fatalf("fresh agent lists %q", got)
			}
			if err := c.Add(agent.AddedKey{PrivateKey: k.priv, Comment: "key " + k.name}); err != nil {
				t.Fatalf("Add: %v", err)
			}
			pub := sshPub(t, k.priv)
			keys, err := c.List()
			if err != nil || len(keys) != 1 {
				t.Fatalf("List = %d keys, %v; want 1", len(keys), err)
			}
			if keys[0].Comment != "key "+k.name || !bytes.Equal(keys[0].Blob, pub.Marshal()) {
				t.Fatalf("listed %q with another blob, want %q", keys[0].Comment, "key "+k.name)
			}
			data := []byte("data to sign " + k.name)
			sig, err := c.Sign(pub, data)
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			if err := pub.Verify(data, sig); err != nil {
				t.Fatalf("Verify(%s): %v", sig.Format, err)
			}
			if pub.Type() == ssh.KeyAlgoRSA {
				for flag, format := range map[agent.SignatureFlags]string{
					agent.SignatureFlagRsaSha256: ssh.KeyAlgoRSASHA256,
					agent.SignatureFlagRsaSha512: ssh.KeyAlgoRSASHA512,
					0:                            ssh.KeyAlgoRSA,
				} {
					sig, err := c.SignWithFlags(pub, data, flag)
					if err != nil {
						t.Fatalf("SignWithFlags(%d): %v", flag, err)
					}
					if sig.Format != format {
						t.Errorf("flag %d: format %s, want %s", flag, sig.Format, format)
					}
					if err := pub.Verify(data, sig); err != nil {
						t.Errorf("flag %d: Verify: %v", flag, err)
					}
				}
			}
			other := sshPub(t, newEd25519(t))
			if _, err := c.Sign(other, data); err == nil {
				t.Error("signed with a key the agent does not hold")
			}
			if err := c.Remove(pub); err != nil {
				t.Fatalf("Remove: %v", err)
			}
			if got := listComments(t, c); len(got) != 0 {
				t.Fatalf("after Remove: %q", got)
			}
			if err := c.Remove(pub); err == nil {
				t.Error("removing a missing key succeeded")
			}
			if _, err := c.Sign(pub, data); err == nil {
				t.Error("signed with a removed key")
			}
		})
	}
}

func suiteRemoveAll(t *testing.T, h *harness) {
	c := dial(t, h.sock)
	for _, name := range []string{"ed25519", "ecdsa256", "rsa2048"} {
		if err := c.Add(agent.AddedKey{PrivateKey: keyNamed(t, name), Comment: name}); err != nil {
			t.Fatalf("Add %s: %v", name, err)
		}
	}
	if got := listComments(t, c); len(got) != 3 {
		t.Fatalf("listed %q, want 3 keys", got)
	}
	if err := c.RemoveAll(); err != nil {
		t.Fatalf("RemoveAll: %v", err)
	}
	if got := listComments(t, dial(t, h.sock)); len(got) != 0 {
		t.Fatalf("after RemoveAll: %q", got)
	}
}

func suiteLock(t *testing.T, h *harness) {
	c := dial(t, h.sock)
	k := keyNamed(t, "ed25519")
	pub := sshPub(t, k)
	if err := c.Add(agent.AddedKey{PrivateKey: k, Comment: "locked key"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Lock(nil); err == nil {
		t.Fatal("locked with an empty passphrase")
	}
	if err := c.Lock([]byte("lock passphrase")); err != nil {
		t.Fatalf("Lock: %v", err)
	}
	if got := listComments(t, c); len(got) != 0 {
		t.Errorf("locked agent lists %q", got)
	}
	if _, err := c.Sign(pub, []byte("x")); err == nil {
		t.Error("locked agent signed")
	}
	if err := c.Add(agent.AddedKey{PrivateKey: keyNamed(t, "ecdsa256"), Comment: "x"}); err == nil {
		t.Error("locked agent added a key")
	}
	if err := c.Remove(pub); err == nil {
		t.Error("locked agent removed a key")
	}
	if err := c.RemoveAll(); err == nil {
		t.Error("locked agent removed all keys")
	}
	if err := c.Lock([]byte("again")); err == nil {
		t.Error("locked a locked agent")
	}
	if err := c.Unlock([]byte("wrong passphrase")); err == nil {
		t.Fatal("unlocked with a wrong passphrase")
	}
	if err := c.Unlock([]byte("lock passphrase")); err != nil {
		t.Fatalf("Unlock after a wrong attempt: %v", err)
	}
	if got := listComments(t, c); !slices.Equal(got, []string{"locked key"}) {
		t.Fatalf("after Unlock: %q", got)
	}
	if _, err := c.Sign(pub, []byte("x")); err != nil {
		t.Fatalf("Sign after Unlock: %v", err)
	}
	if err := c.Unlock([]byte("lock passphrase")); err == nil {
		t.Error("unlocked an unlocked agent")
	}
}

func suiteLifetime(t *testing.T, h *harness) {
	c := dial(t, h.sock)
	if err := c.Add(agent.AddedKey{PrivateKey: keyNamed(t, "ed25519"), Comment: "short", LifetimeSecs: 1}); err != nil {
		t.Fatal(err)
	}
	if err := c.Add(agent.AddedKey{PrivateKey: keyNamed(t, "ecdsa256"), Comment: "long", LifetimeSecs: 3600}); err != nil {
		t.Fatal(err)
	}
	if got := listComments(t, c); len(got) != 2 {
		t.Fatalf("listed %q, want both keys", got)
	}
	h.advance(1500 * time.Millisecond)
	deadline := time.Now().Add(3 * time.Second)
	for {
		got := listComments(t, c)
		if slices.Equal(got, []string{"long"}) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the lifetime: %q, want only the long-lived key", got)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// askpassEnv writes an askpass program that approves or declines and
// records the kind of prompt it was given.
func askpassEnv(approve bool) func(t *testing.T) []string {
	return func(t *testing.T) []string {
		dir := t.TempDir()
		exit := 1
		if approve {
			exit = 0
		}
		script := fmt.Sprintf("#!/bin/sh\nprintf '%%s\\n' \"$SSH_ASKPASS_PROMPT\" >> %s/kinds\nexit %d\n", dir, exit)
		path := filepath.Join(dir, "askpass")
		if err := os.WriteFile(path, []byte(script), 0o700); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			kinds, err := os.ReadFile(filepath.Join(dir, "kinds"))
			if err != nil {
				t.Errorf("askpass was never run: %v", err)
			} else if strings.TrimSpace(string(kinds)) != "confirm" {
				t.Errorf("askpass prompt kinds %q, want confirm", kinds)
			}
		})
		return []string{"SSH_ASKPASS=" + path, "SSH_ASKPASS_REQUIRE=force", "DISPLAY=:0"}
	}
}

func suiteConfirm(approve bool) func(t *testing.T, h *harness) {
	return func(t *testing.T, h *harness) {
		c := dial(t, h.sock)
		k := keyNamed(t, "ed25519")
		pub := sshPub(t, k)
		if err := c.Add(agent.AddedKey{PrivateKey: k, Comment: "confirm me", ConfirmBeforeUse: true}); err != nil {
			t.Fatalf("Add: %v", err)
		}
		data := []byte("confirm this")
		sig, err := c.Sign(pub, data)
		if !approve {
			if err == nil {
				t.Fatal("signed without approval")
			}
			return
		}
		if err != nil {
			t.Fatalf("Sign with approval: %v", err)
		}
		if err := pub.Verify(data, sig); err != nil {
			t.Fatal(err)
		}
	}
}

func suiteSmartcard(t *testing.T, h *harness) {
	provider := sshString([]byte("/usr/lib/x86_64-linux-gnu/nonexistent-pkcs11.so"))
	pin := sshString([]byte("1234"))
	for _, msg := range [][]byte{
		concat([]byte{20}, provider, pin),                       // SSH_AGENTC_ADD_SMARTCARD_KEY
		concat([]byte{26}, provider, pin, []byte{2}),            // ..._CONSTRAINED, confirm
		concat([]byte{21}, provider, pin),                       // SSH_AGENTC_REMOVE_SMARTCARD_KEY
		concat([]byte{20}, sshString([]byte("/tmp/x.so")), pin), // outside the allowed paths
	} {
		reply, err := rawRequest(t, h.sock, msg)
		if err != nil {
			t.Fatalf("request %d: %v", msg[0], err)
		}
		if !bytes.Equal(reply, []byte{5}) {
			t.Errorf("request %d: reply %v, want SSH_AGENT_FAILURE", msg[0], reply)
		}
	}
	if got := listComments(t, dial(t, h.sock)); len(got) != 0 {
		t.Errorf("smartcard requests left keys: %q", got)
	}
}

// ed25519Add encodes an add-identity request for k with raw constraints.
func ed25519Add(k []byte, comment string, constraints []byte) []byte {
	typ := byte(17)
	if len(constraints) > 0 {
		typ = 25
	}
	return concat([]byte{typ}, sshString([]byte(ssh.KeyAlgoED25519)), sshString(k[32:]), sshString(k),
		sshString([]byte(comment)), constraints)
}

func suiteUnknownConstraint(t *testing.T, h *harness) {
	k := newEd25519(t)
	for name, constraints := range map[string][]byte{
		"type 99":            {99},
		"truncated lifetime": {1, 0, 0},
		"unknown extension":  concat([]byte{255}, sshString([]byte("unknown@example.com")), sshString(nil)),
		"confirm then junk":  {2, 77},
	} {
		reply, err := rawRequest(t, h.sock, ed25519Add(k, "constrained", constraints))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(reply, []byte{5}) {
			t.Errorf("%s: reply %v, want SSH_AGENT_FAILURE", name, reply)
		}
		if got := listComments(t, dial(t, h.sock)); len(got) != 0 {
			t.Fatalf("%s: key stored anyway: %q", name, got)
		}
	}
	// The same key with a known constraint is accepted: the refusals above
	// are about the constraints, not the key.
	reply, err := rawRequest(t, h.sock, ed25519Add(k, "constrained", []byte{1, 0, 0, 0, 60}))
	if err != nil || !bytes.Equal(reply, []byte{6}) {
		t.Fatalf("lifetime constraint: reply %v, %v; want SSH_AGENT_SUCCESS", reply, err)
	}
}

// hostKey is a host's key pair and a session identifier signed with it.
type hostKey struct {
	signer ssh.Signer
	pub    ssh.PublicKey
}

func newHostKey(t testing.TB) hostKey {
	s := sshSigner(t, newEd25519(t))
	return hostKey{signer: s, pub: s.PublicKey()}
}

// bindMsg is the body of a session-bind@openssh.com request.
func bindMsg(t testing.TB, hk hostKey, sid []byte, forwarding bool) []byte {
	t.Helper()
	sig, err := hk.signer.Sign(rand.Reader, sid)
	if err != nil {
		t.Fatal(err)
	}
	return ssh.Marshal(struct {
		HostKey    []byte
		SessionID  []byte
		Signature  []byte
		Forwarding bool
	}{hk.pub.Marshal(), sid, ssh.Marshal(sig), forwarding})
}

func newSID(t testing.TB) []byte {
	sid := make([]byte, 32)
	if _, err := rand.Read(sid); err != nil {
		t.Fatal(err)
	}
	return sid
}

// userauthData is what ssh signs for publickey authentication.
func userauthData(sid []byte, user string, pub ssh.PublicKey, alg string, hostKey ssh.PublicKey) []byte {
	method := "publickey"
	if hostKey != nil {
		method = "publickey-hostbound-v00@openssh.com"
	}
	out := concat(sshString(sid), []byte{msgUserauthRequest}, sshString([]byte(user)),
		sshString([]byte("ssh-connection")), sshString([]byte(method)), []byte{1},
		sshString([]byte(alg)), sshString(pub.Marshal()))
	if hostKey != nil {
		out = append(out, sshString(hostKey.Marshal())...)
	}
	return out
}

func suiteSessionBind(t *testing.T, h *harness) {
	hk := newHostKey(t)
	other := newHostKey(t)
	c := dial(t, h.sock)
	if _, err := c.Extension(extSessionBind, bindMsg(t, hk, newSID(t), false)); err != nil {
		t.Fatalf("valid session-bind: %v", err)
	}
	// Signed by another key than the one claimed.
	bad := bindMsg(t, other, newSID(t), true)
	forged := ssh.Marshal(struct {
		HostKey, SessionID, Signature []byte
		Forwarding                    bool
	}{hk.pub.Marshal(), newSID(t), mustField(t, bad, 2), true})
	c2 := dial(t, h.sock)
	if _, err := c2.Extension(extSessionBind, forged); err == nil {
		t.Error("session-bind with a bad signature accepted")
	}
	if _, err := c2.Extension(extSessionBind, []byte("garbage")); err == nil {
		t.Error("malformed session-bind accepted")
	}
	// A connection bound for authentication takes no second binding.
	if _, err := c.Extension(extSessionBind, bindMsg(t, other, newSID(t), false)); err == nil {
		t.Error("second binding on an authentication connection accepted")
	}
	// Forwarding hops may be chained, and the same one repeated.
	c3 := dial(t, h.sock)
	sid := newSID(t)
	for i := 0; i < 2; i++ {
		if _, err := c3.Extension(extSessionBind, bindMsg(t, hk, sid, true)); err != nil {
			t.Fatalf("forwarding bind %d: %v", i, err)
		}
	}
	if _, err := c3.Extension(extSessionBind, bindMsg(t, other, sid, true)); err == nil {
		t.Error("session identifier moved to another host key")
	}
	if _, err := c3.Extension(extSessionBind, bindMsg(t, other, newSID(t), true)); err != nil {
		t.Errorf("second forwarding hop: %v", err)
	}
}

// mustField returns the i-th string of an SSH message.
func mustField(t testing.TB, msg []byte, i int) []byte {
	t.Helper()
	r := reader{b: msg}
	var s []byte
	for j := 0; j <= i; j++ {
		s = r.string()
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	return s
}

// destConstraintExt builds a restrict-destination constraint allowing use
// from this machine to host (with key hk) as user.
func destConstraintExt(host, user string, hk ssh.PublicKey) agent.ConstraintExtension {
	hopEnc := func(user, host string, keys ...ssh.PublicKey) []byte {
		out := concat(sshString([]byte(user)), sshString([]byte(host)), sshString(nil))
		for _, k := range keys {
			out = concat(out, sshString(k.Marshal()), []byte{0})
		}
		return out
	}
	c := concat(sshString(hopEnc("", "")), sshString(hopEnc(user, host, hk)), sshString(nil))
	return agent.ConstraintExtension{ExtensionName: restrictDestination, ExtensionDetails: sshString(c)}
}

func suiteRestrictDestination(t *testing.T, h *harness) {
	allowed, elsewhere := newHostKey(t), newHostKey(t)
	k := keyNamed(t, "ed25519")
	pub := sshPub(t, k)
	admin := dial(t, h.sock)
	if err := admin.Add(agent.AddedKey{PrivateKey: k, Comment: "restricted",
		ConstraintExtensions: []agent.ConstraintExtension{destConstraintExt("allowed.example", "git", allowed.pub)}}); err != nil {
		t.Fatalf("Add with destination constraint: %v", err)
	}
	if got := listComments(t, admin); !slices.Equal(got, []string{"restricted"}) {
		t.Fatalf("unbound connection lists %q", got)
	}
	sid := newSID(t)
	if _, err := admin.Sign(pub, userauthData(sid, "git", pub, ssh.KeyAlgoED25519, nil)); err == nil {
		t.Error("restricted key signed on an unbound connection")
	}

	// Bound to another host: the key is hidden and refused.
	away := dial(t, h.sock)
	sid = newSID(t)
	if _, err := away.Extension(extSessionBind, bindMsg(t, elsewhere, sid, false)); err != nil {
		t.Fatal(err)
	}
	if got := listComments(t, away); len(got) != 0 {
		t.Errorf("connection bound elsewhere lists %q", got)
	}
	if _, err := away.Sign(pub, userauthData(sid, "git", pub, ssh.KeyAlgoED25519, nil)); err == nil {
		t.Error("restricted key signed toward another host")
	}

	// Bound to the allowed host: visible, and signs a userauth request
	// for the bound session only.
	home := dial(t, h.sock)
	sid = newSID(t)
	if _, err := home.Extension(extSessionBind, bindMsg(t, allowed, sid, false)); err != nil {
		t.Fatal(err)
	}
	if got := listComments(t, home); !slices.Equal(got, []string{"restricted"}) {
		t.Fatalf("connection bound to the allowed host lists %q", got)
	}
	data := userauthData(sid, "git", pub, ssh.KeyAlgoED25519, allowed.pub)
	sig, err := home.Sign(pub, data)
	if err != nil {
		t.Fatalf("Sign toward the allowed host: %v", err)
	}
	if err := pub.Verify(data, sig); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"arbitrary data": []byte("not a userauth request"),
		"other session":  userauthData(newSID(t), "git", pub, ssh.KeyAlgoED25519, nil),
		"other user":     userauthData(sid, "root", pub, ssh.KeyAlgoED25519, nil),
		"other hostkey":  userauthData(sid, "git", pub, ssh.KeyAlgoED25519, elsewhere.pub),
	} {
		if _, err := home.Sign(pub, data); err == nil {
			t.Errorf("%s: signed", name)
		}
	}
}

// suiteSSHAdd drives the agent with OpenSSH's ssh-add: add, list,
// destination-constrained add, delete.
func suiteSSHAdd(t *testing.T, h *harness) {
	if _, err := osexec.LookPath("ssh-add"); err != nil {
		t.Skip("ssh-add not installed")
	}
	dir := t.TempDir()
	k := newEd25519(t)
	block, err := ssh.MarshalPrivateKey(k, "ssh-add key")
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "id_test")
	if err := os.WriteFile(keyFile, pemEncode(block), 0o600); err != nil {
		t.Fatal(err)
	}
	pub := sshPub(t, k)
	if err := os.WriteFile(keyFile+".pub", ssh.MarshalAuthorizedKey(pub), 0o644); err != nil {
		t.Fatal(err)
	}
	allowed := newHostKey(t)
	knownHosts := filepath.Join(dir, "known_hosts")
	line := "allowed.example " + string(ssh.MarshalAuthorizedKey(allowed.pub))
	if err := os.WriteFile(knownHosts, []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	sshAdd := func(args ...string) (string, error) {
		cmd := osexec.Command("ssh-add", args...)
		cmd.Env = []string{"SSH_AUTH_SOCK=" + h.sock, "HOME=" + dir, "PATH=/usr/bin:/bin"}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := sshAdd(keyFile); err != nil {
		t.Fatalf("ssh-add: %v\n%s", err, out)
	}
	out, err := sshAdd("-l")
	if err != nil || !strings.Contains(out, ssh.FingerprintSHA256(pub)) {
		t.Fatalf("ssh-add -l: %v\n%s", err, out)
	}
	if out, err := sshAdd("-d", keyFile); err != nil {
		t.Fatalf("ssh-add -d: %v\n%s", err, out)
	}
	if out, err := sshAdd("-l"); err == nil {
		t.Fatalf("ssh-add -l after -d lists keys:\n%s", out)
	}
	if out, err := sshAdd("-H", knownHosts, "-h", "allowed.example", keyFile); err != nil {
		t.Fatalf("ssh-add -h: %v\n%s", err, out)
	}
	c := dial(t, h.sock)
	sid := newSID(t)
	if _, err := c.Extension(extSessionBind, bindMsg(t, allowed, sid, false)); err != nil {
		t.Fatal(err)
	}
	data := userauthData(sid, "anyone", pub, ssh.KeyAlgoED25519, nil)
	if _, err := c.Sign(pub, data); err != nil {
		t.Errorf("key added with ssh-add -h does not sign toward its host: %v", err)
	}
	away := dial(t, h.sock)
	if _, err := away.Extension(extSessionBind, bindMsg(t, newHostKey(t), sid, false)); err != nil {
		t.Fatal(err)
	}
	if _, err := away.Sign(pub, data); err == nil {
		t.Error("key added with ssh-add -h signs toward another host")
	}
	if out, err := sshAdd("-D"); err != nil {
		t.Fatalf("ssh-add -D: %v\n%s", err, out)
	}
}
