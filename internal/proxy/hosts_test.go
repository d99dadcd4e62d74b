package proxy

import "testing"

// A Hosts entry binds as the credential helper matches: https unless
// http:// is written, the scheme's port unless one is given, ASCII case
// folded, a path limiting the entry to what is under it; look-alikes do
// not match (SECURITY.md 16).
func TestBindingMatches(t *testing.T) {
	cases := []struct {
		entry, scheme, authority, path string
		ok                             bool
	}{
		{"api.github.com", "https", "api.github.com:443", "/user", true},
		{"API.GitHub.com", "https", "api.github.com:443", "/user", true},
		{"api.github.com", "http", "api.github.com:80", "/user", false},
		{"api.github.com", "https", "api.github.com:8443", "/user", false},
		{"api.github.com", "https", "api.github.com.evil.test:443", "/", false},
		{"api.github.com", "https", "evil-api.github.com:443", "/", false},
		{"api.github.com", "https", "api.github.com.:443", "/", false},
		{"https://127.0.0.1:8443", "https", "127.0.0.1:8443", "/", true},
		{"http://127.0.0.1:8080", "http", "127.0.0.1:8080", "/x", true},
		{"http://127.0.0.1:8080", "https", "127.0.0.1:8080", "/x", false},
		{"github.com/org", "https", "github.com:443", "/org/repo.git/info/refs", true},
		{"github.com/org", "https", "github.com:443", "/org", true},
		{"github.com/org", "https", "github.com:443", "/organisation/x", false},
		{"github.com/org/", "https", "github.com:443", "/other/x", false},
		{"[::1]:8443", "https", "[::1]:8443", "/", true},
	}
	for _, c := range cases {
		b, err := parseBinding(c.entry)
		if err != nil {
			t.Fatalf("parseBinding(%q): %v", c.entry, err)
		}
		tg, err := parseAuthority(c.authority, c.scheme)
		if err != nil {
			t.Fatalf("parseAuthority(%q): %v", c.authority, err)
		}
		if got := b.matches(tg, c.path); got != c.ok {
			t.Errorf("%q matches %s://%s%s = %v, want %v", c.entry, c.scheme, c.authority, c.path, got, c.ok)
		}
	}
	for _, bad := range []string{"ftp://host", "", "host:0", "host:x", "a b", "user@host"} {
		if _, err := parseBinding(bad); err == nil {
			t.Errorf("parseBinding(%q) accepted", bad)
		}
	}
}
