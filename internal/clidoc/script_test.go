package clidoc

import (
	"errors"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

func TestScript(t *testing.T) {
	app := &cli.App{Name: "wsx", Usage: "test", Commands: []*cli.Command{{Name: "list", Usage: "list them"}}}
	for shell, want := range map[string]string{
		"bash": "-F _wsx wsx",
		"zsh":  "bashcompinit",
		"fish": "complete -c wsx",
		"man":  ".TH WSX",
	} {
		var b strings.Builder
		if err := Script(&b, app, shell); err != nil || !strings.Contains(b.String(), want) {
			t.Errorf("%s: %v, %q does not hold %q", shell, err, b.String(), want)
		}
	}
	if err := Script(&strings.Builder{}, app, "tcsh"); !errors.Is(err, ErrUnknownShell) || !strings.Contains(err.Error(), `"tcsh"`) {
		t.Errorf("tcsh: %v", err)
	}
}
