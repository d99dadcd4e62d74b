package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// wsx status shows the secrets it can read and names a damaged one on
// stderr, exiting 0: it needs none of them by name.
func TestStatusDamagedItem(t *testing.T) {
	env, _ := lcStore(t)
	for _, n := range []string{"GITHUB_TOKEN", "STRIPE_API_KEY"} {
		if code, _, errs := runLC(t, env, "value-for-"+n+"\n", "add", n); code != 0 {
			t.Fatalf("add %s: exit %d: %s", n, code, errs)
		}
	}
	items := filepath.Join(env.Getenv("WSX_HOME"), "items")
	data, err := os.ReadFile(filepath.Join(items, "GITHUB_TOKEN.wsx"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(items, "STRIPE_API_KEY.wsx"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"status"}, {"status", "--json"}} {
		code, out, errs := runLC(t, env, "", args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errs)
		}
		if !strings.Contains(out, "GITHUB_TOKEN") || strings.Contains(out, "STRIPE_API_KEY") {
			t.Errorf("%v: stdout %q, want GITHUB_TOKEN alone", args, out)
		}
		if !strings.Contains(errs, "warning: STRIPE_API_KEY cannot be read and is left out") || !strings.Contains(errs, "`wsx rm STRIPE_API_KEY`") {
			t.Errorf("%v: stderr %q, want STRIPE_API_KEY named with the fix", args, errs)
		}
	}
}
