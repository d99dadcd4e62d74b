// Package archtest holds the test that keeps wsx's imports running one way:
// main -> cmd -> {doctor, secrets, daemon} -> {credhelper, sshagent, exec,
// scan, manifest} -> internal/release -> internal/caller -> {store, audit},
// with internal/mask and internal/hint leaves every flow may use, and
// internal/unixsock (socket plumbing) under sshagent and daemon. Nothing
// but main imports cmd.
package archtest

import (
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/wsxdev/wsx"

// ban says that packages under From must not import To, and why.
type ban struct {
	From, To string
	Why      string
}

var bans = []ban{
	{"store", "audit", "store and audit are the foundation: they import no wsx package, so every feature can use them without cycles"},
	{"store", "credhelper", "store is the foundation and knows no feature"},
	{"store", "sshagent", "store is the foundation and knows no feature"},
	{"store", "exec", "store is the foundation and knows no feature"},
	{"store", "daemon", "store is the foundation and knows no feature"},
	{"store", "cmd", "store is the foundation and knows no feature"},
	{"audit", "store", "store and audit are the foundation: they import no wsx package"},
	{"audit", "credhelper", "audit is the foundation and knows no feature"},
	{"audit", "sshagent", "audit is the foundation and knows no feature"},
	{"audit", "exec", "audit is the foundation and knows no feature"},
	{"audit", "daemon", "audit is the foundation and knows no feature"},
	{"audit", "cmd", "audit is the foundation and knows no feature"},
	{"credhelper", "sshagent", "feature packages never import each other; each declares the small interface it consumes"},
	{"credhelper", "exec", "feature packages never import each other"},
	{"sshagent", "credhelper", "feature packages never import each other"},
	{"sshagent", "exec", "feature packages never import each other"},
	{"exec", "credhelper", "feature packages never import each other"},
	{"exec", "sshagent", "feature packages never import each other"},
	{"credhelper", "daemon", "features are served by the daemon, not the other way"},
	{"sshagent", "daemon", "features are served by the daemon, not the other way"},
	{"exec", "daemon", "features are served by the daemon, not the other way"},
	{"credhelper", "cmd", "only cmd knows the command line and the terminal"},
	{"sshagent", "cmd", "only cmd knows the command line and the terminal"},
	{"exec", "cmd", "only cmd knows the command line and the terminal"},
	{"daemon", "cmd", "only cmd knows the command line and the terminal"},
	{"store", "internal", "store is the foundation: it imports no wsx package"},
	{"audit", "internal", "audit is the foundation: it imports no wsx package"},
	{"internal/release", "credhelper", "the release path is beneath the features that consume it"},
	{"internal/release", "sshagent", "the release path is beneath the features that consume it"},
	{"internal/release", "exec", "the release path is beneath the features that consume it"},
	{"internal/release", "daemon", "the daemon serves the release path; the path knows no server"},
	{"internal/release", "cmd", "only cmd knows the command line and the terminal"},
	{"internal/caller", "store", "who asked is told from /proc alone; it never reads secrets"},
	{"internal/caller", "internal/release", "the release path asks who asked, not the other way"},
	{"internal/caller", "credhelper", "the caller lookup serves every feature and knows none"},
	{"internal/caller", "sshagent", "the caller lookup serves every feature and knows none"},
	{"internal/caller", "exec", "the caller lookup serves every feature and knows none"},
	{"internal/caller", "daemon", "the caller lookup serves every feature and knows none"},
	{"internal/caller", "cmd", "only cmd knows the command line and the terminal"},
	{"manifest", "cmd", "wsx.toml is read the same for every caller; hints are cmd's"},
	{"manifest", "daemon", "wsx.toml is read by the command that runs in the project"},
	{"manifest", "exec", "the exec flow gets names, not the file they came from"},
	{"manifest", "internal", "reading wsx.toml needs no release path and no caller"},
	{"scan", "exec", "scan and exec share the matching automaton through internal/mask, not through each other"},
	{"exec", "scan", "scan and exec share the matching automaton through internal/mask, not through each other"},
	{"scan", "credhelper", "feature packages never import each other"},
	{"scan", "sshagent", "feature packages never import each other"},
	{"scan", "store", "scan gets values through its Matcher interface; whoever holds them (the daemon, or cmd with the store open) builds it"},
	{"scan", "daemon", "features are served by the daemon, not the other way"},
	{"scan", "cmd", "only cmd knows the command line and the terminal"},
	{"credhelper", "scan", "feature packages never import each other"},
	{"sshagent", "scan", "feature packages never import each other"},
	{"store", "scan", "store is the foundation and knows no feature"},
	{"audit", "scan", "audit is the foundation and knows no feature"},
	// The flows that left cmd: each reads top to bottom in its package and
	// takes what it needs from cmd as values and small functions.
	{"secrets", "daemon", "the secrets' flows work on a Store: the agent's client is one cmd chooses, not one they dial"},
	{"secrets", "exec", "flows do not call each other sideways"},
	{"secrets", "credhelper", "flows do not call each other sideways"},
	{"secrets", "sshagent", "flows do not call each other sideways"},
	{"secrets", "doctor", "flows do not call each other sideways"},
	{"doctor", "exec", "doctor checks the setup; it runs no program with secrets"},
	{"doctor", "sshagent", "doctor asks the agent through its API, not its SSH side"},
	{"daemon", "secrets", "the daemon serves the store; the command line's flows are above it"},
	{"daemon", "doctor", "the daemon serves the store; the command line's flows are above it"},
	{"exec", "secrets", "exec gets a Source, not the flows that made it"},
	{"exec", "manifest", "the exec flow gets names, not the file they came from"},
	{"credhelper", "secrets", "flows do not call each other sideways"},
	{"scan", "secrets", "scan gets a Matcher; secrets builds one from the store"},
	{"manifest", "secrets", "wsx.toml is read without the store's flows"},
	{"internal/home", "store", "where a store lives is told from the environment alone"},
	{"internal/home", "daemon", "where a store lives is told from the environment alone"},
	{"internal/clidoc", "store", "the man page and completions read the command tree, not the store"},
	// The settings page (wsx ui) reads metadata and writes through its
	// Backend; it has no way to a value.
	{"ui", "internal/release", "the page never hands out a value: the release path is not within its reach"},
	{"ui", "daemon", "the daemon serves the page through the small Backend interface, not the other way"},
	{"ui", "cmd", "only cmd knows the command line and the terminal"},
	{"ui", "credhelper", "feature packages never import each other"},
	{"ui", "sshagent", "feature packages never import each other"},
	{"ui", "exec", "feature packages never import each other"},
	{"ui", "scan", "feature packages never import each other"},
	{"store", "ui", "store is the foundation and knows no feature"},
	{"audit", "ui", "audit is the foundation and knows no feature"},
	{"manifest", "ui", "wsx.toml is read the same for every caller"},
	// Socket plumbing and peer identity live once, below both servers
	// (the SSH agent and the daemon's API), like tailscale's safesocket.
	{"internal/unixsock", "store", "unixsock is plumbing: sockets and peers, no secrets"},
	{"internal/unixsock", "audit", "unixsock is plumbing: its users record what it refuses"},
	{"internal/unixsock", "sshagent", "sshagent uses unixsock, not the other way"},
	{"internal/unixsock", "daemon", "daemon uses unixsock, not the other way"},
	{"internal/unixsock", "credhelper", "unixsock is plumbing and knows no feature"},
	{"internal/unixsock", "exec", "unixsock is plumbing and knows no feature"},
	{"internal/unixsock", "cmd", "only cmd knows the command line and the terminal"},
	{"fetch", "cmd", "only cmd knows the command line and the terminal"},
	{"fetch", "daemon", "fetch stores through the small interface it declares: the store opened here, or the agent's"},
	{"fetch", "exec", "exec gets names and values from the store; the fetch happened before"},
	{"fetch", "credhelper", "feature packages never import each other"},
	{"fetch", "sshagent", "feature packages never import each other"},
	{"store", "fetch", "store is the foundation and knows no feature"},
	{"audit", "fetch", "audit is the foundation and knows no feature"},
	{"exec", "fetch", "exec runs the command; `wsx exec` fetches before it (cmd)"},
	// Who may do what is decided in one place, which the API and the SSH
	// agent both ask; it knows neither.
	{"internal/access", "daemon", "the daemon asks access, not the other way"},
	{"internal/access", "sshagent", "the SSH agent asks access, not the other way"},
	{"internal/access", "cmd", "only cmd knows the command line and the terminal"},
	{"internal/access", "audit", "access decides; its callers record"},
	{"internal/access", "internal/release", "access decides who may ask; it releases nothing"},
}

// allowed lifts a ban for one import, and says why. Each must be in use
// (TestAllowedInUse): a lifted ban nobody needs goes back in force.
var allowed = []ban{
	{"manifest", "internal/hint", "a manifest's flows (template check, a missing secret) say their fix the way every flow does; internal/hint is a leaf"},
	{"audit", "internal/hint", "`wsx audit` says the fix for a log it cannot read the way every flow does; internal/hint is a leaf"},
	{"audit", "internal/mask", "the shortest value worth masking is one rule, mask.MinMaskLen, for output and records alike; internal/mask is a leaf, so the foundation still depends on nothing that could depend on it"},
}

// leaves are wsx packages that import no other wsx package, and why.
var leaves = map[string]string{
	"internal/nokwallet": "sets an environment variable before 99designs/keyring's init: it must import nothing that could make it wait",
	"internal/nodump":    "keeps any process out of core files: a leaf, so main and exec may use it",
	"internal/clidoc":    "renders the command tree cmd builds: it imports no wsx package",
	"internal/hint":      "the errors flows return beside their fix (usage, exit code): a leaf, so every flow may use it",
	"internal/mask":      "the one matching automaton (masking in exec, finding in scan, anyone who needs it): a leaf, so every package may use it without cycles",
	"provider":           "providers talk to secret services and return what they fetch; they neither keep nor release values (fetch stores them through the store's checks), so they import no other wsx package",
}

// onlyIn lists third-party packages allowed in one wsx package alone
// (and in the packages also lists).
var onlyIn = map[string]struct {
	Pkg, Why string
	Also     []string
}{
	// scan --history reads commits through the git binary instead
	// (`git log -p`): the user's git sees exactly what it committed, with
	// its configuration, and is already required for the hook it serves.
	"github.com/go-git/go-git/v5":                                       {"audit", "go-git is large; it lives in audit's context capture only (scan reads history through the git binary)", nil},
	"github.com/urfave/cli/v2":                                          {"cmd", "only cmd knows the command line (internal/clidoc renders the tree cmd builds: man page, completions)", []string{"internal/clidoc"}},
	"github.com/pelletier/go-toml/v2":                                   {"manifest", "wsx.toml is parsed in one place, strictly", nil},
	"github.com/hashicorp/vault/api":                                    {"provider/vault", "Vault's client and its many dependencies stay in its provider", nil},
	"filippo.io/age":                                                    {"provider/sops", "age decrypts sops files' data keys, and nothing else", nil},
	"gopkg.in/yaml.v3":                                                  {"provider/sops", "YAML is read for sops files only", nil},
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager":               {"provider/awssm", "the AWS SDK's Secrets Manager client stays in its provider", nil},
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets": {"provider/azurekv", "Azure's Key Vault client stays in its provider", nil},
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity":                  {"provider/azurekv", "Azure's credentials (Entra ID) stay in the Key Vault provider", nil},
}

type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatalf("decode go list: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 3 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	return pkgs
}

// under reports whether path is the wsx package dir or one below it.
func under(path, dir string) bool {
	p := module + "/" + dir
	return path == p || strings.HasPrefix(path, p+"/")
}

func TestImportDirection(t *testing.T) {
	for _, p := range listPackages(t) {
		for _, imp := range p.Imports {
			if isAllowed(p.ImportPath, imp) {
				continue
			}
			for _, b := range bans {
				if under(p.ImportPath, b.From) && under(imp, b.To) {
					t.Errorf("%s imports %s: %s", p.ImportPath, imp, b.Why)
				}
			}
		}
	}
}

// isAllowed reports whether the package from may import imp despite a ban.
func isAllowed(from, imp string) bool {
	for _, a := range allowed {
		if from == module+"/"+a.From && imp == module+"/"+a.To {
			return true
		}
	}
	return false
}

// TestNothingImportsCmd keeps cmd at the top: only main imports it, so
// no flow can reach back for a flag, a prompt or the exit code table.
func TestNothingImportsCmd(t *testing.T) {
	for _, p := range listPackages(t) {
		if p.ImportPath == module+"/cmd/wsx" {
			continue
		}
		if slices.Contains(p.Imports, module+"/cmd") {
			t.Errorf("%s imports cmd: only main does; a flow takes options, not the command line", p.ImportPath)
		}
	}
}

func TestAllowedInUse(t *testing.T) {
	for _, a := range allowed {
		found := false
		for _, p := range listPackages(t) {
			if p.ImportPath == module+"/"+a.From && slices.Contains(p.Imports, module+"/"+a.To) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s no longer imports %s: remove the exception (%s)", a.From, a.To, a.Why)
		}
	}
}

func TestLeaves(t *testing.T) {
	for _, p := range listPackages(t) {
		for dir, why := range leaves {
			if !under(p.ImportPath, dir) {
				continue
			}
			for _, imp := range p.Imports {
				if strings.HasPrefix(imp, module+"/") && !under(imp, dir) {
					t.Errorf("%s imports %s: %s", p.ImportPath, imp, why)
				}
			}
		}
	}
}

func TestThirdPartyConfined(t *testing.T) {
	for _, p := range listPackages(t) {
		for _, imp := range p.Imports {
			for lib, rule := range onlyIn {
				if (imp == lib || strings.HasPrefix(imp, lib+"/")) && !under(p.ImportPath, rule.Pkg) &&
					!slices.ContainsFunc(rule.Also, func(d string) bool { return under(p.ImportPath, d) }) {
					t.Errorf("%s imports %s: %s", p.ImportPath, imp, rule.Why)
				}
			}
		}
	}
}

// TestBansCanFail checks the matcher itself, so a typo in a rule cannot
// silently pass everything.
func TestBansCanFail(t *testing.T) {
	if !under(module+"/store/filekeyring", "store") || under(module+"/storex", "store") {
		t.Fatal("under matches the wrong packages")
	}
}

// outOfWSX are the modules that run in wsx-provider and never in wsx: the
// secret services' clients (and sops's YAML and age), whose package
// initialisers every wsx process would pay before main, the git
// credential helper's included. wsx starts wsx-provider when a wsx.toml
// sources a secret from one of them (provider/external).
var outOfWSX = []string{
	"github.com/hashicorp/vault/api",
	"github.com/aws/aws-sdk-go-v2",
	"github.com/Azure/azure-sdk-for-go",
	"gopkg.in/yaml.v3",
	"filippo.io/age",
}

func TestServiceClientsOutOfWSX(t *testing.T) {
	deps := func(cmd string) []string {
		out, err := exec.Command("go", "list", "-deps", module+"/"+cmd).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", cmd, err)
		}
		return strings.Fields(string(out))
	}
	in := func(pkgs []string, mod string) bool {
		return slices.ContainsFunc(pkgs, func(p string) bool { return p == mod || strings.HasPrefix(p, mod+"/") })
	}
	wsx, provider := deps("cmd/wsx"), deps("cmd/wsx-provider")
	for _, mod := range outOfWSX {
		if in(wsx, mod) {
			t.Errorf("wsx links %s: it belongs in wsx-provider (provider/external), so that wsx starts without its initialisers", mod)
		}
		if !in(provider, mod) {
			t.Errorf("wsx-provider does not link %s: the list above names a module no provider uses", mod)
		}
	}
}

// startupFree are packages wsx does without because their initialisers
// would run before main in every wsx process, the credential helper's
// included, each with the reason and what wsx does instead.
var startupFree = []struct{ pkg, why string }{
	{"github.com/BurntSushi/toml", "its initialiser loads the local time zone (reads /etc/localtime); manifest parses wsx.toml with pelletier/go-toml/v2, which has no initialiser"},
}

func TestStartupFreeOfWSX(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", module+"/cmd/wsx").Output()
	if err != nil {
		t.Fatalf("go list -deps cmd/wsx: %v", err)
	}
	deps := strings.Fields(string(out))
	for _, b := range startupFree {
		if slices.ContainsFunc(deps, func(p string) bool { return p == b.pkg || strings.HasPrefix(p, b.pkg+"/") }) {
			t.Errorf("wsx links %s: %s", b.pkg, b.why)
		}
	}
}
