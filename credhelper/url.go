package credhelper

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// urlParts are the pieces of a URL the credential protocol knows.
type urlParts struct {
	protocol    string
	host        string // percent-decoded, with ":port" if any
	path        string // percent-decoded, without leading or trailing '/'
	username    string
	password    string
	hasUser     bool
	hasPassword bool
}

// parseURL splits scheme://[user[:password]@]host[/path] as git's
// credential_from_url does (the first '@' before the first '/', '?' or '#'
// ends the user part), but strictly: a missing scheme or a bad %-escape is
// an error, and so is a decoded part holding LF, CR or NUL, or a host or
// scheme holding any control character. Errors never quote the URL, which
// may hold a password.
func parseURL(raw string) (urlParts, error) {
	var u urlParts
	i := strings.Index(raw, "://")
	if i <= 0 {
		return u, fmt.Errorf("no scheme: %w", ErrMalformed)
	}
	u.protocol = raw[:i]
	if hasControl(u.protocol) {
		return u, fmt.Errorf("scheme holds a control character: %w", ErrMalformed)
	}
	rest := raw[i+3:]
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	authority, tail := rest[:end], rest[end:]
	hostPart := authority
	var err error
	if at := strings.IndexByte(authority, '@'); at >= 0 {
		userinfo := authority[:at]
		hostPart = authority[at+1:]
		user, pass, hasPass := strings.Cut(userinfo, ":")
		if u.username, err = unescape(user, "user name"); err != nil {
			return u, err
		}
		u.hasUser = true
		if hasPass {
			if u.password, err = unescape(pass, "password"); err != nil {
				return u, err
			}
			u.hasPassword = true
		}
	}
	if u.host, err = unescape(hostPart, "host"); err != nil {
		return u, err
	}
	if hasControl(u.host) {
		return u, fmt.Errorf("host holds a control character: %w", ErrMalformed)
	}
	tail = strings.TrimLeft(tail, "/")
	if u.path, err = unescape(tail, "path"); err != nil {
		return u, err
	}
	u.path = strings.TrimRight(u.path, "/")
	return u, nil
}

// unescape decodes %XX escapes strictly and refuses a result holding LF,
// CR or NUL, which the protocol cannot carry.
func unescape(s, what string) (string, error) {
	if strings.IndexByte(s, '%') < 0 {
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
			return "", fmt.Errorf("%s has a bad %%-escape: %w", what, ErrMalformed)
		}
		b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
		i += 2
	}
	out := b.String()
	if strings.ContainsAny(out, "\n\r\x00") {
		return "", fmt.Errorf("%s holds an escaped line break or NUL byte: %w", what, ErrMalformed)
	}
	return out, nil
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// escape %-encodes every byte of s outside RFC 3986's unreserved set and
// keep.
func escape(s, keep string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			strings.IndexByte("-._~", c) >= 0 || strings.IndexByte(keep, c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

var errBadHost = errors.New("not a host name")

// splitHost splits "host[:port]" or "[v6addr][:port]" into a lower-cased
// host and a port normalised to decimal without leading zeros ("" when
// none). Host names may hold ASCII letters, digits, '-', '.' and '_'; a
// bracketed address hex digits, ':', '.' and a %zone. Nothing else is
// normalised: "example.com." keeps its dot.
func splitHost(hp string) (host, port string, err error) {
	if hp == "" {
		return "", "", errBadHost
	}
	var rest string
	if hp[0] == '[' {
		j := strings.IndexByte(hp, ']')
		if j < 0 {
			return "", "", errBadHost
		}
		host, rest = hp[:j+1], hp[j+1:]
		if !validV6(host[1 : len(host)-1]) {
			return "", "", errBadHost
		}
		if rest != "" && rest[0] != ':' {
			return "", "", errBadHost
		}
	} else {
		host = hp
		if i := strings.IndexByte(hp, ':'); i >= 0 {
			host, rest = hp[:i], hp[i:]
		}
		if !validHostName(host) {
			return "", "", errBadHost
		}
	}
	if rest != "" {
		p, err := parsePort(rest[1:])
		if err != nil {
			return "", "", err
		}
		port = p
	}
	return strings.ToLower(host), port, nil
}

func parsePort(s string) (string, error) {
	if s == "" || len(s) > 5 || strings.Trim(s, "0123456789") != "" {
		return "", errBadHost
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 {
		return "", errBadHost
	}
	return strconv.Itoa(n), nil
}

func validHostName(h string) bool {
	if h == "" {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

func validV6(a string) bool {
	addr, zone, hasZone := strings.Cut(a, "%")
	if addr == "" || strings.Count(addr, ":") < 2 {
		return false
	}
	for i := 0; i < len(addr); i++ {
		if c := addr[i]; !(isHex(c) || c == ':' || c == '.') {
			return false
		}
	}
	if hasZone && !validHostName(zone) {
		return false
	}
	return true
}

// hostPort joins a normalised host and port.
func hostPort(host, port string) string {
	if port == "" {
		return host
	}
	return host + ":" + port
}
