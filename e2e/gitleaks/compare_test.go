// Package gitleaks compares wsx scan with gitleaks (MIT), run as an oracle
// in CI only: the same rules (ours, written as a gitleaks config) over the
// same tree must find the same tokens, and wsx must be at least twice as
// fast. It is its own module so gitleaks never enters wsx's go.mod.
//
//	WSX_GITLEAKS=1 go test -v ./   (in e2e/gitleaks)
package gitleaks

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wsxdev/wsx/scan"
)

func TestCompareWithGitleaks(t *testing.T) {
	if os.Getenv("WSX_GITLEAKS") == "" {
		t.Skip("set WSX_GITLEAKS=1 to build gitleaks and compare (CI)")
	}
	bin := t.TempDir()
	// gitleaks with this module's requirements, wsx with its own.
	for _, b := range []struct{ dir, pkg, out string }{
		{".", "github.com/zricethezav/gitleaks/v8", "gitleaks"},
		{"../..", "./cmd/wsx", "wsx"},
	} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(bin, b.out), b.pkg)
		cmd.Dir = b.dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", b.out, err, out)
		}
	}

	// The tree: Go's sources, and files with planted tokens.
	tree := filepath.Join(t.TempDir(), "tree")
	src := os.Getenv("WSX_GITLEAKS_TREE") // another tree to compare on
	if src == "" {
		src = filepath.Join(runtime.GOROOT(), "src")
	}
	if err := os.CopyFS(filepath.Join(tree, "src"), os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(7, 8))
	chars := func(alphabet string, n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		return string(b)
	}
	const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	planted := strings.Join([]string{
		"GH=gh" + "p_" + chars(alnum, 36),
		"GL=glp" + "at-" + chars(alnum, 20),
		"ID=AK" + "IA" + chars("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16),
		"ST=sk_" + "live_" + chars(alnum, 30),
		"NPM=np" + "m_" + chars(alnum, 36),
		"G=AI" + "za" + chars(alnum, 35),
	}, "\n") + "\n"
	if err := os.WriteFile(filepath.Join(tree, "planted.env"), []byte(planted), 0o600); err != nil {
		t.Fatal(err)
	}

	cfg := filepath.Join(bin, "rules.toml")
	if err := os.WriteFile(cfg, gitleaksConfig(scan.Rules()), 0o600); err != nil {
		t.Fatal(err)
	}
	report := filepath.Join(bin, "gitleaks.json")
	glCPU, _ := run(t, filepath.Join(bin, "gitleaks"), "dir", "--no-banner", "--exit-code", "0", "--config", cfg,
		"--report-format", "json", "--report-path", report, tree)
	wsxCPU, out := run(t, filepath.Join(bin, "wsx"), "scan", "--no-store", "--json", tree)

	var gl []struct {
		RuleID    string
		File      string
		StartLine int
	}
	b, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &gl); err != nil {
		t.Fatalf("gitleaks report: %v\n%s", err, b)
	}
	var ws struct {
		Findings []scan.Finding `json:"findings"`
	}
	if err := json.Unmarshal(out, &ws); err != nil {
		t.Fatalf("wsx scan --json: %v\n%s", err, out)
	}
	var glSet, wsSet []string
	for _, f := range gl {
		glSet = append(glSet, fmt.Sprintf("%s:%d:%s", f.File, f.StartLine, f.RuleID))
	}
	for _, f := range ws.Findings {
		wsSet = append(wsSet, fmt.Sprintf("%s:%d:%s", f.File, f.Line, f.Rule))
	}
	slices.Sort(glSet)
	slices.Sort(wsSet)
	t.Logf("gitleaks: %d findings, %v CPU; wsx: %d findings, %v CPU; wsx is %.1fx faster",
		len(glSet), glCPU, len(wsSet), wsxCPU, float64(glCPU)/float64(wsxCPU))
	// wsx checks more than gitleaks can express (documented examples,
	// JWT headers, URL placeholders): it finds a subset, and every
	// planted token.
	for _, f := range wsSet {
		if _, ok := slices.BinarySearch(glSet, f); !ok {
			t.Errorf("wsx found %s, gitleaks did not", f)
		}
	}
	for _, f := range glSet {
		if _, ok := slices.BinarySearch(wsSet, f); !ok {
			t.Logf("gitleaks only: %s", f)
		}
	}
	if n := strings.Count(string(out), `"file": "`+filepath.Join(tree, "planted.env")+`"`); n != 6 {
		t.Errorf("wsx found %d of the 6 planted tokens", n)
	}
	if wsxCPU*2 > glCPU {
		t.Errorf("wsx scan used %v CPU, gitleaks %v: want wsx at least twice as fast", wsxCPU, glCPU)
	}
}

// run runs a program and returns its CPU time and stdout.
func run(t *testing.T, prog string, args ...string) (time.Duration, []byte) {
	t.Helper()
	cmd := exec.Command(prog, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); err != nil && (!ok || ee.ExitCode() != 1) {
		t.Fatalf("%s: %v\n%s", filepath.Base(prog), err, stderr.Bytes())
	}
	t.Logf("%s stderr:\n%s", filepath.Base(prog), stderr.Bytes())
	return cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), stdout.Bytes()
}

// gitleaksConfig writes wsx's rules as a gitleaks configuration: the same
// pattern (Go syntax, which gitleaks uses too), secret group, entropy and
// keywords.
func gitleaksConfig(rules []*scan.Rule) []byte {
	var b bytes.Buffer
	b.WriteString("title = \"wsx rules\"\n")
	for _, r := range rules {
		fmt.Fprintf(&b, "\n[[rules]]\nid = %q\ndescription = %q\nregex = '''%s'''\nentropy = %g\n",
			r.ID, r.Description, r.Pattern.String(), r.MinEntropy)
		if i := r.Pattern.SubexpIndex("secret"); i > 0 {
			fmt.Fprintf(&b, "secretGroup = %d\n", i)
		}
		var kws []string
		for _, k := range r.Keywords {
			kws = append(kws, fmt.Sprintf("%q", strings.ToLower(k)))
		}
		fmt.Fprintf(&b, "keywords = [%s]\n", strings.Join(slices.Compact(kws), ", "))
	}
	return b.Bytes()
}
