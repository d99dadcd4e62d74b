// Package home finds where a store lives (WSX_HOME, XDG_DATA_HOME, HOME,
// WSX_WORKSPACE) and where its agent's sockets go (XDG_RUNTIME_DIR).
package home

import (
	"errors"
	"path/filepath"

	"github.com/wsxdev/wsx/internal/hint"
)

// Dir is where the store, the audit log and the run directory live:
// WSX_HOME when set, else $XDG_DATA_HOME/wsx, else ~/.local/share/wsx. A
// workspace named by WSX_WORKSPACE gets its own store there: wsx-NAME.
func Dir(getenv func(string) string) (string, error) {
	if h := getenv("WSX_HOME"); h != "" {
		return filepath.Abs(h)
	}
	name, err := dirName(getenv)
	if err != nil {
		return "", err
	}
	if x := getenv("XDG_DATA_HOME"); x != "" {
		return filepath.Join(x, name), nil
	}
	if h := getenv("HOME"); h != "" {
		return filepath.Join(h, ".local", "share", name), nil
	}
	return "", errors.New("cannot find a home for the store: set WSX_HOME or HOME")
}

// dirName is the name of the store's directory, and of its run
// directory: "wsx", or "wsx-NAME" for the workspace WSX_WORKSPACE=NAME.
func dirName(getenv func(string) string) (string, error) {
	ws := getenv("WSX_WORKSPACE")
	if ws == "" {
		return "wsx", nil
	}
	if !validWorkspace(ws) {
		return "", hint.Usagef("WSX_WORKSPACE=%q: a workspace name is 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit", ws)
	}
	return "wsx-" + ws, nil
}

func validWorkspace(ws string) bool {
	if len(ws) == 0 || len(ws) > 64 {
		return false
	}
	for i, r := range ws {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case i > 0 && (r == '.' || r == '_' || r == '-'):
		default:
			return false
		}
	}
	return true
}

// RunDir is where the agent's sockets live: WSX_HOME/run when WSX_HOME is
// set, else $XDG_RUNTIME_DIR/wsx (wsx-NAME for WSX_WORKSPACE=NAME), else
// the store's home/run.
func RunDir(getenv func(string) string, home string) string {
	if getenv("WSX_HOME") != "" {
		return filepath.Join(home, "run")
	}
	if x := getenv("XDG_RUNTIME_DIR"); filepath.IsAbs(x) {
		if name, err := dirName(getenv); err == nil {
			return filepath.Join(x, name)
		}
	}
	return filepath.Join(home, "run")
}
