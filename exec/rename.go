package exec

import (
	"fmt"
	"io"
	"slices"
	"sort"

	"github.com/wsxdev/wsx/store"
)

// varName is the variable the secret name goes in as: its own name unless
// rename gives another.
func varName(rename map[string]string, name string) string {
	if v, ok := rename[name]; ok {
		return v
	}
	return name
}

// checkRenames checks Spec.Rename against the secrets there are: each
// renamed secret exists, each new name is a valid name, and no two
// secrets go in as one variable. Dangerous names are checked with the
// others, in choose.
func checkRenames(avail []store.Meta, rename map[string]string) error {
	if len(rename) == 0 {
		return nil
	}
	all := make([]string, len(avail))
	for i, m := range avail {
		all[i] = m.Name
	}
	olds := make([]string, 0, len(rename))
	for old := range rename {
		olds = append(olds, old)
	}
	sort.Strings(olds)
	by := make(map[string]string, len(rename))
	for _, old := range olds {
		v := rename[old]
		if !slices.Contains(all, old) {
			return &UnknownNameError{Name: old, Avail: all, Flag: fmt.Sprintf("--env %s=", v)}
		}
		if err := store.ValidateName(v); err != nil {
			return fmt.Errorf("--env %s=%s: %w", v, old, err)
		}
		if other, dup := by[v]; dup {
			return fmt.Errorf("--env %s: both %s and %s would go in as %s; rename one of them to another name: %w", v, other, old, v, store.ErrInvalidName)
		}
		by[v] = old
	}
	return nil
}

// withRenamed returns the secrets of avail that are chosen or renamed, in
// the order of avail: naming a secret in --env chooses it.
func withRenamed(avail, chosen []store.Meta, rename map[string]string) []store.Meta {
	if len(rename) == 0 {
		return chosen
	}
	return slices.DeleteFunc(slices.Clone(avail), func(m store.Meta) bool {
		_, renamed := rename[m.Name]
		return !renamed && !slices.ContainsFunc(chosen, func(c store.Meta) bool { return c.Name == m.Name })
	})
}

// dropShadowed leaves out a secret whose own name another secret takes
// with --env: with a warning when it was not named, else with an error.
func dropShadowed(w io.Writer, chosen []store.Meta, rename map[string]string, named bool) ([]store.Meta, error) {
	if len(rename) == 0 {
		return chosen, nil
	}
	taken := make(map[string]string, len(rename))
	for old, v := range rename {
		taken[v] = old
	}
	out := chosen[:0:0]
	for _, m := range chosen {
		old, shadowed := taken[m.Name]
		if _, renamed := rename[m.Name]; renamed || !shadowed {
			out = append(out, m)
			continue
		}
		if named {
			return nil, fmt.Errorf("--env %s=%s: the secret %s is asked for under its own name too; leave it out or rename it: %w", m.Name, old, m.Name, store.ErrInvalidName)
		}
		fmt.Fprintf(w, "wsx: warning: %s is left out: --env gives %s the value of %s\n", m.Name, m.Name, old)
	}
	return out, nil
}
