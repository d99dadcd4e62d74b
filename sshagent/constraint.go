package sshagent

import (
	"bytes"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// maxDestConstraints bounds the constraints on one key, as ssh-agent.
const maxDestConstraints = 1024

// destConstraint is one restrict-destination-v00@openssh.com rule: the key
// may be used from the "from" hop to authenticate to the "to" hop.
type destConstraint struct {
	from, to hop
}

// hop names a host by name and by the keys (or CA keys) that may
// authenticate it. An empty "from" hop is the machine running the agent.
type hop struct {
	user     string
	hostname string
	keys     []hopKey
}

type hopKey struct {
	key  ssh.PublicKey
	isCA bool
}

var errMalformed = errors.New("malformed")

// reader decodes SSH wire types; the first failure sticks.
type reader struct {
	b   []byte
	err error
}

func (r *reader) string() []byte {
	if r.err != nil {
		return nil
	}
	if len(r.b) < 4 {
		r.err = errMalformed
		return nil
	}
	n := binary.BigEndian.Uint32(r.b)
	if uint64(n) > uint64(len(r.b)-4) {
		r.err = errMalformed
		return nil
	}
	s := r.b[4 : 4+n]
	r.b = r.b[4+n:]
	return s
}

// cstring is a string that must not contain NUL, as OpenSSH's
// sshbuf_get_cstring requires.
func (r *reader) cstring() string {
	s := r.string()
	if bytes.IndexByte(s, 0) >= 0 {
		r.err = errMalformed
	}
	return string(s)
}

func (r *reader) byte() byte {
	if r.err != nil {
		return 0
	}
	if len(r.b) < 1 {
		r.err = errMalformed
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

// done reports whether everything parsed and nothing is left.
func (r *reader) done() bool { return r.err == nil && len(r.b) == 0 }

// parseDestConstraints parses the details of a restrict-destination
// constraint: a sequence of strings, each holding one constraint. An empty
// list is refused: the client asked for a restriction, and a key without
// one would be usable anywhere.
func parseDestConstraints(details []byte) ([]destConstraint, error) {
	r := reader{b: details}
	var out []destConstraint
	for r.err == nil && len(r.b) > 0 {
		if len(out) >= maxDestConstraints {
			return nil, fmt.Errorf("more than %d destination constraints: %w", maxDestConstraints, ErrConstraint)
		}
		d, err := parseDestConstraint(r.string())
		if r.err != nil {
			break
		}
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	if r.err != nil {
		return nil, fmt.Errorf("malformed destination constraint: %w", ErrConstraint)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("empty destination constraint: %w", ErrConstraint)
	}
	return out, nil
}

func parseDestConstraint(b []byte) (destConstraint, error) {
	r := reader{b: b}
	from, to, ext := r.string(), r.string(), r.string()
	if !r.done() {
		return destConstraint{}, fmt.Errorf("malformed destination constraint: %w", ErrConstraint)
	}
	if len(ext) != 0 {
		return destConstraint{}, fmt.Errorf("destination constraint extensions: %w", ErrConstraint)
	}
	var d destConstraint
	var err error
	if d.from, err = parseHop(from); err != nil {
		return destConstraint{}, err
	}
	if d.to, err = parseHop(to); err != nil {
		return destConstraint{}, err
	}
	if (d.from.hostname == "") != (len(d.from.keys) == 0) || d.from.user != "" {
		return destConstraint{}, fmt.Errorf("inconsistent \"from\" in destination constraint: %w", ErrConstraint)
	}
	if d.to.hostname == "" || len(d.to.keys) == 0 {
		return destConstraint{}, fmt.Errorf("incomplete \"to\" in destination constraint: %w", ErrConstraint)
	}
	return d, nil
}

func parseHop(b []byte) (hop, error) {
	r := reader{b: b}
	h := hop{user: r.cstring(), hostname: r.cstring()}
	ext := r.string()
	if r.err != nil {
		return hop{}, fmt.Errorf("malformed destination hop: %w", ErrConstraint)
	}
	if len(ext) != 0 {
		return hop{}, fmt.Errorf("destination hop extensions: %w", ErrConstraint)
	}
	for r.err == nil && len(r.b) > 0 {
		blob := r.string()
		isCA := r.byte()
		if r.err != nil {
			break
		}
		k, err := ssh.ParsePublicKey(blob)
		if err != nil {
			return hop{}, fmt.Errorf("destination host key: %w", ErrConstraint)
		}
		h.keys = append(h.keys, hopKey{key: k, isCA: isCA != 0})
	}
	if r.err != nil {
		return hop{}, fmt.Errorf("malformed destination hop: %w", ErrConstraint)
	}
	return h, nil
}

func sameKey(a, b ssh.PublicKey) bool {
	return bytes.Equal(a.Marshal(), b.Marshal())
}

// matchHop reports whether key authenticates the hop: it is one of the
// hop's keys, or a host certificate for the hop's name from one of its CAs.
func matchHop(key ssh.PublicKey, h hop) bool {
	cert, isCert := key.(*ssh.Certificate)
	for _, hk := range h.keys {
		if !isCert {
			if !hk.isCA && sameKey(key, hk.key) {
				return true
			}
			continue
		}
		if !hk.isCA || !sameKey(cert.SignatureKey, hk.key) {
			continue
		}
		if hostCertValid(cert, h.hostname) {
			return true
		}
	}
	return false
}

func hostCertValid(cert *ssh.Certificate, hostname string) bool {
	if cert.CertType != ssh.HostCert || hostname == "" {
		return false
	}
	checker := ssh.CertChecker{Clock: time.Now}
	return checker.CheckCert(hostname, cert) == nil
}

// permittedBy reports whether one of the constraints allows the hop from
// "from" (nil: this machine) to "to" (nil: anywhere) for user (nil: any),
// and returns the matched constraint's destination hostname.
func permittedBy(dests []destConstraint, from, to ssh.PublicKey, user *string) (string, bool) {
	for _, d := range dests {
		if from == nil {
			if d.from.hostname != "" || len(d.from.keys) != 0 {
				continue
			}
		} else if !matchHop(from, d.from) {
			continue
		}
		if to != nil && !matchHop(to, d.to) {
			continue
		}
		if d.to.user != "" && user != nil && !matchPattern(*user, d.to.user) {
			continue
		}
		return d.to.hostname, true
	}
	return "", false
}

// permitted reports whether a key with these constraints may be seen (user
// nil) or used to sign for user over a connection with these bindings, and
// returns the hostname of the final hop. Keys without constraints and
// connections without bindings (local use) are always permitted here;
// signing on an unbound connection is refused by checkDestSign.
func permitted(dests []destConstraint, binds []binding, user *string) (string, bool) {
	if len(dests) == 0 || len(binds) == 0 {
		return "", true
	}
	var from ssh.PublicKey
	host := ""
	for i, b := range binds {
		last := i == len(binds)-1
		var testUser *string
		if last {
			testUser = user
			if b.forwarded && user != nil {
				return "", false // signing on a forwarding hop
			}
		} else if !b.forwarded {
			return "", false // forwarding through an authentication binding
		}
		h, ok := permittedBy(dests, from, b.hostKey, testUser)
		if !ok {
			return "", false
		}
		if last {
			host = h
		}
		from = b.hostKey
	}
	// A key visible at the last forwarding hop must also be usable beyond it.
	if last := binds[len(binds)-1]; last.forwarded && user == nil {
		if _, ok := permittedBy(dests, last.hostKey, nil, nil); !ok {
			return "", false
		}
	}
	return host, true
}

// checkDestSign applies ssh-agent's rules for a destination-constrained
// key: the connection must be bound, the data must be a userauth request
// for this key in the most recently bound session, and the path of hosts
// must be allowed. It returns the destination for the audit record.
func checkDestSign(id *identity, binds []binding, data []byte) (string, error) {
	if len(binds) == 0 {
		return "", fmt.Errorf("connection not bound to a host: %w", ErrDestination)
	}
	ua, err := parseUserauth(data, id.pub)
	if err != nil {
		return "", fmt.Errorf("not a user authentication request: %w", ErrDestination)
	}
	host, ok := permitted(id.dests, binds, &ua.user)
	if !ok {
		return "", ErrDestination
	}
	last := binds[len(binds)-1]
	if subtle.ConstantTimeCompare(ua.sid, last.sid) != 1 {
		return "", fmt.Errorf("session identifier is not the bound one: %w", ErrDestination)
	}
	if len(binds) > 1 && ua.hostKey == nil {
		return "", fmt.Errorf("no host key in request on a forwarded connection: %w", ErrDestination)
	}
	if ua.hostKey != nil && !sameKey(ua.hostKey, last.hostKey) {
		return "", fmt.Errorf("host key in request is not the bound one: %w", ErrDestination)
	}
	return ua.user + "@" + host, nil
}

// boundDest describes the destination of a signature on a bound
// connection for an unconstrained key: the user asked for, when the data
// is a userauth request, and the bound host key's fingerprint.
func boundDest(binds []binding, pub ssh.PublicKey, data []byte) string {
	host := ssh.FingerprintSHA256(binds[len(binds)-1].hostKey)
	if ua, err := parseUserauth(data, pub); err == nil {
		return printable(ua.user, 64) + "@" + host
	}
	return host
}

type userauth struct {
	user    string
	sid     []byte
	hostKey ssh.PublicKey // publickey-hostbound-v00@openssh.com only
}

// parseUserauth parses data as the SSH_MSG_USERAUTH_REQUEST a client signs
// for public key authentication with key want (RFC 4252 section 7).
func parseUserauth(data []byte, want ssh.PublicKey) (userauth, error) {
	r := reader{b: data}
	var ua userauth
	ua.sid = r.string()
	msg := r.byte()
	ua.user = r.cstring()
	service := r.cstring()
	method := r.cstring()
	sigFollows := r.byte()
	alg := r.cstring()
	keyBlob := r.string()
	if r.err != nil || len(ua.sid) == 0 || msg != msgUserauthRequest || sigFollows != 1 ||
		service != "ssh-connection" || !bytes.Equal(keyBlob, want.Marshal()) ||
		keyTypeOfAlgorithm(alg) != want.Type() {
		return userauth{}, errMalformed
	}
	switch method {
	case "publickey":
	case "publickey-hostbound-v00@openssh.com":
		hk, err := ssh.ParsePublicKey(r.string())
		if err != nil {
			return userauth{}, errMalformed
		}
		ua.hostKey = hk
	default:
		return userauth{}, errMalformed
	}
	if !r.done() {
		return userauth{}, errMalformed
	}
	return ua, nil
}

// keyTypeOfAlgorithm maps a signature algorithm to its key type.
func keyTypeOfAlgorithm(alg string) string {
	switch alg {
	case ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSASHA512:
		return ssh.KeyAlgoRSA
	case ssh.CertAlgoRSASHA256v01, ssh.CertAlgoRSASHA512v01:
		return ssh.CertAlgoRSAv01
	}
	return alg
}

// matchPattern matches s against an OpenSSH pattern where '*' matches any
// run of characters and '?' any one character.
func matchPattern(s, pattern string) bool {
	si, pi := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		switch {
		case pi < len(pattern) && (pattern[pi] == '?' || pattern[pi] == s[si]):
			si++
			pi++
		case pi < len(pattern) && pattern[pi] == '*':
			star, mark = pi, si
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(pattern) && pattern[pi] == '*' {
		pi++
	}
	return pi == len(pattern)
}

// printable returns s shortened to max bytes with control characters
// replaced, for messages and prompts.
func printable(s string, max int) string {
	if len(s) > max {
		s = s[:max] + "..."
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return '?'
		}
		return r
	}, s)
}
