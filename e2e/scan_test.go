package e2e

import (
	"os"
	"path/filepath"
	"testing"
)

// TestScanFindsCanary checks the final scan itself: a canary planted in a
// file or in the output must be found, so a clean scan means something.
func TestScanFindsCanary(t *testing.T) {
	dir := t.TempDir()
	if hits := scanForCanary(dir, []byte("nothing here")); len(hits) != 0 {
		t.Fatalf("clean dir reported %v", hits)
	}
	if err := os.MkdirAll(filepath.Join(dir, "a", "b"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "a", "b", "log"), []byte("x "+canary+" y"), 0o600); err != nil {
		t.Fatal(err)
	}
	hits := scanForCanary(dir, []byte("out: "+canary))
	if len(hits) != 2 || hits[0] != "command output" || hits[1] != filepath.Join("a", "b", "log") {
		t.Fatalf("scan found %v, want the output and a/b/log", hits)
	}
}
