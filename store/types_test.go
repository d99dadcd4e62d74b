package store

import (
	"bytes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

func TestParseType(t *testing.T) {
	for _, typ := range Types {
		got, err := ParseType(string(typ))
		if err != nil || got != typ {
			t.Errorf("ParseType(%q) = %q, %v", typ, got, err)
		}
	}
	for _, s := range []string{"", "Token", "secret", "keys", " key"} {
		_, err := ParseType(s)
		wantErr(t, "ParseType "+s, err, ErrInvalidType, "token, password, key, file")
	}
}

type testKey struct {
	name   string
	priv   any
	pem    []byte
	bits   int
	algo   string
	fprint string
}

func testKeys(t testing.TB) []testKey {
	t.Helper()
	_, edPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecPriv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaPriv, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	fp := func(k any) string {
		s, err := ssh.NewSignerFromKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return ssh.FingerprintSHA256(s.PublicKey())
	}
	openssh := func(k any) []byte {
		b, err := ssh.MarshalPrivateKey(k, "a comment")
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(b)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(edPriv)
	if err != nil {
		t.Fatal(err)
	}
	sec1, err := x509.MarshalECPrivateKey(ecPriv)
	if err != nil {
		t.Fatal(err)
	}
	return []testKey{
		{"ed25519 openssh", edPriv, openssh(edPriv), 256, ssh.KeyAlgoED25519, fp(edPriv)},
		{"ed25519 pkcs8", edPriv, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), 256, ssh.KeyAlgoED25519, fp(edPriv)},
		{"ecdsa openssh", ecPriv, openssh(ecPriv), 256, ssh.KeyAlgoECDSA256, fp(ecPriv)},
		{"ecdsa sec1", ecPriv, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}), 256, ssh.KeyAlgoECDSA256, fp(ecPriv)},
		{"rsa openssh", rsaPriv, openssh(rsaPriv), 1024, ssh.KeyAlgoRSA, fp(rsaPriv)},
		{"rsa pkcs1", rsaPriv, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaPriv)}), 1024, ssh.KeyAlgoRSA, fp(rsaPriv)},
	}
}

func checkCanonical(t *testing.T, what string, k testKey, canon []byte, info *SSHKey) {
	t.Helper()
	if info == nil {
		t.Fatalf("%s: no SSH info", what)
	}
	if info.Algorithm != k.algo || info.Fingerprint != k.fprint || info.Bits != k.bits ||
		!strings.HasPrefix(info.PublicKey, k.algo+" ") || strings.ContainsAny(info.PublicKey, "\n") {
		t.Errorf("%s: info %+v, want %s %s %d bits", what, info, k.algo, k.fprint, k.bits)
	}
	if !bytes.HasPrefix(canon, []byte("-----BEGIN OPENSSH PRIVATE KEY-----\n")) {
		t.Errorf("%s: canonical form is not OpenSSH PEM", what)
	}
	raw, err := ssh.ParseRawPrivateKey(canon)
	if err != nil {
		t.Fatalf("%s: canonical form does not parse unencrypted: %v", what, err)
	}
	s, err := ssh.NewSignerFromKey(raw)
	if err != nil || ssh.FingerprintSHA256(s.PublicKey()) != k.fprint {
		t.Errorf("%s: canonical form is another key", what)
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(info.PublicKey))
	if err != nil || ssh.FingerprintSHA256(pub) != k.fprint {
		t.Errorf("%s: PublicKey does not parse as the key's authorized_keys line: %v", what, err)
	}
}

func TestParseKey(t *testing.T) {
	for _, k := range testKeys(t) {
		calls := 0
		ask := func() ([]byte, error) { calls++; return []byte("unused"), nil }
		canon, info, err := ParseKey(k.pem, ask)
		if err != nil {
			t.Fatalf("%s: %v", k.name, err)
		}
		if calls != 0 {
			t.Errorf("%s: passphrase asked %d times for a clear key", k.name, calls)
		}
		checkCanonical(t, k.name, k, canon, info)
		// Canonical input is a fixed point.
		again, info2, err := ParseKey(canon, nil)
		if err != nil || info2.Fingerprint != info.Fingerprint {
			t.Errorf("%s: canonical form does not parse again: %v", k.name, err)
		}
		if _, err := ssh.ParseRawPrivateKey(again); err != nil {
			t.Errorf("%s: second canonical form: %v", k.name, err)
		}
	}
}

func TestParseKeyEncrypted(t *testing.T) {
	k := testKeys(t)[0]
	block, err := ssh.MarshalPrivateKeyWithPassphrase(k.priv, "c", []byte("key pass"))
	if err != nil {
		t.Fatal(err)
	}
	enc := pem.EncodeToMemory(block)

	calls := 0
	canon, info, err := ParseKey(enc, func() ([]byte, error) { calls++; return []byte("key pass"), nil })
	if err != nil || calls != 1 {
		t.Fatalf("encrypted key: %v after %d passphrase calls, want success after 1", err, calls)
	}
	checkCanonical(t, "encrypted", k, canon, info)
	if bytes.Contains(canon, []byte("aes256-ctr")) || bytes.Contains(canon, []byte("bcrypt")) {
		t.Error("canonical form is still encrypted")
	}

	calls = 0
	_, _, err = ParseKey(enc, func() ([]byte, error) { calls++; return []byte("wrong"), nil })
	wantErr(t, "wrong key passphrase", err, ErrInvalidValue, "passphrase")
	if calls != 1 {
		t.Errorf("wrong key passphrase: asked %d times, want 1", calls)
	}
	_, _, err = ParseKey(enc, nil)
	wantErr(t, "encrypted key without a passphrase func", err, ErrInvalidValue, "encrypted")
	cancel := errors.New("prompt cancelled")
	_, _, err = ParseKey(enc, func() ([]byte, error) { return nil, cancel })
	if !errors.Is(err, cancel) {
		t.Errorf("failing passphrase func: %v", err)
	}

	s, _ := newTestStore(t)
	sec := Secret{Meta: Meta{Name: "DEPLOY_SSH_KEY", Type: TypeKey}, Value: NewValue(enc)}
	_, err = s.Add(sec)
	wantErr(t, "Add encrypted key with no passphrase func", err, ErrInvalidValue, "DEPLOY_SSH_KEY")
	calls = 0
	m, err := s.Add(sec, AddOptions{KeyPassphrase: func() ([]byte, error) { calls++; return []byte("key pass"), nil }})
	if err != nil || calls != 1 {
		t.Fatalf("Add encrypted key: %v after %d calls", err, calls)
	}
	got, err := s.Get("DEPLOY_SSH_KEY")
	if err != nil {
		t.Fatal(err)
	}
	checkCanonical(t, "stored", k, got.Value.Bytes(), got.SSH)
	if m.SSH == nil || *m.SSH != *got.SSH {
		t.Errorf("Add meta SSH %+v differs from stored %+v", m.SSH, got.SSH)
	}
}

func TestParseKeyRefusals(t *testing.T) {
	cases := map[string]string{
		"garbage PEM":    "-----BEGIN OPENSSH PRIVATE KEY-----\nbm90IGEga2V5\n-----END OPENSSH PRIVATE KEY-----\n",
		"unknown block":  "-----BEGIN FOO-----\nAAAA\n-----END FOO-----\n",
		"public key PEM": "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n",
		"BEGIN inside":   "raw bytes then -----BEGIN and nothing",
		"empty":          "",
	}
	for name, data := range cases {
		_, _, err := ParseKey([]byte(data), nil)
		wantErr(t, name, err, ErrInvalidValue)
	}
	_, _, err := ParseKey(bytes.Repeat([]byte("k"), MaxFileSize+1), nil)
	wantErr(t, "oversized key", err, ErrInvalidValue)

	raw := []byte{0x00, 0xff, 0x10, 'k', 'e', 'y', 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a}
	canon, info, err := ParseKey(raw, nil)
	if err != nil || info != nil || !bytes.Equal(canon, raw) {
		t.Errorf("raw key material: info %v err %v, changed %v", info, err, !bytes.Equal(canon, raw))
	}
}

func TestValueValidation(t *testing.T) {
	s, _ := newTestStore(t)
	add := func(m Meta, v []byte) error {
		_, err := s.Add(Secret{Meta: m, Value: NewValue(v)})
		return err
	}
	big := bytes.Repeat([]byte{0xa5}, MaxFileSize+1)
	for _, typ := range Types {
		wantErr(t, string(typ)+" too large", add(Meta{Name: "BIG_" + strings.ToUpper(string(typ)), Type: typ}, big), ErrInvalidValue)
	}
	wantErr(t, "empty token", add(Meta{Name: "E_TOKEN", Type: TypeToken}, nil), ErrInvalidValue, "E_TOKEN")
	if err := add(Meta{Name: "E_PASSWORD", Type: TypePassword}, nil); err != nil {
		t.Errorf("empty password (SSO, Kerberos): %v", err)
	}
	wantErr(t, "empty key", add(Meta{Name: "E_KEY", Type: TypeKey}, nil), ErrInvalidValue)
	wantErr(t, "bad type", add(Meta{Name: "T_TOKEN", Type: "secret"}, []byte("v")), ErrInvalidType)
	wantErr(t, "empty type", add(Meta{Name: "T_TOKEN", Type: ""}, []byte("v")), ErrInvalidType)
	metaCases := map[string]Meta{
		"long description":   {Description: strings.Repeat("d", MaxDescLen+1)},
		"escape description": {Description: "nice\x1b[2Jtext"},
		"too many hosts":     {Hosts: make([]string, MaxHostCount+1)},
		"empty host":         {Hosts: []string{""}},
		"host with newline":  {Hosts: []string{"github.com\nevil"}},
		"host with space":    {Hosts: []string{"github.com org"}},
		"username with CR":   {Username: "bob\r"},
		"bad utf-8 username": {Username: "\xff"},
		"negative rotation":  {RotateEvery: -time.Hour},
	}
	for name, m := range metaCases {
		m.Name, m.Type = "META_TOKEN", TypeToken
		wantErr(t, name, add(m, []byte("v")), ErrInvalidValue, "META_TOKEN")
	}
	ok := Meta{Name: "META_TOKEN", Type: TypeToken, Description: "line one\nline two\ttab", Hosts: []string{"github.com", "git.example.com:8443"}, Username: "bob", RotateEvery: time.Hour}
	if err := add(ok, []byte("v")); err != nil {
		t.Errorf("valid metadata: %v", err)
	}

	// The largest value of every type round-trips through the file backend.
	max := make([]byte, MaxFileSize)
	rand.Read(max)
	if err := add(Meta{Name: "MAX_FILE", Type: TypeFile}, max); err != nil {
		t.Fatalf("MaxFileSize file: %v", err)
	}
	got, err := s.Get("MAX_FILE")
	if err != nil || !got.Value.Equal(NewValue(max)) {
		t.Errorf("MaxFileSize file did not round-trip: %v", err)
	}
}

func TestKeyTypeChanges(t *testing.T) {
	keys := testKeys(t)
	s, _ := newTestStore(t)
	m, err := s.Add(Secret{Meta: Meta{Name: "DEPLOY_KEY", Type: TypeKey}, Value: NewValue(keys[1].pem)})
	if err != nil {
		t.Fatal(err)
	}
	if m.SSH == nil || m.SSH.Fingerprint != keys[1].fprint {
		t.Fatalf("Add key: SSH %+v", m.SSH)
	}
	m, err = s.Edit("DEPLOY_KEY", Edit{Value: NewValue(keys[4].pem), Rotate: true})
	if err != nil {
		t.Fatal(err)
	}
	if m.SSH == nil || m.SSH.Fingerprint != keys[4].fprint || m.SSH.Bits != 1024 {
		t.Errorf("Rotate key: SSH %+v, want the new key", m.SSH)
	}
	got, _ := s.Get("DEPLOY_KEY")
	checkCanonical(t, "rotated", keys[4], got.Value.Bytes(), got.SSH)

	m, err = s.Update("DEPLOY_KEY", func(sec *Secret) error {
		sec.SSH = &SSHKey{Fingerprint: "SHA256:forged"}
		return nil
	})
	if err != nil || m.SSH == nil || m.SSH.Fingerprint != keys[4].fprint {
		t.Errorf("Update cannot forge SSH facts: %+v %v", m.SSH, err)
	}
	m, err = s.Update("DEPLOY_KEY", func(sec *Secret) error {
		sec.Type, sec.Value = TypeKey, NewValue([]byte("00112233445566778899aabbccddeeff\n"))
		return nil
	})
	if err != nil || m.SSH != nil {
		t.Errorf("key changed to raw material: SSH %+v, %v", m.SSH, err)
	}
	_, err = s.Edit("DEPLOY_KEY", Edit{Value: NewValue([]byte("-----BEGIN OPENSSH PRIVATE KEY-----\nbroken\n")), Rotate: true})
	wantErr(t, "Rotate to a broken key", err, ErrInvalidValue, "DEPLOY_KEY")
}

// An SSH public key given as a key is refused with the hint to give the
// private key; so is text posing as raw key material. Raw key material
// follows RawKeyRule.
func TestKeyRefusesPublicKeysAndText(t *testing.T) {
	pub := "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBm/RAlphM3+hUG6wWfcO5bIUIaqMLa2ywxcOK1wMWbh user@host\n"
	for name, data := range map[string]string{
		".pub file":            pub,
		"authorized_keys line": `from="10.0.0.0/8",no-pty ` + pub,
		"cut public key":       "ssh-rsa AAAAB3NzaC1yc2EAAAADAQAB",
		"RFC 4716 public key":  "---- BEGIN SSH2 PUBLIC KEY ----\nAAAA\n---- END SSH2 PUBLIC KEY ----\n",
	} {
		_, _, err := ParseKey([]byte(data), nil)
		wantErr(t, name, err, ErrInvalidValue, "public key", "private key")
	}
	for name, data := range map[string]string{
		"a sentence":       "this is my secret encryption key, trust me",
		"a short password": "hunter2",
		"hex too short":    "00112233445566778899aabbccddee",
		"hex too long":     strings.Repeat("00", 65),
		"binary too short": "\x00\x01\x02",
		"binary too long":  strings.Repeat("\x00", 65),
	} {
		_, _, err := ParseKey([]byte(data), nil)
		wantErr(t, name, err, ErrInvalidValue, "16 to 64 bytes")
	}
	for name, data := range map[string]string{
		"hex, 16 bytes":       "00112233445566778899aabbccddeeff\n",
		"hex, 64 bytes":       strings.Repeat("ab", 64),
		"base64, 32 bytes":    "q83vASNFZ4mrze8BI0VniavN7wEjRWeJq83vASNFZ4k=\n",
		"base64url, 32 bytes": "q83vASNFZ4mrze8BI0VniavN7wEjRWeJq83vASNFZ4k",
		"binary, 32 bytes":    "\x00\xff" + strings.Repeat("\x10", 30),
	} {
		canon, info, err := ParseKey([]byte(data), nil)
		if err != nil || info != nil || string(canon) != data {
			t.Errorf("%s: %v (info %v)", name, err, info)
		}
	}
	// A key stored before the rule keeps working: a write that leaves the
	// value alone does not check it again.
	s, _ := newTestStore(t)
	err := s.write(func(g cipher.AEAD, id string, now time.Time) error {
		return s.put(g, id, Secret{Meta: Meta{Name: "OLD_KEY", Type: TypeKey, Created: now, Updated: now, Version: 1}, Value: NewValue([]byte("old text key"))})
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update("OLD_KEY", func(sec *Secret) error { sec.Description = "kept"; return nil }); err != nil {
		t.Errorf("Update of an old key's description: %v", err)
	}
	_, err = s.Edit("OLD_KEY", Edit{Value: NewValue([]byte("new text key")), Rotate: true})
	wantErr(t, "Rotate to text", err, ErrInvalidValue, "OLD_KEY")
	if m := (Meta{Type: TypeKey, SSH: &SSHKey{}}); !m.ServedByAgent() {
		t.Error("an SSH key is not served by the agent")
	}
	if m := (Meta{Type: TypeKey}); m.ServedByAgent() {
		t.Error("raw key material is served by the agent")
	}
}
