package scan

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wsxdev/wsx/audit"
	"github.com/wsxdev/wsx/internal/hint"
)

func TestRequestCheck(t *testing.T) {
	for _, tc := range []struct {
		name   string
		r      Request
		mode   Mode
		format string
		usage  string // part of the usage error; "" for none
	}{
		{"files", Request{Paths: []string{"."}}, ModeTree, "text", ""},
		{"staged", Request{Staged: true}, ModeStaged, "text", ""},
		{"history sarif", Request{History: true, Format: "sarif", FormatSet: true}, ModeHistory, "sarif", ""},
		{"json", Request{FromStdin: true, JSON: true, Format: "text"}, ModeStdin, "json", ""},
		{"json agrees", Request{JSON: true, Format: "json", FormatSet: true}, ModeTree, "json", ""},
		{"two modes", Request{Staged: true, History: true}, 0, "", "choose one of"},
		{"paths with a mode", Request{Staged: true, Paths: []string{"a"}}, 0, "", "PATH arguments"},
		{"json disagrees", Request{JSON: true, Format: "sarif", FormatSet: true}, 0, "", "disagree"},
		{"unknown format", Request{Format: "xml", FormatSet: true}, 0, "", "unknown --format"},
	} {
		o, format, err := tc.r.check()
		if tc.usage != "" {
			var u hint.Usage
			if !errors.As(err, &u) || !strings.Contains(err.Error(), tc.usage) {
				t.Errorf("%s: err %v, want a usage error with %q", tc.name, err, tc.usage)
			}
			continue
		}
		if err != nil || o.Mode != tc.mode || format != tc.format {
			t.Errorf("%s: mode %v, format %q, err %v; want %v, %q", tc.name, o.Mode, format, err, tc.mode, tc.format)
		}
	}
}

// TestScanAsksValuesOnlyWhenUsed: a usage error and --no-store leave the
// store alone; otherwise the values found are the store's.
func TestScanAsksValuesOnlyWhenUsed(t *testing.T) {
	asked := 0
	values := func() (Matcher, error) { asked++; return nil, errors.New("store locked") }
	var out, errb bytes.Buffer
	o := Out{Stdout: &out, Stderr: &errb, Record: func(...audit.Record) error { return nil }}
	if err := Scan(context.Background(), Request{Staged: true, FromStdin: true, Values: values}, o); err == nil || asked != 0 {
		t.Errorf("usage error: %v, values asked %d times", err, asked)
	}
	in := strings.NewReader("nothing to see here\n")
	if err := Scan(context.Background(), Request{FromStdin: true, NoStore: true, Stdin: in, Values: values}, o); err != nil || asked != 0 {
		t.Errorf("--no-store: %v, values asked %d times", err, asked)
	}
	err := Scan(context.Background(), Request{FromStdin: true, Stdin: strings.NewReader("x\n"), Values: values}, o)
	if err == nil || err.Error() != "store locked" || asked != 1 {
		t.Errorf("with the store: %v, values asked %d times", err, asked)
	}
}

func TestInstallHookForGlobal(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("GIT_CONFIG_GLOBAL", filepath.Join(home, ".gitconfig"))
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	env := map[string]string{"HOME": home}
	var w bytes.Buffer
	if err := InstallHookFor(context.Background(), home, true, func(k string) string { return env[k] }, &w); err != nil {
		t.Fatal(err)
	}
	hook := filepath.Join(home, ".config", "wsx", "git-template", "hooks", "pre-commit")
	b, err := os.ReadFile(hook)
	if err != nil || !strings.Contains(string(b), hookMarker) {
		t.Fatalf("hook %s: %v", hook, err)
	}
	if !strings.Contains(w.String(), "init.templateDir = "+filepath.Join(home, ".config", "wsx", "git-template")) {
		t.Errorf("output %q does not name the template directory", w.String())
	}
}
