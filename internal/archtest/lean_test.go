package archtest

import (
	"os/exec"
	"strings"
	"testing"
)

// leanBans are what git-credential-wsx must not link, and why: git starts
// it for every credential fill, and each package linked in costs that
// start its initialiser and the pages it touches (about 12-30 µs each).
var leanBans = []ban{
	{"cmd/git-credential-wsx", "github.com/urfave/cli/v2", "the command line is wsx's; the helper takes one operation"},
	{"cmd/git-credential-wsx", "golang.org/x/crypto/ssh", "SSH keys are the store's and the agent's: x/crypto/ssh's tables cost every start"},
	{"cmd/git-credential-wsx", "github.com/99designs/keyring", "the helper opens no store; what needs one is handed over to wsx"},
	{"cmd/git-credential-wsx", "github.com/godbus/dbus", "keyring's D-Bus client: the helper opens no store"},
	{"cmd/git-credential-wsx", "github.com/pelletier/go-toml/v2", "wsx.toml is read by wsx"},
	{"cmd/git-credential-wsx", "html/template", "the settings page is wsx's"},
	{"cmd/git-credential-wsx", "runtime/metrics", "internal/erase's: the helper's process is short-lived and non-dumpable"},
	{"cmd/git-credential-wsx", "net/http", "one request in HTTP/1.0 needs no HTTP client (internal/localapi); net/http brings crypto/tls"},
	{"cmd/git-credential-wsx", module + "/store", "the store links keyring and x/crypto/ssh; the helper's wire types are internal/localapi's"},
	{"cmd/git-credential-wsx", module + "/daemon", "the daemon links every feature; what the helper shares with it is internal/localapi"},
	{"cmd/git-credential-wsx", module + "/cmd", "wsx's command line: what the helper does not answer, it hands over to wsx"},
}

// TestCredentialHelperLean keeps git-credential-wsx small (leanBans).
func TestCredentialHelperLean(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", module+"/cmd/git-credential-wsx").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list found only %d packages", len(deps))
	}
	for _, b := range leanBans {
		for _, d := range deps {
			// A library with its packages; a wsx package alone (store,
			// not store/atomicfile).
			if d == b.To || !strings.HasPrefix(b.To, module) && strings.HasPrefix(d, b.To+"/") {
				t.Errorf("%s links %s: %s", b.From, d, b.Why)
			}
		}
	}
}
