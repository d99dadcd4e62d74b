package proxy

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// target is where a request goes: scheme, host (lower case, no brackets)
// and port.
type target struct {
	scheme string
	host   string
	port   int
}

func (t target) authority() string {
	return net.JoinHostPort(t.host, strconv.Itoa(t.port))
}

// String is the host as records show it: the port only when it is not
// the scheme's own.
func (t target) String() string {
	if t.port == defaultPort(t.scheme) {
		if strings.Contains(t.host, ":") {
			return "[" + t.host + "]"
		}
		return t.host
	}
	return t.authority()
}

func defaultPort(scheme string) int {
	if scheme == "http" {
		return 80
	}
	return 443
}

// binding is one Hosts entry of a secret: a scheme, host and port, and a
// path the request's must start with ("" for any).
type binding struct {
	target
	path string
}

// parseBinding reads a Hosts entry as the credential helper does: a bare
// host means https, `http://` must be written for plain HTTP; the port is
// the scheme's unless given; a path limits the entry to requests under it.
func parseBinding(s string) (binding, error) {
	b := binding{target: target{scheme: "https"}}
	rest := s
	if sch, r, ok := strings.Cut(s, "://"); ok {
		sch = strings.ToLower(sch)
		if sch != "https" && sch != "http" {
			return b, fmt.Errorf("host %q: scheme %s: want https or http", s, sch)
		}
		b.scheme, rest = sch, r
	}
	hostport := rest
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		hostport, b.path = rest[:i], rest[i:]
	}
	t, err := parseAuthority(hostport, b.scheme)
	if err != nil {
		return b, fmt.Errorf("host %q: %w", s, err)
	}
	b.target = t
	return b, nil
}

// parseAuthority reads host[:port] for scheme.
func parseAuthority(hp, scheme string) (target, error) {
	t := target{scheme: scheme, port: defaultPort(scheme)}
	host, port, err := net.SplitHostPort(hp)
	if err != nil {
		host = strings.TrimSuffix(strings.TrimPrefix(hp, "["), "]")
	} else {
		p, err := strconv.Atoi(port)
		if err != nil || p <= 0 || p > 65535 {
			return t, fmt.Errorf("bad port %q", port)
		}
		t.port = p
	}
	if a, err := netip.ParseAddr(host); err == nil && a.Zone() == "" {
		host = a.Unmap().String()
	} else if !hostName(host) {
		return t, fmt.Errorf("bad host %q", host)
	}
	// Only ASCII case is normalised, as the credential helper does.
	t.host = strings.ToLower(host)
	return t, nil
}

// hostName says whether s is a DNS name: letters, digits, '-', '_' and
// dots, at most 253 bytes.
func hostName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// matches says whether a request to t for path falls under b.
func (b binding) matches(t target, path string) bool {
	if b.target != t {
		return false
	}
	if b.path == "" || b.path == "/" {
		return true
	}
	p := strings.TrimSuffix(b.path, "/")
	return path == p || strings.HasPrefix(path, p+"/")
}
