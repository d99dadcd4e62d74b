package cmd

import (
	"context"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// The man page names every command and subcommand with its options, in
// roff that starts no line with text a formatter would take for a request.
func TestManPage(t *testing.T) {
	env, out, errb := testEnv(t, "completion", "man")
	if code := Main(context.Background(), env); code != 0 {
		t.Fatalf("completion man: exit %d: %s", code, errb)
	}
	page := out.String()
	if !strings.HasPrefix(page, ".TH WSX 1 ") {
		t.Fatalf("page does not start with .TH: %.40q", page)
	}
	for _, want := range []string{".SH NAME\nwsx \\- ", ".SH SYNOPSIS\n", ".SH DESCRIPTION\n", ".SH GLOBAL OPTIONS\n", ".SH COMMANDS\n"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	roff := strings.NewReplacer("\\", "\\e", "-", "\\-").Replace
	var walk func(path string, cmds []*cli.Command)
	walk = func(path string, cmds []*cli.Command) {
		for _, c := range cmds {
			if c.Hidden {
				continue
			}
			p := path + " " + c.Name
			if !strings.Contains(page, "\n.SS "+roff(p)) {
				t.Errorf("no section for %q", p)
			}
			for _, f := range c.Flags {
				if v, ok := f.(cli.VisibleFlag); ok && !v.IsVisible() {
					continue
				}
				if !strings.Contains(page, "\\fB\\-\\-"+roff(f.Names()[0])+"\\fR") {
					t.Errorf("%s: option --%s missing", p, f.Names()[0])
				}
			}
			walk(p, c.Subcommands)
		}
	}
	walk("wsx", newApp(&env).Commands)
	for i, l := range strings.Split(page, "\n") {
		if l == "" {
			continue
		}
		if (l[0] == '.' || l[0] == '\'') && !isRequest(l) {
			t.Errorf("line %d starts a request by accident: %q", i+1, l)
		}
	}
}

func isRequest(l string) bool {
	for _, r := range []string{".TH ", ".SH ", ".SS ", ".PP", ".TP", ".br", ".nh", ".ad "} {
		if strings.HasPrefix(l, r) {
			return true
		}
	}
	return false
}
