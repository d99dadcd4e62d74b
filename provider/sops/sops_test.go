package sops

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
	"github.com/wsxdev/wsx/provider"
)

var update = flag.Bool("update", false, "write testdata/app.enc.yaml and app.enc.json anew")

// e2eValue, with -update, also writes the file named by e2eOut holding it
// at db.url, and a two-line value at db.cert: the fixture of the e2e
// scenario (e2e/testdata/provider/sops.txtar), which holds the e2e canary.
var (
	e2eValue = flag.String("e2e-value", "", "with -update: write -e2e-out holding this value at db.url")
	e2eOut   = flag.String("e2e-out", "", "with -e2e-value: the file to write")
)

const plain = `db:
    password: hunter2-but-longer
    url: postgres://app@db.internal/app
api_token: tok-3f9a
`

// creds is a fake provider.Creds over a map.
type creds map[string]string

func (c creds) Secret(_ context.Context, name string) ([]byte, error) {
	v, ok := c[name]
	if !ok {
		return nil, errors.New("no secret " + name)
	}
	return []byte(v), nil
}

func identity(t *testing.T) (*age.X25519Identity, string) {
	t.Helper()
	b, err := os.ReadFile("testdata/age.key")
	if err != nil {
		t.Fatal(err)
	}
	id, err := age.ParseX25519Identity(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return id, strings.TrimSpace(string(b))
}

// TestFixtures reads the committed files, made once by encrypt with the
// throwaway key testdata/age.key.
func TestFixtures(t *testing.T) {
	id, idText := identity(t)
	if *update {
		for _, f := range []struct {
			name   string
			asJSON bool
		}{{"app.enc.yaml", false}, {"app.enc.json", true}} {
			b, err := encrypt(plain, "2026-12-04T03:00:00Z", f.asJSON, id.Recipient())
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join("testdata", f.name), b, 0o644)
		}
		if *e2eValue != "" {
			b, err := encrypt("db:\n    url: "+*e2eValue+"\n    cert: \"line1\\nline2\"\n", "2026-12-04T03:00:00Z", false, id.Recipient())
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(*e2eOut, b, 0o644)
		}
	}
	p, err := Open(provider.Settings{"dir": "testdata"}, creds{"SOPS_AGE_KEY": idText})
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{"app.enc.yaml", "app.enc.json"} {
		for key, want := range map[string]string{"db.password": "hunter2-but-longer", "db.url": "postgres://app@db.internal/app", "api_token": "tok-3f9a"} {
			src, err := provider.ParseSource("sops://" + file + "#" + key)
			if err != nil {
				t.Fatal(err)
			}
			res, err := p.Fetch(context.Background(), src)
			if err != nil {
				t.Fatalf("%s#%s: %v", file, key, err)
			}
			if string(res.Value) != want {
				t.Errorf("%s#%s: got %q, want %q", file, key, res.Value, want)
			}
			if res.Detail != "sops "+file {
				t.Errorf("detail %q", res.Detail)
			}
		}
	}
}

func fetch(t *testing.T, s provider.Settings, c creds, raw string) ([]byte, error) {
	t.Helper()
	p, err := Open(s, c)
	if err != nil {
		t.Fatal(err)
	}
	src, err := provider.ParseSource(raw)
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.Fetch(context.Background(), src)
	return res.Value, err
}

func TestErrors(t *testing.T) {
	_, idText := identity(t)
	other, _ := age.GenerateX25519Identity()
	dir := provider.Settings{"dir": "testdata"}
	for _, tc := range []struct {
		name  string
		creds creds
		src   string
		want  error
	}{
		{"missing key", creds{"SOPS_AGE_KEY": idText}, "sops://app.enc.yaml#db.nope", provider.ErrNotFound},
		{"other identity", creds{"SOPS_AGE_KEY": other.String()}, "sops://app.enc.yaml#db.url", provider.ErrAuth},
		{"not an identity", creds{"SOPS_AGE_KEY": "hello"}, "sops://app.enc.yaml#db.url", provider.ErrAuth},
		{"no file", creds{"SOPS_AGE_KEY": idText}, "sops://gone.enc.yaml#db.url", provider.ErrUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := fetch(t, dir, tc.creds, tc.src)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v (%q), want %v", err, v, tc.want)
			}
			if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), idText) {
				t.Fatalf("error holds a value: %v", err)
			}
		})
	}
	if _, err := fetch(t, dir, creds{"SOPS_AGE_KEY": idText}, "sops://app.enc.yaml"); err == nil || !strings.Contains(err.Error(), "db.password, db.url, api_token") {
		t.Errorf("no key, three values: %v", err)
	}
	if _, err := fetch(t, dir, creds{"SOPS_AGE_KEY": idText}, "sops://app.enc.yaml?version=2#db.url"); err == nil {
		t.Error("a version was accepted")
	}
}

// TestTampered: a value moved to another key does not decrypt; a value
// removed or a file's values swapped with an older file's fail the MAC.
func TestTampered(t *testing.T) {
	id, idText := identity(t)
	orig, err := os.ReadFile("testdata/app.enc.yaml")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(orig), "\n")
	var pw, url int
	for i, l := range lines {
		switch {
		case strings.HasPrefix(strings.TrimSpace(l), "password:"):
			pw = i
		case strings.HasPrefix(strings.TrimSpace(l), "url:"):
			url = i
		}
	}
	swapped := append([]string(nil), lines...)
	swapped[pw] = "    password:" + strings.SplitN(lines[url], ":", 2)[1]
	removed := append(append([]string(nil), lines[:url]...), lines[url+1:]...)
	older, err := encrypt(plain, "2026-12-04T03:00:00Z", false, id.Recipient()) // another data key
	if err != nil {
		t.Fatal(err)
	}
	mixed := strings.Split(string(older), "\n")
	for i, l := range mixed {
		if strings.HasPrefix(strings.TrimSpace(l), "api_token:") {
			for _, o := range lines {
				if strings.HasPrefix(o, "api_token:") {
					mixed[i] = o
				}
			}
		}
	}
	for name, text := range map[string]string{"moved": strings.Join(swapped, "\n"), "removed": strings.Join(removed, "\n"), "mixed": strings.Join(mixed, "\n")} {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "f.yaml"), []byte(text), 0o600)
		v, err := fetch(t, provider.Settings{"dir": dir}, creds{"SOPS_AGE_KEY": idText}, "sops://f.yaml#db.password")
		if err == nil {
			t.Errorf("%s: read %q", name, v)
		}
	}
	// The original still reads, so the failures above are the changes'.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "f.yaml"), orig, 0o600)
	if v, err := fetch(t, provider.Settings{"dir": dir}, creds{"SOPS_AGE_KEY": idText}, "sops://f.yaml#db.password"); err != nil || !bytes.Equal(v, []byte("hunter2-but-longer")) {
		t.Fatalf("original: %q, %v", v, err)
	}
}

func TestSettings(t *testing.T) {
	if _, err := Open(provider.Settings{"identity": "X"}, creds{}); err == nil || !strings.Contains(err.Error(), "identity_secret") {
		t.Errorf("unknown setting: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	b, _ := os.ReadFile("testdata/app.enc.yaml")
	f.Add(b)
	j, _ := os.ReadFile("testdata/app.enc.json")
	f.Add(j)
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(data)
		if err != nil {
			return
		}
		file.Value(make([]byte, 32), "a.b")
	})
}
