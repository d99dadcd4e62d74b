package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// keyring's KWallet probe is off in every wsx process: internal/nokwallet
// initialises before keyring, and no program wsx runs sees the variable it
// set (while one the user set is passed on).
func TestNoKWalletProbe(t *testing.T) {
	wsx := filepath.Join(binDir, "wsx")
	c := exec.Command(wsx, "--version")
	c.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	var trace bytes.Buffer
	c.Stderr = &trace
	if err := c.Run(); err != nil {
		t.Fatalf("wsx --version: %v\n%s", err, trace.Bytes())
	}
	first := strings.Index(trace.String(), "init github.com/wsxdev/wsx/internal/nokwallet ")
	kr := strings.Index(trace.String(), "init github.com/99designs/keyring ")
	if first < 0 || kr < 0 || first > kr {
		t.Fatalf("nokwallet at %d, keyring at %d in the init trace: nokwallet must come first", first, kr)
	}

	w := newWSXRunner(t, t.TempDir())
	w.run(nil, true, "init")
	w.env = slicesWithout(w.env, "DISABLE_KWALLET=")
	if out := w.run(nil, true, "exec", "--", "env"); bytes.Contains(out, []byte("DISABLE_KWALLET")) {
		t.Errorf("the child sees DISABLE_KWALLET:\n%s", out)
	}
	w.env = append(w.env, "DISABLE_KWALLET=mine")
	if out := w.run(nil, true, "exec", "--", "env"); !bytes.Contains(out, []byte("DISABLE_KWALLET=mine\n")) {
		t.Errorf("the user's DISABLE_KWALLET did not reach the child:\n%s", out)
	}
}

// slicesWithout returns env without the entries starting with prefix.
func slicesWithout(env []string, prefix string) []string {
	var out []string
	for _, e := range env {
		if !strings.HasPrefix(e, prefix) {
			out = append(out, e)
		}
	}
	return out
}
