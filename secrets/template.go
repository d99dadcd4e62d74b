package secrets

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/wsxdev/wsx/internal/hint"
	"github.com/wsxdev/wsx/internal/prompt"
	"github.com/wsxdev/wsx/manifest"
	"github.com/wsxdev/wsx/store"
)

// TemplateIO is what `wsx template init` needs from the command line.
type TemplateIO struct {
	// Terminal opens the terminal the values are asked on.
	Terminal func() (prompt.Terminal, error)
	// Flows opens the store the secrets are added to: only once there is
	// something to add and a terminal to ask on.
	Flows  func() (*Flows, error)
	Home   string // $HOME, for a path typed as ~/...
	Stderr io.Writer
}

// TemplateInit is `wsx template init`: each secret of m whose name is not
// in have is asked for on the terminal and added with the manifest's
// type, description and hosts (Fill). With nothing missing it says so and
// opens nothing; without a terminal the error's hint is the command that
// adds each secret.
func TemplateInit(m *manifest.Manifest, have []string, o TemplateIO) error {
	todo := Missing(m, have)
	if len(todo) == 0 {
		fmt.Fprintf(o.Stderr, "wsx: every secret of %s is in the store already\n", m.Path)
		return nil
	}
	t, err := o.Terminal()
	if err != nil {
		var cmds []string
		for _, sec := range todo {
			cmds = append(cmds, "`"+manifest.AddCommand(sec)+"`")
		}
		return hint.With(errors.New("template init asks for values on a terminal, and there is none"),
			"add each with %s", strings.Join(cmds, "; "))
	}
	defer t.Close()
	f, err := o.Flows()
	if err != nil {
		return err
	}
	return f.Fill(m, todo, t.Printf, func(sec manifest.Secret) ([]byte, error) { return askTemplateValue(t, sec, o.Home) })
}

// askTemplateValue asks for the value of a manifest's secret: a token or
// password with a hidden prompt, a key or file as the path of the file
// that holds it (a leading ~/ is home). Empty input skips it.
func askTemplateValue(t prompt.Terminal, sec manifest.Secret, home string) ([]byte, error) {
	if sec.Type != store.TypeKey && sec.Type != store.TypeFile {
		return t.ReadPassword(fmt.Sprintf("Value for %s (input hidden, empty skips it): ", sec.Name))
	}
	path, err := prompt.ReadLine(t, fmt.Sprintf("File holding %s (a %s; empty skips it): ", sec.Name, sec.Type))
	if err != nil || strings.TrimSpace(path) == "" {
		return nil, err
	}
	path = strings.TrimSpace(path)
	if rest, ok := strings.CutPrefix(path, "~/"); ok && home != "" {
		path = filepath.Join(home, rest)
	}
	return ReadCapped(path, nil)
}
