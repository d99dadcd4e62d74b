package exec

import (
	"fmt"
	"slices"
	"strings"

	"github.com/wsxdev/wsx/internal/release"
	"github.com/wsxdev/wsx/store"
)

// MissingError is returned when the wsx.toml that governs the working
// directory requires secrets the store does not have (Selection.Required).
type MissingError struct {
	Names []string
	// project is the Project's account of them (MissingNames), which
	// names the command that adds each; nil: Error's own.
	project error
}

func (e *MissingError) Error() string {
	if e.project != nil {
		return e.project.Error()
	}
	return fmt.Sprintf("wsx.toml requires secrets that are not in the store: %s: %v", strings.Join(e.Names, ", "), store.ErrNotFound)
}

func (e *MissingError) Unwrap() error {
	if e.project != nil {
		return e.project
	}
	return store.ErrNotFound
}

// Choose picks, from the store's metadata (and List's error: the secrets
// that could not be read), the secrets a command gets: those sel names,
// or else every token, password and file secret, less those skip says
// are not for programs (nil: none). It is the one choice of `wsx exec`:
// made here from a list, or by the agent for a Selection sent to it. It
// refuses what cannot be met (an unknown or unreadable name asked for, a
// dangerous name asked for without AllowDangerous, a missing required
// secret, a secret named for the proxy that cannot go through it) and
// notes what it leaves out.
func Choose(metas []store.Meta, listErr error, sel release.Selection, skip func(store.Meta) bool) (release.Choice, error) {
	var c release.Choice
	dmg, err := damaged(listErr)
	if err != nil {
		return c, err
	}
	if sel.Governed && len(sel.Only) == 0 && len(sel.Required) > 0 {
		if err := checkRequired(metas, dmg, sel.Required); err != nil {
			return c, err
		}
	}
	if err := checkDamaged(dmg, sel, &c.Notes); err != nil {
		return c, err
	}
	var avail []store.Meta
	for _, m := range metas {
		// Names from an agent are checked as the store checks them.
		if err := store.ValidateName(m.Name); err != nil {
			return c, err
		}
		_, renamed := sel.Rename[m.Name]
		if (skip == nil || !skip(m)) && (renamed || !slices.Contains(sel.Exclude, m.Name)) {
			avail = append(avail, m)
		}
	}
	if err := checkRenames(avail, sel.Rename); err != nil {
		return c, err
	}
	named := true
	var chosen []store.Meta
	switch {
	case len(sel.Only) > 0:
		if chosen, err = pickOnly(avail, sel.Only); err != nil {
			return c, err
		}
	case sel.Governed:
		chosen = slices.DeleteFunc(slices.Clone(avail), func(m store.Meta) bool { return !slices.Contains(sel.Manifest, m.Name) })
	default:
		named = false
		chosen = slices.DeleteFunc(slices.Clone(avail), func(m store.Meta) bool { return m.Type == store.TypeKey })
	}
	chosen = withRenamed(avail, chosen, sel.Rename)
	if chosen, err = dropShadowed(&c.Notes, chosen, sel.Rename, named); err != nil {
		return c, err
	}
	c.Metas, c.RemindAt = chosen, len(c.Notes)
	var names []string
	for _, m := range chosen {
		if v := varName(sel.Rename, m.Name); v != m.Name {
			// Renamed: the command sees v, not the secret's own name.
			if store.DangerousName(v) && !sel.AllowDangerous {
				return c, fmt.Errorf("--env %s=%s: %w", v, m.Name, store.CheckDangerousName(v))
			}
			names = append(names, m.Name)
			continue
		}
		if store.DangerousName(m.Name) && !sel.AllowDangerous {
			if named {
				return c, fmt.Errorf("secret %s: the name could change what the command runs or loads: %w", m.Name, store.ErrDangerousName)
			}
			c.Notes = append(c.Notes, fmt.Sprintf("warning: %s is left out: the name could change what the command runs or loads; name it with --only and add --allow-dangerous-name to inject it", m.Name))
			continue
		}
		names = append(names, m.Name)
	}
	c.Names, c.Proxied, err = splitProxied(sel, names, chosen, &c.Notes)
	return c, err
}

// checkRequired refuses a run that lacks a secret the governing wsx.toml
// requires.
func checkRequired(metas []store.Meta, dmg *store.DamagedError, required []string) error {
	var missing []string
	for _, n := range required {
		if !slices.ContainsFunc(metas, func(m store.Meta) bool { return m.Name == n }) && (dmg == nil || !slices.Contains(dmg.Names, n)) {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return &MissingError{Names: missing}
	}
	return nil
}

// pickOnly returns the secrets of avail named in only, in the order of
// avail.
func pickOnly(avail []store.Meta, only []string) ([]store.Meta, error) {
	all := make([]string, len(avail))
	for i, m := range avail {
		all[i] = m.Name
	}
	for _, n := range only {
		if !slices.Contains(all, n) {
			return nil, &UnknownNameError{Name: n, Avail: all}
		}
	}
	return slices.DeleteFunc(slices.Clone(avail), func(m store.Meta) bool { return !slices.Contains(only, m.Name) }), nil
}
