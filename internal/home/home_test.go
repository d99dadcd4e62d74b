package home

import (
	"errors"
	"strings"
	"testing"

	"github.com/wsxdev/wsx/internal/hint"
)

func TestWorkspaceHomes(t *testing.T) {
	vars := map[string]string{"HOME": "/h", "XDG_DATA_HOME": "/data", "XDG_RUNTIME_DIR": "/run/user/1"}
	getenv := func(k string) string { return vars[k] }
	check := func(wantHome, wantRun string) {
		t.Helper()
		home, err := Dir(getenv)
		if err != nil || home != wantHome {
			t.Fatalf("homeDir = %q, %v; want %q", home, err, wantHome)
		}
		if run := RunDir(getenv, home); run != wantRun {
			t.Fatalf("runDir = %q, want %q", run, wantRun)
		}
	}
	check("/data/wsx", "/run/user/1/wsx")
	vars["WSX_WORKSPACE"] = "billing-api"
	check("/data/wsx-billing-api", "/run/user/1/wsx-billing-api")
	delete(vars, "XDG_DATA_HOME")
	check("/h/.local/share/wsx-billing-api", "/run/user/1/wsx-billing-api")
	vars["WSX_HOME"] = "/explicit"
	check("/explicit", "/explicit/run")
	delete(vars, "WSX_HOME")
	for _, bad := range []string{"../x", "a/b", "-x", ".hidden", strings.Repeat("w", 65), "sp ace"} {
		vars["WSX_WORKSPACE"] = bad
		if _, err := Dir(getenv); !errors.As(err, new(hint.Usage)) {
			t.Errorf("WSX_WORKSPACE=%q: err %v, want a usage error", bad, err)
		}
	}
}
