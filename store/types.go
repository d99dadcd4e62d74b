package store

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/ssh"
)

// ParseType returns the Type named s (token, password, key or file).
func ParseType(s string) (Type, error) {
	for _, t := range Types {
		if string(t) == s {
			return t, nil
		}
	}
	names := make([]string, len(Types))
	for i, t := range Types {
		names[i] = string(t)
	}
	return "", fmt.Errorf("type %q is not one of %s: %w", s, strings.Join(names, ", "), ErrInvalidType)
}

// RSA key sizes ParseKey accepts. OpenSSH refuses smaller keys; larger ones
// only cost signing time.
const (
	minRSABits = 1024
	maxRSABits = 16384
)

// Sizes of raw key material, in bytes once decoded.
const (
	MinRawKeyLen = 16 // 128 bits
	MaxRawKeyLen = 64 // 512 bits
)

// RawKeyRule is the rule for raw key material, for help texts.
const RawKeyRule = "raw key material is 16 to 64 bytes: binary, or written in hex or base64"

// ParseKey validates an SSH private key given in PEM or OpenSSH form
// (ed25519, rsa or ecdsa) and returns it in canonical form: unencrypted
// OpenSSH PEM, with its public facts in info. An encrypted key makes ParseKey
// call passphrase once; a nil passphrase func makes an encrypted key an
// error. An SSH public key (a .pub file, an authorized_keys line, a
// certificate, a PEM public key) is refused with the hint to give the
// private key. Data that does not contain "-----BEGIN" is raw key material
// (an encryption key, say), which must follow RawKeyRule: MinRawKeyLen to
// MaxRawKeyLen bytes of binary, or that many bytes written in hex or base64
// (a final line break allowed); text that is none of these is refused. Raw
// key material is returned as is with a nil info. Errors wrap
// ErrInvalidValue and never contain the key.
func ParseKey(data []byte, passphrase func() ([]byte, error)) (canonical []byte, info *SSHKey, err error) {
	return parseKey(data, passphrase, true)
}

// parseKey is ParseKey; strict false lets through raw key material and
// public keys stored before the rules (a value a write does not change).
func parseKey(data []byte, passphrase func() ([]byte, error), strict bool) (canonical []byte, info *SSHKey, err error) {
	if len(data) == 0 {
		return nil, nil, fmt.Errorf("key is empty: %w", ErrInvalidValue)
	}
	if len(data) > MaxFileSize {
		return nil, nil, fmt.Errorf("key of %d bytes is larger than %d: %w", len(data), MaxFileSize, ErrInvalidValue)
	}
	if strict && IsPublicKey(data) {
		return nil, nil, fmt.Errorf("this is an SSH public key (a .pub file or an authorized_keys line); give the private key instead, e.g. the same file without .pub: %w", ErrInvalidValue)
	}
	if !bytes.Contains(data, []byte("-----BEGIN")) {
		if strict {
			if err := checkRawKey(data); err != nil {
				return nil, nil, err
			}
		}
		return bytes.Clone(data), nil, nil
	}
	raw, err := ssh.ParseRawPrivateKey(data)
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		if passphrase == nil {
			return nil, nil, fmt.Errorf("key is encrypted and no passphrase was given: %w", ErrInvalidValue)
		}
		pass, perr := passphrase()
		if perr != nil {
			return nil, nil, fmt.Errorf("read key passphrase: %w", perr)
		}
		raw, err = ssh.ParseRawPrivateKeyWithPassphrase(data, pass)
		clear(pass)
		if err != nil {
			return nil, nil, fmt.Errorf("key does not decrypt with the passphrase given: %w", ErrInvalidValue)
		}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("key looks like PEM but is not a private key ssh can read: %w", ErrInvalidValue)
	}
	bits := 0
	switch k := raw.(type) {
	case *ed25519.PrivateKey:
		raw, bits = *k, 256
	case ed25519.PrivateKey:
		bits = 256
	case *rsa.PrivateKey:
		bits = k.N.BitLen()
		if bits < minRSABits || bits > maxRSABits {
			return nil, nil, fmt.Errorf("rsa key of %d bits is outside %d..%d: %w", bits, minRSABits, maxRSABits, ErrInvalidValue)
		}
	case *ecdsa.PrivateKey:
		bits = k.Curve.Params().BitSize
	default:
		return nil, nil, fmt.Errorf("key type %T is not supported (ed25519, rsa, ecdsa): %w", raw, ErrInvalidValue)
	}
	signer, err := ssh.NewSignerFromKey(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("key cannot sign: %w", ErrInvalidValue)
	}
	block, err := ssh.MarshalPrivateKey(raw, "")
	if err != nil {
		return nil, nil, fmt.Errorf("re-encode key: %w", ErrInvalidValue)
	}
	pub := signer.PublicKey()
	info = &SSHKey{
		Algorithm:   pub.Type(),
		Fingerprint: ssh.FingerprintSHA256(pub),
		PublicKey:   strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub))),
		Bits:        bits,
	}
	return pem.EncodeToMemory(block), info, nil
}

// sshKeyPrefixes start the public key types of OpenSSH: plain keys,
// security keys and certificates.
var sshKeyPrefixes = []string{"ssh-", "ecdsa-sha2-", "sk-ssh-", "sk-ecdsa-", "rsa-sha2-"}

// IsPublicKey reports whether data is an SSH public key rather than a
// private one: a line of a .pub file or of authorized_keys (options
// allowed), a certificate, or a PEM public key (SSH2, PKIX or PKCS#1).
func IsPublicKey(data []byte) bool {
	if bytes.Contains(data, []byte("PUBLIC KEY-----")) || bytes.Contains(data, []byte("BEGIN SSH2 PUBLIC KEY")) {
		return true
	}
	if _, _, _, _, err := ssh.ParseAuthorizedKey(data); err == nil {
		return true
	}
	// A damaged or cut public key still starts with its type and AAAA.
	for line := range bytes.Lines(data) {
		f := bytes.Fields(line)
		for i := 0; i+1 < len(f) && i < 2; i++ {
			for _, p := range sshKeyPrefixes {
				if bytes.HasPrefix(f[i], []byte(p)) && bytes.HasPrefix(f[i+1], []byte("AAAA")) {
					return true
				}
			}
		}
	}
	return false
}

// checkRawKey enforces RawKeyRule.
func checkRawKey(data []byte) error {
	if !isText(data) {
		if len(data) < MinRawKeyLen || len(data) > MaxRawKeyLen {
			return fmt.Errorf("binary key material of %d bytes: %s: %w", len(data), RawKeyRule, ErrInvalidValue)
		}
		return nil
	}
	t := bytes.TrimRight(data, "\r\n")
	if n, ok := decodedLen(t); ok {
		if n < MinRawKeyLen || n > MaxRawKeyLen {
			return fmt.Errorf("key material of %d bytes once decoded: %s: %w", n, RawKeyRule, ErrInvalidValue)
		}
		return nil
	}
	return fmt.Errorf("this is text, not a private key in PEM or OpenSSH form nor raw key material (%s); store a password or token as --type token or --type password, other data as --type file: %w", RawKeyRule, ErrInvalidValue)
}

// isText reports whether data is printable ASCII, tabs and line breaks.
func isText(data []byte) bool {
	for _, c := range data {
		if (c < 0x20 || c > 0x7e) && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}

// decodedLen returns the decoded size of t written in hex or base64
// (standard or URL alphabet, padded or not), and false when it is
// neither.
func decodedLen(t []byte) (int, bool) {
	if len(t)%2 == 0 {
		if b, err := hex.DecodeString(string(t)); err == nil {
			return len(b), true
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(string(t)); err == nil {
			return len(b), true
		}
	}
	return 0, false
}

// checkSecret validates sec's type, metadata and value, and the previous
// value it keeps, if any; it returns sec with canonical values and the SSH
// facts of parsed SSH keys set. strict applies the rules for new values
// to the current value (see parseKey); the previous value is never new.
func checkSecret(sec Secret, keyPass func() ([]byte, error), strict bool) (Secret, error) {
	if err := ValidateName(sec.Name); err != nil {
		return sec, err
	}
	if _, err := ParseType(string(sec.Type)); err != nil {
		return sec, fmt.Errorf("secret %s: %w", sec.Name, err)
	}
	if err := checkMeta(sec.Meta); err != nil {
		return sec, fmt.Errorf("secret %s: %w", sec.Name, err)
	}
	v, info, err := checkValue(sec.Type, sec.Value, keyPass, strict)
	if err != nil {
		return sec, fmt.Errorf("secret %s: %w", sec.Name, err)
	}
	sec.Value, sec.SSH = v, info
	if sec.Previous == nil {
		if !sec.PreviousValue.IsZero() {
			return sec, fmt.Errorf("secret %s: a previous value without its description: %w", sec.Name, ErrInvalidValue)
		}
		return sec, nil
	}
	p := *sec.Previous
	if p.Version == 0 {
		return sec, fmt.Errorf("secret %s: the previous value has version 0: %w", sec.Name, ErrInvalidValue)
	}
	if _, err := ParseType(string(p.Type)); err != nil {
		return sec, fmt.Errorf("secret %s: previous value: %w", sec.Name, err)
	}
	pv, pinfo, err := checkValue(p.Type, sec.PreviousValue, nil, false)
	if err != nil {
		return sec, fmt.Errorf("secret %s: previous value: %w", sec.Name, err)
	}
	p.SSH = pinfo
	sec.Previous, sec.PreviousValue = &p, pv
	return sec, nil
}

// checkValue validates v for typ and returns it in canonical form, with
// the facts of a parsed SSH key; strict as in parseKey.
func checkValue(typ Type, v Value, keyPass func() ([]byte, error), strict bool) (Value, *SSHKey, error) {
	b := v.Bytes()
	if len(b) > MaxFileSize {
		return v, nil, fmt.Errorf("value of %d bytes is larger than %d: %w", len(b), MaxFileSize, ErrInvalidValue)
	}
	switch typ {
	case TypeToken, TypePassword:
		// A password may be empty: logins by SSO or Kerberos (git's
		// http.emptyAuth) use an empty user name and password.
		if len(b) == 0 && typ == TypeToken {
			return v, nil, fmt.Errorf("a %s cannot be empty: %w", typ, ErrInvalidValue)
		}
		// One line: git's protocol and environment variables take no
		// more, and NUL ends a C string early.
		if i := bytes.IndexAny(b, "\x00\r\n"); i >= 0 {
			return v, nil, fmt.Errorf("a %s is one line: byte %d is a line break or NUL (store multi-line values as --type file): %w", typ, i, ErrInvalidValue)
		}
	case TypeKey:
		canon, info, err := parseKey(b, keyPass, strict)
		if err != nil {
			return v, nil, err
		}
		if info != nil {
			v = NewValue(canon)
			clear(canon)
		}
		return v, info, nil
	}
	return v, nil, nil
}

// Limits on metadata fields that MaxDescLen and MaxHostCount leave open.
const (
	MaxHostLen     = 255 // bytes in one Hosts entry
	maxUsernameLen = 256
)

// checkMeta validates the descriptive fields of m.
func checkMeta(m Meta) error {
	if len(m.Description) > MaxDescLen {
		return fmt.Errorf("description of %d bytes is longer than %d: %w", len(m.Description), MaxDescLen, ErrInvalidValue)
	}
	if err := printable("description", m.Description, true); err != nil {
		return err
	}
	if len(m.Hosts) > MaxHostCount {
		return fmt.Errorf("%d hosts is more than %d: %w", len(m.Hosts), MaxHostCount, ErrInvalidValue)
	}
	for _, h := range m.Hosts {
		if h == "" || len(h) > MaxHostLen || strings.ContainsAny(h, " ") {
			return fmt.Errorf("host %q is not a host (1..%d bytes, no spaces; HOST, HOST:PORT, HOST/PATH or a URL): %w", h, MaxHostLen, ErrInvalidValue)
		}
		if err := printable("host", h, false); err != nil {
			return err
		}
	}
	if len(m.Username) > maxUsernameLen {
		return fmt.Errorf("username of %d bytes is longer than %d: %w", len(m.Username), maxUsernameLen, ErrInvalidValue)
	}
	if err := printable("username", m.Username, false); err != nil {
		return err
	}
	if m.RotateEvery < 0 {
		return fmt.Errorf("rotation interval %v is negative: %w", m.RotateEvery, ErrInvalidValue)
	}
	return nil
}

// printable refuses invalid UTF-8 and control characters (tab and, when
// multiline, newline excepted), which could rewrite a terminal or a
// protocol line when the field is shown.
func printable(field, s string, multiline bool) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("%s is not valid UTF-8: %w", field, ErrInvalidValue)
	}
	for _, r := range s {
		if r == '\t' || (multiline && r == '\n') {
			continue
		}
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return fmt.Errorf("%s contains control character %q: %w", field, r, ErrInvalidValue)
		}
	}
	return nil
}
