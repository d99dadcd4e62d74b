package manifest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wsxdev/wsx/store"
)

const goodManifest = `# secrets this project needs
[[secret]]
name = "GITHUB_TOKEN"
type = "token"
description = "GitHub API token, repo scope"
hosts = ["github.com"]

[[secret]]
name = "DATABASE_PASSWORD"
type = "password"

[[secret]]
name = "SENTRY_DSN"
description = "error reporting"
required = false

[[secret]]
name = "GITHUB_DEPLOY_TOKEN"
env = "GH_TOKEN"
`

func TestParseManifest(t *testing.T) {
	m, err := Parse("wsx.toml", []byte(goodManifest))
	if err != nil {
		t.Fatal(err)
	}
	want := []Secret{
		{Name: "GITHUB_TOKEN", Type: store.TypeToken, Description: "GitHub API token, repo scope", Hosts: []string{"github.com"}, Required: true, Line: 2},
		{Name: "DATABASE_PASSWORD", Type: store.TypePassword, Required: true, Line: 8},
		{Name: "SENTRY_DSN", Type: store.TypeToken, Description: "error reporting", Required: false, Line: 12},
		{Name: "GITHUB_DEPLOY_TOKEN", Type: store.TypeToken, Required: true, Line: 17, Env: "GH_TOKEN"},
	}
	if !reflect.DeepEqual(m.Secrets, want) {
		t.Errorf("parsed:\n%+v\nwant\n%+v", m.Secrets, want)
	}
	if got := m.Renames(); !reflect.DeepEqual(got, map[string]string{"GITHUB_DEPLOY_TOKEN": "GH_TOKEN"}) {
		t.Errorf("Renames = %v", got)
	}
	missing, present := m.Missing([]string{"SENTRY_DSN", "DATABASE_PASSWORD", "OTHER", "GITHUB_DEPLOY_TOKEN"})
	if len(missing) != 1 || missing[0].Name != "GITHUB_TOKEN" || !reflect.DeepEqual(present, []string{"DATABASE_PASSWORD", "SENTRY_DSN", "GITHUB_DEPLOY_TOKEN"}) {
		t.Errorf("missing %v present %v", missing, present)
	}
	if m, err := Parse("wsx.toml", []byte("# nothing yet\n")); err != nil || len(m.Secrets) != 0 {
		t.Errorf("empty manifest: %v", err)
	}
}

func TestParseManifestErrors(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string // each must appear in the error
	}{
		{"malformed", "[[secret]]\nname = \"A_TOKEN\"\ntype = token\n", []string{"wsx.toml:3: malformed TOML"}},
		{"unclosed table", "[[secret]\nname = \"A_TOKEN\"\n", []string{"wsx.toml:1: malformed TOML"}},
		{"duplicate key", "[[secret]]\nname = \"A_TOKEN\"\nname = \"B_TOKEN\"\n", []string{"wsx.toml:3: malformed TOML"}},
		{"wrong value type", "[[secret]]\nname = \"A_TOKEN\"\nrequired = \"yes\"\n", []string{"wsx.toml:3: secret.required: a TOML string is not true or false"}},
		{"wrong list type", "[[secret]]\nname = \"A_TOKEN\"\n\nhosts = [1]\n", []string{"wsx.toml:4: secret.hosts: a TOML integer is not a list of strings"}},
		{"provider not a table", "provider = { vault = 1 }\n", []string{"wsx.toml:1: provider: a TOML integer is not [provider.NAME] tables"}},
		{"unknown keys in order", "[[secret]]\nname = \"A_TOKEN\"\nzeta = 1\nalpha = { deep = 2 }\n",
			[]string{"wsx.toml:3: unknown key \"secret.zeta\"", "\nwsx.toml:4: unknown key \"secret.alpha\"", "\nwsx.toml:4: unknown key \"secret.alpha.deep\""}},
		{"unknown type", "[[secret]]\nname = \"A_TOKEN\"\n\n[[secret]]\nname = \"B_TOKEN\"\ntype = \"banana\"\n",
			[]string{"wsx.toml:4: secret \"B_TOKEN\": unknown type \"banana\" (token, password, key or file)"}},
		{"duplicate names", "[[secret]]\nname = \"A_TOKEN\"\n[[secret]]\nname = \"a_token\"\n",
			[]string{"wsx.toml:3: secret \"a_token\" is declared twice: also as A_TOKEN (line 1)"}},
		{"dangerous", "[[secret]]\nname = \"NODE_OPTIONS\"\n", []string{"wsx.toml:1: NODE_OPTIONS would change how programs run"}},
		{"dangerous prefix", "[[secret]]\nname = \"LD_PRELOAD\"\n", []string{"wsx.toml:1: LD_PRELOAD"}},
		{"invalid name", "[[secret]]\nname = \"A-B\"\n", []string{"wsx.toml:1:", "contains '-'"}},
		{"no name", "[[secret]]\ntype = \"token\"\n", []string{"wsx.toml:1: secret #1 has no name"}},
		{"unknown key", "[[secret]]\nname = \"A_TOKEN\"\nvalue = \"x\"\n", []string{"wsx.toml:3: unknown key \"secret.value\""}},
		{"key in other case", "[[secret]]\nName = \"A_TOKEN\"\n", []string{"wsx.toml:2: unknown key \"secret.Name\""}},
		{"unknown top level", "version = 2\n[[secret]]\nname = \"A_TOKEN\"\n", []string{"wsx.toml:1: unknown key \"version\""}},
		{"nested table", "[[secret]]\nname = \"A_TOKEN\"\n[secret.extra]\nx = 1\n", []string{"unknown key \"secret.extra\""}},
		{"not an array", "secret = \"A_TOKEN\"\n", []string{"wsx.toml:1: secret: a TOML string is not [[secret]] tables"}},
		{"control char", "[[secret]]\nname = \"A_TOKEN\"\ndescription = \"a\\u001b[2Jb\"\n", []string{"wsx.toml:1:", "control character"}},
		{"bad host", "[[secret]]\nname = \"A_TOKEN\"\nhosts = [\"a b\"]\n", []string{"wsx.toml:1:", "is not a host"}},
		{"two problems", "[[secret]]\nname = \"PATH\"\n[[secret]]\nname = \"B_TOKEN\"\ntype = \"x\"\n",
			[]string{"wsx.toml:1: PATH", "\nwsx.toml:3: secret \"B_TOKEN\": unknown type"}},
		{"dangerous env", "[[secret]]\nname = \"A_TOKEN\"\nenv = \"BASH_ENV\"\n", []string{"wsx.toml:1: secret \"A_TOKEN\": env BASH_ENV would change how programs run"}},
		{"invalid env", "[[secret]]\nname = \"A_TOKEN\"\nenv = \"GH-TOKEN\"\n", []string{"wsx.toml:1: secret \"A_TOKEN\": env", "contains '-'"}},
		{"env of another name", "[[secret]]\nname = \"A_TOKEN\"\n[[secret]]\nname = \"B_TOKEN\"\nenv = \"A_TOKEN\"\n",
			[]string{"wsx.toml:3: secret \"B_TOKEN\": env A_TOKEN is also the variable of A_TOKEN (line 1)"}},
		{"env of a later name", "[[secret]]\nname = \"B_TOKEN\"\nenv = \"A_TOKEN\"\n[[secret]]\nname = \"A_TOKEN\"\n",
			[]string{"wsx.toml:1: secret \"B_TOKEN\": env A_TOKEN is also the variable of A_TOKEN (line 4)"}},
		{"two of one env", "[[secret]]\nname = \"A_TOKEN\"\nenv = \"C_TOKEN\"\n[[secret]]\nname = \"B_TOKEN\"\nenv = \"C_TOKEN\"\n",
			[]string{"wsx.toml:4: secret \"B_TOKEN\": env C_TOKEN is also the variable of A_TOKEN (line 1)"}},
		{"not utf-8", "[[secret]]\nname = \"\xff\"\n", []string{"not valid UTF-8"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("wsx.toml", []byte(tt.in))
			if err == nil {
				t.Fatal("accepted")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not match ErrInvalid", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(goodManifest))
	f.Add([]byte("[[secret]]\nname = \"A_TOKEN\"\ntype = token\n"))
	f.Add([]byte("secret = [{name = \"A_TOKEN\", hosts = [\"a\"]}]\n"))
	f.Add([]byte("[[secret]]\nName = \"A\"\nname = \"B\"\n"))
	f.Add([]byte("[[secret]]\nname = \"A_TOKEN\"\ndescription = '''\nx\n'''\n"))
	f.Add([]byte(strings.Repeat("[[secret]]\n", 50)))
	f.Add([]byte("[[secret]]\nname = \"A_TOKEN\"\nenv = \"B_TOKEN\"\n[[secret]]\nname = \"B_TOKEN\"\nenv = \"A_TOKEN\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse("wsx.toml", data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not match ErrInvalid: %v", err)
			}
			return
		}
		// What parses is valid and safe to print and to put in a shell
		// command.
		seen := map[string]bool{}
		for _, sec := range m.Secrets {
			if store.ValidateName(sec.Name) != nil || store.DangerousName(sec.Name) || seen[strings.ToUpper(sec.Name)] {
				t.Fatalf("accepted name %q", sec.Name)
			}
			seen[strings.ToUpper(sec.Name)] = true
			if _, err := store.ParseType(string(sec.Type)); err != nil {
				t.Fatalf("accepted type %q", sec.Type)
			}
			if checkManifestText(sec.Description, store.MaxDescLen) != nil {
				t.Fatalf("accepted description %q", sec.Description)
			}
		}
		vars := map[string]bool{}
		for _, sec := range m.Secrets {
			v := sec.Var()
			if store.ValidateName(v) != nil || store.DangerousName(v) || vars[strings.ToUpper(v)] {
				t.Fatalf("accepted variable %q for %s", v, sec.Name)
			}
			vars[strings.ToUpper(v)] = true
		}
	})
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"github.com":  "github.com",
		"":            "''",
		"a b":         "'a b'",
		"it's":        `'it'\''s'`,
		"$(rm -rf /)": "'$(rm -rf /)'",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %q, want %q", in, got, want)
		}
	}
	sec := Secret{Name: "DEPLOY_KEY", Type: store.TypeKey, Description: "deploy key", Hosts: []string{"github.com"}}
	if got, want := AddCommand(sec), "wsx add DEPLOY_KEY --type key --description 'deploy key' --host github.com --from-file PATH"; got != want {
		t.Errorf("AddCommand = %q, want %q", got, want)
	}
}

func TestFindManifest(t *testing.T) {
	root := t.TempDir()
	repo := filepath.Join(root, "repo")
	deep := filepath.Join(repo, "a", "b")
	if err := os.MkdirAll(filepath.Join(repo, ".git"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(deep, 0o700); err != nil {
		t.Fatal(err)
	}
	// Above the git root: not looked at.
	if err := os.WriteFile(filepath.Join(root, Name), []byte(goodManifest), 0o600); err != nil {
		t.Fatal(err)
	}
	if p, found, err := Find(deep); err != nil || found {
		t.Errorf("manifest above the git root found: %s %v", p, err)
	}
	if err := os.WriteFile(filepath.Join(repo, Name), []byte(goodManifest), 0o600); err != nil {
		t.Fatal(err)
	}
	if p, found, err := Find(deep); err != nil || !found || p != filepath.Join(repo, Name) {
		t.Errorf("Find from a subdirectory = %s %v %v", p, found, err)
	}
	// Outside any repository the walk goes up to /; a FIFO is refused, not
	// waited on.
	fifo := filepath.Join(t.TempDir(), Name)
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(fifo); err == nil || !errors.Is(err, ErrInvalid) {
		t.Errorf("FIFO manifest: %v", err)
	}
}

// A manifest at the size limit full of problems is parsed in bounded time
// and reports only the first ones.
func TestParseManifestBounded(t *testing.T) {
	var b strings.Builder
	for i := 0; b.Len() < maxManifestSize-32; i++ {
		fmt.Fprintf(&b, "k%d = 1\n", i)
	}
	start := time.Now()
	_, err := Parse("wsx.toml", []byte(b.String()))
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("parse took %v", d)
	}
	var me lineErrors
	if !errors.As(err, &me) || len(me) != maxManifestErrors || me[0].line != 1 {
		t.Errorf("got %d errors, want the first %d with lines: %v", len(me), maxManifestErrors, err)
	}
}

// SECURITY.md 73: a wsx.toml another user could have written is refused,
// naming the file and its owner (cmd maps ErrForeign to exit 5).
func TestManifestOwner(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, Name)
	if err := os.WriteFile(path, []byte("[[secret]]\nname = \"GITHUB_TOKEN\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err != nil {
		t.Fatalf("own manifest: %v", err)
	}
	if err := os.Chmod(path, 0o666); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	if !errors.Is(err, ErrForeign) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "writable by group or others") {
		t.Errorf("group/other-writable manifest: %v", err)
	}
	if os.Geteuid() != 0 {
		t.Log("not root: the foreign owner case needs chown")
		return
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(path, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	_, err = Load(path)
	if !errors.Is(err, ErrForeign) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "uid 65534") {
		t.Errorf("foreign manifest: %v", err)
	}
}

func TestParseAccessAudit(t *testing.T) {
	for _, tc := range []struct {
		text string
		off  bool
	}{
		{"[[secret]]\nname = \"API_TOKEN\"\n", false},
		{"access_audit = true\n[[secret]]\nname = \"API_TOKEN\"\n", false},
		{"access_audit = false\n[[secret]]\nname = \"API_TOKEN\"\n", true},
	} {
		m, err := Parse("wsx.toml", []byte(tc.text))
		if err != nil {
			t.Fatalf("Parse(%q): %v", tc.text, err)
		}
		if m.NoAccessAudit != tc.off {
			t.Errorf("Parse(%q).NoAccessAudit = %v, want %v", tc.text, m.NoAccessAudit, tc.off)
		}
	}
	if _, err := Parse("wsx.toml", []byte("access_audit = \"no\"\n")); err == nil {
		t.Error("access_audit = \"no\" accepted")
	}
}

func TestParseInject(t *testing.T) {
	m, err := Parse("wsx.toml", []byte("[[secret]]\nname = \"A\"\ninject = \"proxy\"\n[[secret]]\nname = \"B\"\ninject = \"env\"\n[[secret]]\nname = \"C\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Proxied(); !reflect.DeepEqual(got, []string{"A"}) {
		t.Errorf("Proxied() = %v, want [A]", got)
	}
	_, err = Parse("wsx.toml", []byte("[[secret]]\nname = \"A\"\ninject = \"file\"\n"))
	if err == nil || !strings.Contains(err.Error(), `wsx.toml:1: secret "A": inject "file": want env or proxy`) {
		t.Errorf("bad inject: %v", err)
	}
}

// The manifest governing a directory names the secrets it sends through
// the proxy; none without one, an error when it cannot be read (the values
// would go in the environment instead).
func TestProxiedIn(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, ".git"), 0o700); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	proxiedIn := func(dir string) ([]string, error) {
		m, err := Governing(dir)
		return m.Proxied(), err
	}
	if got, err := proxiedIn(sub); got != nil || err != nil {
		t.Errorf("no manifest: %v %v", got, err)
	}
	write := func(s string) {
		if err := os.WriteFile(filepath.Join(dir, Name), []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("[[secret]]\nname = \"A\"\ninject = \"proxy\"\n[[secret]]\nname = \"B\"\n")
	if got, err := proxiedIn(sub); err != nil || !reflect.DeepEqual(got, []string{"A"}) {
		t.Errorf("ProxiedIn = %v %v, want [A]", got, err)
	}
	write("[[secret]]\nname = \"A\"\ninject = \"sometimes\"\n")
	if got, err := proxiedIn(sub); err == nil || !strings.Contains(err.Error(), "sometimes") {
		t.Errorf("unreadable manifest: %v %v", got, err)
	}
}

// Tables are bounded before the document is decoded (the decoder's check
// for keys defined twice takes time quadratic in a table's keys), and the
// largest manifests within the bounds parse quickly.
func TestParseManifestTableBounds(t *testing.T) {
	var wide strings.Builder
	wide.WriteString("[provider.vault]\n")
	for i := range maxTableKeys + 1 {
		fmt.Fprintf(&wide, "k%d = 1\n", i)
	}
	var many strings.Builder
	for i := range maxManifestSecrets + 1 {
		fmt.Fprintf(&many, "[[secret]]\nname = \"S%d\"\n", i)
	}
	for _, tc := range []struct{ name, in, want string }{
		{"wide table", wide.String(), fmt.Sprintf("wsx.toml:%d: [provider.vault] has more than %d keys", maxTableKeys+2, maxTableKeys)},
		{"many secrets", many.String(), fmt.Sprintf("wsx.toml: more than %d secrets", maxManifestSecrets)},
	} {
		_, err := Parse("wsx.toml", []byte(tc.in))
		if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
	}
	// At the bounds: many provider tables of many keys; the most secrets,
	// each with every key.
	var big strings.Builder
	for i := range maxTableKeys {
		fmt.Fprintf(&big, "[provider.p%d]\n", i)
		for j := range maxTableKeys {
			fmt.Fprintf(&big, "k%d = %d\n", j, j)
		}
	}
	for i := range maxManifestSecrets {
		fmt.Fprintf(&big, "[[secret]]\nname = \"S%d\"\ntype = \"token\"\ndescription = \"d\"\nhosts = [\"h\"]\nrequired = true\nenv = \"E%d\"\n", i, i)
	}
	if big.Len() > maxManifestSize {
		t.Fatalf("the test's manifest is %d bytes, more than a manifest may be", big.Len())
	}
	start := time.Now()
	m, err := Parse("wsx.toml", []byte(big.String()))
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("parse took %v", d)
	}
	if err != nil || len(m.Secrets) != maxManifestSecrets || len(m.Providers) != maxTableKeys {
		t.Errorf("got %v, %v", m != nil, err)
	}
}
