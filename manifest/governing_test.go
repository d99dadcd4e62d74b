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

// Governing finds the manifest of a directory and the names it declares
// that the store has; a missing required secret is ErrNotFound with the
// command that adds each.
func TestGoverning(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, ".git"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, Name), []byte(goodManifest), 0o600); err != nil {
		t.Fatal(err)
	}
	var have []string
	names := func() ([]string, error) { return have, nil }
	m, _, err := Governing(dir, names)
	if m == nil || !errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), "GITHUB_TOKEN, DATABASE_PASSWORD") {
		t.Fatalf("missing required secrets: found %v, %v", m != nil, err)
	}
	if h := hint.Of(err); !strings.Contains(h, "wsx add GITHUB_TOKEN --type token") {
		t.Errorf("hint: %q", h)
	}
	have = []string{"DATABASE_PASSWORD", "GITHUB_DEPLOY_TOKEN", "GITHUB_TOKEN", "UNRELATED_TOKEN"}
	m, got, err := Governing(dir, names)
	if err != nil || m == nil || !reflect.DeepEqual(got, []string{"GITHUB_TOKEN", "DATABASE_PASSWORD", "GITHUB_DEPLOY_TOKEN"}) {
		t.Errorf("Governing = %v %v %v", m, got, err)
	}
	if m, got, err := Governing(t.TempDir(), names); err != nil || m != nil || got != nil {
		t.Errorf("no manifest: %v %v %v", m, got, err)
	}
}
