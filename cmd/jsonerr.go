package cmd

import (
	"errors"
	"io"
	"strings"

	"github.com/wsxdev/wsx/internal/hint"
	"github.com/wsxdev/wsx/secrets"
)

// errorJSON is what a command run with --json prints on stdout when it
// fails, so a program reading stdout gets an answer it can parse. Fields are
// only ever added.
type errorJSON struct {
	Error string `json:"error"`
	Code  int    `json:"code"`
	Hint  string `json:"hint,omitempty"`
}

// wantsJSON reports whether args ask for --json output: a --json flag
// (or --json=true) anywhere before a "--".
func wantsJSON(args []string) bool {
	for _, a := range args[min(1, len(args)):] {
		switch {
		case a == "--":
			return false
		case a == "--json" || a == "-json" || a == "--json=true" || a == "-json=true":
			return true
		}
	}
	return false
}

// reportJSONError prints err as errorJSON on stdout. An error that only
// carries an exit code (the command printed its own answer, such as
// doctor's report) prints nothing.
func reportJSONError(stdout io.Writer, err error, code int) {
	var ee exitError
	if _, said := errors.AsType[hint.Said](err); err == nil || said || (errors.As(err, &ee) && ee.Err == nil) {
		return
	}
	secrets.WriteJSON(stdout, errorJSON{Error: strings.TrimSpace(err.Error()), Code: code, Hint: hintOf(err)})
}
