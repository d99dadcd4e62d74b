package release

import (
	"context"
	"errors"

	"github.com/wsxdev/wsx/store"
)

// Selection is a use that does not name its secrets: what `wsx exec` was
// asked for (--only, wsx.toml, --env, or every secret), for the side that
// holds the metadata to choose from (exec.Choose) and release in the same
// step. Through the agent it is one request: POST /v1/use with a
// selection in place of names.
type Selection struct {
	// Only names the secrets asked for (--only); empty: see Governed.
	Only []string `json:"only,omitempty"`
	// Governed says a wsx.toml governs the working directory; Manifest
	// holds the names it declares and Required those it requires.
	Governed bool     `json:"governed,omitempty"`
	Manifest []string `json:"manifest,omitempty"`
	Required []string `json:"required,omitempty"`
	// Rename maps a secret's name to the variable it goes in as.
	Rename map[string]string `json:"rename,omitempty"`
	// AllowDangerous injects names that could change what the command
	// runs when they are named.
	AllowDangerous bool `json:"allow_dangerous,omitempty"`
	// Exclude names secrets left out unless renamed (provider
	// credentials, which go in only when named).
	Exclude []string `json:"exclude,omitempty"`
	// Inject is "env" or "proxy" (exec.InjectEnv, exec.InjectProxy);
	// ProxyNames go through the proxy whatever Inject says.
	Inject     string   `json:"inject,omitempty"`
	ProxyNames []string `json:"proxy_names,omitempty"`
	// Script is the script the command runs, if any: its records say
	// the line of it that names each secret.
	Script *Script `json:"script,omitempty"`
}

// Script is a script a command runs, as the records show it: its path,
// and the first line of each word in it that could be a variable's name.
type Script struct {
	File  string         `json:"file"`
	Lines map[string]int `json:"lines,omitempty"`
}

// Place is where the script names the variable v: the file, and the line
// (0 when it does not name it).
func (s *Script) Place(v string) Place { return Place{File: s.File, Line: s.Lines[v]} }

// Choice is what a Selection chose.
type Choice struct {
	// Names are the secrets whose values go to the command, in the
	// store's order.
	Names []string `json:"names,omitempty"`
	// Proxied are the secrets that go through the proxy: chosen, not
	// released.
	Proxied []string `json:"proxied,omitempty"`
	// Metas are the metadata of the secrets chosen (for reminders of an
	// overdue rotation, and the hosts of the proxied ones).
	Metas []store.Meta `json:"metas,omitempty"`
	// Notes are the warnings for the user, in order; the reminders go
	// before Notes[RemindAt].
	Notes    []string `json:"notes,omitempty"`
	RemindAt int      `json:"remind_at,omitempty"`
}

// Selector chooses and releases in one step: it records the use of the
// secrets sel chooses (Use's records, Places from sel.Script), then
// returns the choice and their values, in the order of Choice.Names.
// ErrChooseHere means nothing was chosen or released: the caller lists
// and chooses itself, which also reports why the selection cannot be
// met.
type Selector interface {
	UseSelected(ctx context.Context, sel Selection, rec Record) (Choice, []store.Secret, error)
}

// ErrChooseHere is a Selector's answer when the caller must choose with
// List and Use (a selection it refuses, or one it cannot serve).
var ErrChooseHere = errors.New("choose the secrets with the list")
