package exec

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/wsxdev/wsx/internal/hint"

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
func dropShadowed(notes *[]string, chosen []store.Meta, rename map[string]string, named bool) ([]store.Meta, error) {
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
		*notes = append(*notes, fmt.Sprintf("warning: %s is left out: --env gives %s the value of %s", m.Name, m.Name, old))
	}
	return out, nil
}

// ParseOnly reads --only: comma-separated names, repeatable, each once.
func ParseOnly(only []string) ([]string, error) {
	if len(only) == 0 {
		return nil, nil
	}
	var names []string
	for _, n := range only {
		for part := range strings.SplitSeq(n, ",") {
			if part = strings.TrimSpace(part); part != "" && !slices.Contains(names, part) {
				names = append(names, part)
			}
		}
	}
	if len(names) == 0 {
		return nil, hint.Usagef("--only needs at least one NAME")
	}
	return names, nil
}

// ParseRenames reads --env: NEW=OLD, repeatable, into a map from OLD to
// NEW. Each secret is renamed once, and each NEW names one secret.
func ParseRenames(flags []string) (map[string]string, error) {
	if len(flags) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(flags))
	vars := make(map[string]string, len(flags))
	for _, f := range flags {
		v, old, ok := strings.Cut(strings.TrimSpace(f), "=")
		if !ok {
			return nil, hint.Usagef("--env %q: want NEW=OLD, e.g. --env GH_TOKEN=GITHUB_TOKEN", f)
		}
		for _, n := range []string{v, old} {
			if err := store.ValidateName(n); err != nil {
				return nil, hint.Usagef("--env %s: %v", f, err)
			}
		}
		if prev, dup := out[old]; dup && prev != v {
			return nil, hint.Usagef("--env: %s is renamed twice, to %s and %s", old, prev, v)
		}
		if prev, dup := vars[v]; dup && prev != old {
			return nil, hint.Usagef("--env: both %s and %s would go in as %s", prev, old, v)
		}
		out[old], vars[v] = v, old
	}
	return out, nil
}

// MergeRenames adds to flags (--env, which wins) the renames of a
// manifest's env for the secrets flags does not rename.
func MergeRenames(flags, manifest map[string]string) map[string]string {
	for old, v := range manifest {
		if _, ok := flags[old]; !ok {
			if flags == nil {
				flags = map[string]string{}
			}
			flags[old] = v
		}
	}
	return flags
}
