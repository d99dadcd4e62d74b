package manifest

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/wsxdev/wsx/internal/hint"
	"github.com/wsxdev/wsx/store"
)

// Governing finds the manifest of a directory; Declared gives the names
// it declares and requires; a missing required secret is ErrNotFound with
// the command that adds each.
func TestGoverning(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, ".git"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, Name), []byte(goodManifest), 0o600); err != nil {
		t.Fatal(err)
	}
	m, err := Governing(dir)
	if err != nil || m == nil {
		t.Fatalf("Governing = %v, %v", m, err)
	}
	names, required := m.Declared()
	if !reflect.DeepEqual(names, []string{"GITHUB_TOKEN", "DATABASE_PASSWORD", "SENTRY_DSN", "GITHUB_DEPLOY_TOKEN"}) || !reflect.DeepEqual(required, []string{"GITHUB_TOKEN", "DATABASE_PASSWORD", "GITHUB_DEPLOY_TOKEN"}) {
		t.Errorf("Declared = %v, %v", names, required)
	}
	err = m.MissingNames(required)
	if !errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), "GITHUB_TOKEN, DATABASE_PASSWORD") {
		t.Fatalf("missing required secrets: %v", err)
	}
	if h := hint.Of(err); !strings.Contains(h, "wsx add GITHUB_TOKEN --type token") {
		t.Errorf("hint: %q", h)
	}
	if m, err := Governing(t.TempDir()); err != nil || m != nil {
		t.Errorf("no manifest: %v %v", m, err)
	}
}
