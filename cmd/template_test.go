package cmd

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/wsxdev/wsx/manifest"
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
`

func TestManifestSecrets(t *testing.T) {
	env, _ := lcStore(t)
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, ".git"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, manifest.Name), []byte(goodManifest), 0o600); err != nil {
		t.Fatal(err)
	}
	s := &session{env: &env, home: env.Getenv("WSX_HOME")}
	defer s.close()
	m, _, err := s.manifestSecrets(dir)
	if m == nil || exitCode(err) != ExitNotFound || !strings.Contains(err.Error(), "GITHUB_TOKEN, DATABASE_PASSWORD") {
		t.Fatalf("missing required secrets: found %v, %v", m != nil, err)
	}
	var he hintedError
	if !errors.As(err, &he) || !strings.Contains(he.Hint, "wsx add GITHUB_TOKEN --type token") {
		t.Errorf("hint: %q", he.Hint)
	}
	for _, n := range []string{"GITHUB_TOKEN", "DATABASE_PASSWORD", "UNRELATED_TOKEN"} {
		if code, _, errs := runLC(t, env, "v-"+n+"\n", "add", n); code != 0 {
			t.Fatalf("add %s: %s", n, errs)
		}
	}
	m, names, err := s.manifestSecrets(dir)
	if err != nil || m == nil || !reflect.DeepEqual(names, []string{"GITHUB_TOKEN", "DATABASE_PASSWORD"}) {
		t.Errorf("manifestSecrets = %v %v %v", m, names, err)
	}
	if m, names, err := s.manifestSecrets(t.TempDir()); err != nil || m != nil || names != nil {
		t.Errorf("no manifest: %v %v %v", m, names, err)
	}
}
