package fetch

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"

	"github.com/wsxdev/wsx/manifest"
	"github.com/wsxdev/wsx/store"
)

// Sourcing returns the wsx.toml governing dir when it sources at least one
// secret; nil when there is none, or it cannot be read (the command then
// reports the manifest's problems itself).
func Sourcing(dir string) *manifest.Manifest {
	path, found, err := manifest.Find(dir)
	if err != nil || !found {
		return nil
	}
	m, err := manifest.Load(path)
	if err != nil || len(m.Sourced()) == 0 {
		return nil
	}
	return m
}

// Only keeps, of names, those m sources; nil for none given.
func Only(m *manifest.Manifest, names []string) []string {
	var out []string
	for _, sec := range m.Sourced() {
		if slices.Contains(names, sec.Name) {
			out = append(out, sec.Name)
		}
	}
	return out
}

// WriteResults prints results for `wsx sync`: one line per secret (name,
// status, source and version), or with asJSON {"secrets": [...]}.
func WriteResults(w io.Writer, results []Result, asJSON bool) error {
	if asJSON {
		b, err := json.MarshalIndent(struct {
			Secrets []Result `json:"secrets"`
		}{results}, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	for _, r := range results {
		what := r.Detail
		if what == "" {
			what = r.Source
		}
		if _, err := fmt.Fprintf(w, "%-24s %-9s %s\n", r.Name, r.Status, what); err != nil {
			return err
		}
	}
	return nil
}

// NotForPrograms says which secrets `wsx exec` leaves out of a command
// that does not name its secrets (no --only, no wsx.toml): those the
// providers read their credentials from, as home's StateFile lists them,
// unless renamed (--env). Nil when there are none.
func NotForPrograms(home string, renamed map[string]string) func(store.Meta) bool {
	creds := Credentials(home)
	if len(creds) == 0 {
		return nil
	}
	return func(m store.Meta) bool {
		_, named := renamed[m.Name]
		return !named && slices.Contains(creds, m.Name)
	}
}
