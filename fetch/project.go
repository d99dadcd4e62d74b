package fetch

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"

	"github.com/wsxdev/wsx/manifest"
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
