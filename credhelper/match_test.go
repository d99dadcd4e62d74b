package credhelper

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wsxdev/wsx/store"
)

func TestSplitHost(t *testing.T) {
	good := map[string][2]string{
		"GitHub.com":            {"github.com", ""},
		"github.com:443":        {"github.com", "443"},
		"github.com:0443":       {"github.com", "443"},
		"github.com.":           {"github.com.", ""},
		"127.0.0.1:8080":        {"127.0.0.1", "8080"},
		"[::1]":                 {"[::1]", ""},
		"[FE80::1%eth0]:65535":  {"[fe80::1%eth0]", "65535"},
		"my_host-1.example.lan": {"my_host-1.example.lan", ""},
	}
	for in, want := range good {
		h, p, err := splitHost(in)
		if err != nil || h != want[0] || p != want[1] {
			t.Errorf("splitHost(%q) = %q, %q, %v; want %q, %q", in, h, p, err, want[0], want[1])
		}
	}
	for _, in := range []string{
		"", ":443", "github.com:", "github.com:0", "github.com:65536", "github.com:+443", "github.com:44 3",
		"a:b:c", "::1", "[::1", "[::1]x", "[nothex::1]", "[:]", "git hub.com", "evil.test/github.com",
		"user@github.com", "github.com\x1b", "gíthub.com", "github.com:443:443",
	} {
		if h, p, err := splitHost(in); err == nil {
			t.Errorf("splitHost(%q) = %q, %q; want an error", in, h, p)
		}
	}
}

func TestParsePattern(t *testing.T) {
	tests := map[string]pattern{
		"github.com":                      {protocol: "https", host: "github.com"},
		"github.com:8443":                 {protocol: "https", host: "github.com", port: "8443"},
		"github.com/org/":                 {protocol: "https", host: "github.com", segs: []string{"org"}},
		"HTTP://Git.Example.com:80/a/b":   {protocol: "http", host: "git.example.com", port: "80", segs: []string{"a", "b"}},
		"https://bob@github.com/org":      {protocol: "https", host: "github.com", username: "bob", segs: []string{"org"}},
		"smtp://smtp.example.com:587":     {protocol: "smtp", host: "smtp.example.com", port: "587"},
		"https://github.com/org%2Fx/repo": {protocol: "https", host: "github.com", segs: []string{"org", "x", "repo"}},
	}
	for in, want := range tests {
		got, ok := parsePattern(in)
		if !ok || got.protocol != want.protocol || got.host != want.host || got.port != want.port ||
			got.username != want.username || !slices.Equal(got.segs, want.segs) {
			t.Errorf("parsePattern(%q) = %+v, %v; want %+v", in, got, ok, want)
		}
	}
	for _, in := range []string{
		"", "*.example.com", "https://bob:pw@github.com", "github.com/a/../b", "github.com/a//b",
		"https://", "://github.com", "github.com:x", "user@github.com",
	} {
		if got, ok := parsePattern(in); ok {
			t.Errorf("parsePattern(%q) = %+v; want refused", in, got)
		}
	}
}

func TestPatternMatch(t *testing.T) {
	tg := func(proto, host, path, user string) target {
		tt, ok := newTarget(Request{Protocol: proto, Host: host, Path: path, Username: user})
		if !ok {
			t.Fatalf("bad target %s %s", proto, host)
		}
		return tt
	}
	tests := []struct {
		pattern string
		t       target
		want    bool
	}{
		{"github.com", tg("https", "github.com", "", ""), true},
		{"github.com", tg("https", "GITHUB.COM", "any/where", "u"), true},
		{"github.com", tg("http", "github.com", "", ""), false},
		{"github.com", tg("https", "github.com.", "", ""), false},
		{"github.com", tg("https", "api.github.com", "", ""), false},
		{"github.com", tg("https", "github.com.evil.test", "", ""), false},
		{"github.com", tg("https", "evil-github.com", "", ""), false},
		{"github.com", tg("https", "github.com:443", "", ""), false},
		{"github.com:443", tg("https", "github.com", "", ""), false},
		{"github.com:443", tg("https", "github.com:443", "", ""), true},
		{"github.com/org", tg("https", "github.com", "org", ""), true},
		{"github.com/org", tg("https", "github.com", "/org/r.git/", ""), true},
		{"github.com/org", tg("https", "github.com", "org2/r.git", ""), false},
		{"github.com/org", tg("https", "github.com", "or", ""), false},
		{"github.com/org", tg("https", "github.com", "ORG/r.git", ""), false},
		{"github.com/org", tg("https", "github.com", "org/./r.git", ""), false},
		{"github.com/org", tg("https", "github.com", "org//r.git", ""), false},
		{"github.com/org", tg("https", "github.com", "", ""), false},
		{"github.com/org/r", tg("https", "github.com", "org/r.git", ""), true},
		{"github.com/org/r", tg("https", "github.com", "org/r.git/info", ""), true},
		{"github.com/org/r.git", tg("https", "github.com", "org/r", ""), false},
		{"https://bob@github.com", tg("https", "github.com", "", "alice"), false},
		{"https://bob@github.com", tg("https", "github.com", "", "bob"), true},
		{"https://bob@github.com", tg("https", "github.com", "", ""), true},
	}
	for _, tc := range tests {
		p, ok := parsePattern(tc.pattern)
		if !ok {
			t.Fatalf("pattern %q refused", tc.pattern)
		}
		if _, got, _ := p.match(tc.t); got != tc.want {
			t.Errorf("%q matching %+v = %v, want %v", tc.pattern, tc.t, got, tc.want)
		}
	}
}

func TestStoredNames(t *testing.T) {
	keys := []storedKey{
		{protocol: "https", host: "github.com", username: "alice"},
		{protocol: "https", host: "github.com", username: "bob"},
		{protocol: "https", host: "github.com:8443", username: "alice"},
		{protocol: "http", host: "github.com", username: "alice"},
		{protocol: "https", host: "github.com", path: "org/r.git", username: "alice"},
		{protocol: "https", host: "[fe80::1%eth0]:8443", path: "a b/c?d#e%f", username: "a:b@c/d e%"},
		{protocol: "smtp", host: "smtp.example.com:587", username: "x\x1by"},
		{protocol: "https", host: "github.com", username: ""},
	}
	seen := map[string]bool{}
	for _, k := range keys {
		name := k.name()
		if err := store.ValidateName(name); err != nil {
			t.Errorf("%+v: name %s: %v", k, name, err)
		}
		if store.DangerousName(name) {
			t.Errorf("%s is a dangerous name", name)
		}
		if seen[name] {
			t.Errorf("%s used twice", name)
		}
		seen[name] = true
		m := store.Meta{Name: name, Type: store.TypePassword, Hosts: []string{k.url()}, Description: k.description()}
		got, ok := storedKeyOf(m)
		if !ok || got != k {
			t.Errorf("%+v recorded as %q reads back as %+v, %v", k, k.url(), got, ok)
		}
		if strings.ContainsAny(k.url(), "\x00\r\n\x1b ") {
			t.Errorf("Hosts entry %q holds raw control characters or spaces", k.url())
		}
	}
	// Secrets that only look stored stay named secrets.
	k := keys[0]
	for _, m := range []store.Meta{
		{Name: "GIT_CREDENTIAL_WORK", Type: store.TypePassword, Hosts: []string{k.url()}},
		{Name: k.name(), Type: store.TypePassword, Hosts: []string{keys[1].url()}},
		{Name: k.name(), Type: store.TypeToken, Hosts: []string{k.url()}},
		{Name: k.name(), Type: store.TypePassword, Hosts: []string{k.url(), "evil.test"}},
		{Name: k.name(), Type: store.TypePassword, Hosts: []string{"https://github.com"}},
	} {
		if IsStored(m) {
			t.Errorf("%+v taken for a stored credential", m)
		}
	}
}

func TestSetupHelpers(t *testing.T) {
	tests := []struct{ current, want []string }{
		{nil, []string{"wsx"}},
		{[]string{"wsx"}, []string{"wsx"}},
		{[]string{"cache --timeout=60"}, []string{"wsx", "cache --timeout=60"}},
		{[]string{"other", "wsx", "store"}, []string{"wsx", "other", "store"}},
		{[]string{"wsx", "other", "!/opt/bin/git-credential-wsx get", "wsx credential"}, []string{"wsx", "other"}},
		// An empty entry resets the list: wsx must come after the last one.
		{[]string{"", "other"}, []string{"", "wsx", "other"}},
		{[]string{"old", "wsx", "", "other"}, []string{"old", "", "wsx", "other"}},
		{[]string{"other", ""}, []string{"other", "", "wsx"}},
		{[]string{"", "wsx", "other"}, []string{"", "wsx", "other"}},
	}
	for _, tc := range tests {
		if got := SetupHelpers(tc.current, "wsx"); !slices.Equal(got, tc.want) {
			t.Errorf("SetupHelpers(%q) = %q, want %q", tc.current, got, tc.want)
		}
	}
	// The absolute form replaces every earlier spelling, in its place.
	abs := HelperFor("/opt/wsx bin/wsx")
	for _, tc := range []struct{ current, want []string }{
		{[]string{"wsx", "other"}, []string{abs, "other"}},
		{[]string{"other", "/usr/bin/wsx credential", "!'/old dir/wsx' credential"}, []string{abs, "other"}},
		{[]string{"old", "", "other", "wsx"}, []string{"old", "", abs, "other"}},
		{[]string{abs, "other"}, []string{abs, "other"}},
	} {
		if got := SetupHelpers(tc.current, abs); !slices.Equal(got, tc.want) {
			t.Errorf("SetupHelpers(%q, %q) = %q, want %q", tc.current, abs, got, tc.want)
		}
	}
}

// TestHelperFor: the value git runs as it is, quoted where the shell
// would read the path; git starts the path itself (HelperProgram).
func TestHelperFor(t *testing.T) {
	for _, tc := range []struct{ exe, want string }{
		{"/usr/local/bin/wsx", "/usr/local/bin/wsx credential"},
		{"/home/al/go/bin/wsx", "/home/al/go/bin/wsx credential"},
		{"/home/al/My Tools/wsx", "!'/home/al/My Tools/wsx' credential"},
		{"/tmp/it's/wsx", `!'/tmp/it'\''s/wsx' credential`},
		{"/opt/$HOME/wsx", "!'/opt/$HOME/wsx' credential"},
	} {
		h := HelperFor(tc.exe)
		if h != tc.want {
			t.Errorf("HelperFor(%q) = %q, want %q", tc.exe, h, tc.want)
		}
		if p := HelperProgram(h); p != tc.exe {
			t.Errorf("HelperProgram(%q) = %q, want %q", h, p, tc.exe)
		}
		if !IsWSX(h) {
			t.Errorf("IsWSX(%q) = false", h)
		}
	}
	// git-credential-wsx beside wsx is the helper, quoted alike.
	dir := filepath.Join(t.TempDir(), "My Tools")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	lean := filepath.Join(dir, "git-credential-wsx")
	if err := os.WriteFile(lean, []byte("#!/bin/sh\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if h := HelperFor(filepath.Join(dir, "wsx")); !strings.HasSuffix(h, "/wsx' credential") {
		t.Errorf("HelperFor beside a git-credential-wsx that cannot run = %q, want wsx", h)
	}
	if err := os.Chmod(lean, 0o700); err != nil {
		t.Fatal(err)
	}
	h := HelperFor(filepath.Join(dir, "wsx"))
	if want := "!'" + lean + "'"; h != want {
		t.Errorf("HelperFor beside git-credential-wsx = %q, want %q", h, want)
	}
	if p := HelperProgram(h); p != lean || !IsWSX(h) {
		t.Errorf("HelperProgram(%q) = %q, IsWSX %v; want %q, true", h, p, IsWSX(h), lean)
	}
	for _, tc := range []struct{ h, want string }{
		{"wsx", "git-credential-wsx"},
		{"cache --timeout=60", "git-credential-cache"},
		{"!wsx credential", "wsx"},
		{`!"/a \"b\"/wsx" credential`, `/a "b"/wsx`},
		{`!/a\ b/wsx credential`, "/a b/wsx"},
		{"/usr/lib/git-core/git-credential-store --file x", "/usr/lib/git-core/git-credential-store"},
	} {
		if p := HelperProgram(tc.h); p != tc.want {
			t.Errorf("HelperProgram(%q) = %q, want %q", tc.h, p, tc.want)
		}
	}
}

func TestEffectiveHelpers(t *testing.T) {
	if got := EffectiveHelpers([]string{"a", "", "b", "c"}); !slices.Equal(got, []string{"b", "c"}) {
		t.Errorf("EffectiveHelpers = %q", got)
	}
	if got := EffectiveHelpers([]string{"a", "b"}); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("EffectiveHelpers without reset = %q", got)
	}
	if got := EffectiveHelpers([]string{"a", ""}); len(got) != 0 {
		t.Errorf("EffectiveHelpers after a final reset = %q", got)
	}
}

func TestHelperKinds(t *testing.T) {
	wsx := []string{"wsx", "wsx credential", "/usr/local/bin/wsx credential", "!wsx credential",
		"git-credential-wsx", "/opt/git-credential-wsx", "!'/opt/my tools/wsx' credential", `!"/opt/my tools/wsx" credential`}
	notWSX := []string{"wsxx", "store", "", "/opt/notwsx", "manager-wsx", "!'/opt/wsx/other' credential"}
	for _, h := range wsx {
		if !IsWSX(h) {
			t.Errorf("IsWSX(%q) = false", h)
		}
	}
	for _, h := range notWSX {
		if IsWSX(h) {
			t.Errorf("IsWSX(%q) = true", h)
		}
	}
	store := []string{"store", "store --file ~/.creds", "/usr/lib/git-core/git-credential-store",
		"!git credential-store --file x"}
	notStore := []string{"cache", "wsx", "", "storex"}
	for _, h := range store {
		if !IsPlaintextStore(h) {
			t.Errorf("IsPlaintextStore(%q) = false", h)
		}
	}
	for _, h := range notStore {
		if IsPlaintextStore(h) {
			t.Errorf("IsPlaintextStore(%q) = true", h)
		}
	}
}
