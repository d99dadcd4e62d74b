package credhelper

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/wsxdev/wsx/store"
)

// target is where git wants to log in, normalised from a request.
type target struct {
	protocol string // lower case
	host     string // lower case, without port
	port     string // "" when git sent none
	path     string // without leading or trailing '/'
	segs     []string
	pathOK   bool // path has no empty, "." or ".." segment
	username string
}

// newTarget normalises a request's target. It reports false when the
// protocol or host is missing or empty, or the host is not a host name:
// such requests get no answer.
func newTarget(r Request) (target, bool) {
	if r.Protocol == "" || r.Host == "" {
		return target{}, false
	}
	host, port, err := splitHost(r.Host)
	if err != nil {
		return target{}, false
	}
	t := target{
		protocol: strings.ToLower(r.Protocol),
		host:     host,
		port:     port,
		path:     strings.Trim(r.Path, "/"),
		username: r.Username,
	}
	t.segs, t.pathOK = splitPath(t.path)
	return t, true
}

// hostPort is the normalised "host[:port]".
func (t target) hostPort() string { return hostPort(t.host, t.port) }

// splitPath splits a path into segments and reports whether every segment
// is a plain name (not empty, "." or ".."). An empty path has no segments.
func splitPath(p string) ([]string, bool) {
	if p == "" {
		return nil, true
	}
	segs := strings.Split(p, "/")
	for _, s := range segs {
		if s == "" || s == "." || s == ".." {
			return segs, false
		}
	}
	return segs, true
}

// pattern is one Hosts entry of a named secret.
type pattern struct {
	protocol string
	host     string
	port     string
	segs     []string // path prefix segments
	username string
}

// parsePattern reads a Hosts entry: `host`, `host:port`, `host/path`, or
// `scheme://[user@]host[:port][/path]`. An entry without a scheme is for
// https. It reports false for an entry it cannot read; such an entry
// matches nothing.
func parsePattern(s string) (pattern, bool) {
	var p pattern
	var hp, path string
	if strings.Contains(s, "://") {
		u, err := parseURL(s)
		if err != nil || u.hasPassword || u.protocol == "" {
			return p, false
		}
		p.protocol = strings.ToLower(u.protocol)
		p.username = u.username
		hp, path = u.host, u.path
	} else {
		p.protocol = "https"
		hp, path, _ = strings.Cut(s, "/")
		path = strings.TrimRight(path, "/")
	}
	host, port, err := splitHost(hp)
	if err != nil {
		return p, false
	}
	p.host, p.port = host, port
	segs, ok := splitPath(path)
	if !ok {
		return p, false
	}
	p.segs = segs
	return p, true
}

// rank orders matches: more path segments, then an explicit port, then an
// explicit user name.
type rank struct{ path, port, user int }

func (a rank) compare(b rank) int {
	if c := cmp.Compare(a.path, b.path); c != 0 {
		return c
	}
	if c := cmp.Compare(a.port, b.port); c != 0 {
		return c
	}
	return cmp.Compare(a.user, b.user)
}

// match reports whether p covers t, and how specifically. needsPath is
// set when p matches t except that git sent no path, to explain a miss.
func (p pattern) match(t target) (r rank, ok, needsPath bool) {
	if p.protocol != t.protocol || p.host != t.host || p.port != t.port {
		return r, false, false
	}
	if p.username != "" && t.username != "" && p.username != t.username {
		return r, false, false
	}
	if len(p.segs) > 0 {
		if t.path == "" {
			return r, false, true
		}
		if !t.pathOK || !pathUnder(t.segs, p.segs) {
			return r, false, false
		}
	}
	r.path = len(p.segs)
	if p.port != "" {
		r.port = 1
	}
	if p.username != "" {
		r.user = 1
	}
	return r, true, false
}

// pathUnder reports whether path lies under prefix, segment by segment; a
// last prefix segment "repo" also covers "repo.git".
func pathUnder(path, prefix []string) bool {
	if len(path) < len(prefix) {
		return false
	}
	for i, s := range prefix {
		if path[i] == s {
			continue
		}
		if i == len(prefix)-1 && path[i] == s+".git" {
			continue
		}
		return false
	}
	return true
}

// candidate is a secret that may answer a request.
type candidate struct {
	meta     store.Meta
	stored   bool
	username string // to send; "" sends none
	rank     rank
}

// usernameConventions are the user names hosts expect with a token.
var usernameConventions = sync.OnceValue(func() map[string]string {
	return map[string]string{
		"github.com": "x-access-token",
		"gitlab.com": "oauth2",
	}
})

// fallbackTokenUser is sent with a token for hosts without a convention.
const fallbackTokenUser = "x-access-token"

// namedCandidate reports whether the named secret m answers t, with the
// user name to send. needsPath is set when only a missing path kept a
// Hosts entry from matching.
func namedCandidate(m store.Meta, t target) (c candidate, ok, needsPath bool) {
	if m.Type != store.TypeToken && m.Type != store.TypePassword {
		return c, false, false
	}
	if m.Username != "" && t.username != "" && m.Username != t.username {
		return c, false, false
	}
	best := rank{-1, 0, 0}
	var bestPattern pattern
	for _, h := range m.Hosts {
		p, good := parsePattern(h)
		if !good {
			continue
		}
		r, hit, np := p.match(t)
		needsPath = needsPath || np
		if hit && r.compare(best) > 0 {
			best, bestPattern = r, p
		}
	}
	if best.path < 0 {
		return c, false, needsPath
	}
	c = candidate{meta: m, rank: best}
	switch {
	case m.Username != "":
		c.username = m.Username
		c.rank.user = 1
	case bestPattern.username != "":
		c.username = bestPattern.username
	case t.username != "":
		c.username = t.username
	case m.Type == store.TypeToken:
		c.username = usernameConventions()[t.host]
		if c.username == "" {
			c.username = fallbackTokenUser
		}
	}
	return c, true, false
}

// storedMatch reports whether the stored credential k answers t the way
// git's store helper matches: protocol and host always, path and user name
// when the request carries them.
func storedMatch(k storedKey, t target) bool {
	if k.protocol != t.protocol || k.host != t.hostPort() {
		return false
	}
	if t.path != "" && k.path != t.path {
		return false
	}
	if t.username != "" && k.username != t.username {
		return false
	}
	return true
}

// candidates lists the secrets that may answer t: named secrets first,
// most specific first, then by name; then stored credentials, most
// recently updated first. needsPath names path-limited named secrets that
// matched except for the path git did not send.
func candidates(metas []store.Meta, t target) (named, stored []candidate, needsPath []string) {
	for _, m := range metas {
		if k, ok := storedKeyOf(m); ok {
			if storedMatch(k, t) {
				stored = append(stored, candidate{meta: m, stored: true, username: k.username})
			}
			continue
		}
		c, ok, np := namedCandidate(m, t)
		if ok {
			named = append(named, c)
		} else if np {
			needsPath = append(needsPath, m.Name)
		}
	}
	slices.SortStableFunc(named, func(a, b candidate) int {
		if c := b.rank.compare(a.rank); c != 0 {
			return c
		}
		return strings.Compare(a.meta.Name, b.meta.Name)
	})
	slices.SortStableFunc(stored, func(a, b candidate) int {
		if c := b.meta.Updated.Compare(a.meta.Updated); c != 0 {
			return c
		}
		return strings.Compare(a.meta.Name, b.meta.Name)
	})
	return named, stored, needsPath
}

// schemeMiss explains why no named secret answered t when one would have
// but for the scheme: the usual case is a secret added with `--host
// 127.0.0.1:8088` (https only) asked for over plain http. The matching
// rule stays; the note names the secret, the entry and the `wsx set`
// that allows the other scheme, keeping the secret's other hosts. ok is
// false when no secret misses only by its scheme.
func schemeMiss(metas []store.Meta, t target) (note string, ok bool) {
	if t.protocol != "http" && t.protocol != "https" {
		return "", false
	}
	for _, m := range metas {
		if m.Type != store.TypeToken && m.Type != store.TypePassword || IsStored(m) {
			continue
		}
		if m.Username != "" && t.username != "" && m.Username != t.username {
			continue
		}
		for i, h := range m.Hosts {
			p, good := parsePattern(h)
			if !good || p.protocol == t.protocol {
				continue
			}
			scheme := p.protocol
			p.protocol = t.protocol
			if _, hit, _ := p.match(t); !hit {
				continue
			}
			rest, why := h, " (a --host without a scheme means https)"
			if _, after, found := strings.Cut(h, "://"); found {
				rest, why = after, ""
			}
			fix := "wsx set " + m.Name
			for j, other := range m.Hosts {
				if j == i {
					other = t.protocol + "://" + rest
				}
				fix += " --host " + other
			}
			return fmt.Sprintf("%s is for %s://%s only%s, so it was not sent over %s; to allow %s, run `%s`",
				m.Name, scheme, rest, why, t.protocol, t.protocol, fix), true
		}
	}
	return "", false
}
