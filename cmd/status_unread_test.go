package cmd

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// wsx status names a secret that `wsx exec` gave programs for 90 days
// and none read, when reads of others were recorded; not before 90 days,
// and never one that was read.
func TestStatusNeverRead(t *testing.T) {
	env, clock := lcStore(t)
	clock.t = time.Now() // the audit log's records carry the real time
	for _, n := range []string{"API_TOKEN", "OLD_TOKEN"} {
		if code, _, errs := runLC(t, env, "value-for-"+n+"\n", "add", n); code != 0 {
			t.Fatalf("add %s: exit %d: %s", n, code, errs)
		}
	}
	script := filepath.Join(t.TempDir(), "read.sh")
	if err := os.WriteFile(script, []byte("test -n \"$API_TOKEN\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := runLC(t, env, "", "exec", "--", "sh", script); code != 0 {
		t.Fatalf("exec: exit %d: %s", code, errs)
	}
	_, out, _ := runLC(t, env, "", "audit", "--accessed")
	if !strings.Contains(out, "API_TOKEN") || !strings.Contains(out, "read.sh:1") || strings.Contains(out, "OLD_TOKEN") {
		t.Fatalf("audit --accessed:\n%s", out)
	}
	const note = "OLD_TOKEN was given to programs by `wsx exec` for 90 days and none read it"
	clock.advance(89 * day)
	if _, _, errs := runLC(t, env, "", "status"); strings.Contains(errs, "none read it") {
		t.Errorf("status after 89 days names a secret: %s", errs)
	}
	clock.advance(2 * day)
	code, _, errs := runLC(t, env, "", "status")
	if code != 0 || !strings.Contains(errs, note) || strings.Contains(errs, "API_TOKEN was given") {
		t.Errorf("status after 91 days: exit %d, stderr %q; want OLD_TOKEN alone named", code, errs)
	}
	_, out, _ = runLC(t, env, "", "status", "--json")
	var rows []struct {
		Name      string `json:"name"`
		NeverRead bool   `json:"never_read"`
	}
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	for _, r := range rows {
		if r.NeverRead != (r.Name == "OLD_TOKEN") {
			t.Errorf("status --json: %s never_read=%v", r.Name, r.NeverRead)
		}
	}
}
