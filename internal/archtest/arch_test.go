// Package archtest holds the test that keeps wsx's imports running one way:
// cmd -> daemon -> {credhelper, sshagent, exec} -> {store, audit}, with
// internal/unixsock (socket plumbing) under sshagent and daemon.
package archtest

import (
	"encoding/json"
	"os/exec"
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
	// Socket plumbing and peer identity live once, below both servers
	// (the SSH agent and the daemon's API), like tailscale's safesocket.
	{"internal/unixsock", "store", "unixsock is plumbing: sockets and peers, no secrets"},
	{"internal/unixsock", "audit", "unixsock is plumbing: its users record what it refuses"},
	{"internal/unixsock", "sshagent", "sshagent uses unixsock, not the other way"},
	{"internal/unixsock", "daemon", "daemon uses unixsock, not the other way"},
	{"internal/unixsock", "credhelper", "unixsock is plumbing and knows no feature"},
	{"internal/unixsock", "exec", "unixsock is plumbing and knows no feature"},
	{"internal/unixsock", "cmd", "only cmd knows the command line and the terminal"},
}

// onlyIn lists third-party packages allowed in one wsx package alone.
var onlyIn = map[string]struct{ Pkg, Why string }{
	"github.com/go-git/go-git/v5": {"audit", "go-git is large; it lives in audit's context capture only"},
	"github.com/urfave/cli/v2":    {"cmd", "only cmd knows the command line"},
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
			for _, b := range bans {
				if under(p.ImportPath, b.From) && under(imp, b.To) {
					t.Errorf("%s imports %s: %s", p.ImportPath, imp, b.Why)
				}
			}
		}
	}
}

func TestThirdPartyConfined(t *testing.T) {
	for _, p := range listPackages(t) {
		for _, imp := range p.Imports {
			for lib, rule := range onlyIn {
				if (imp == lib || strings.HasPrefix(imp, lib+"/")) && !under(p.ImportPath, rule.Pkg) {
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
