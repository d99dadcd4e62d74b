package secrets

import (
	"fmt"

	"github.com/wsxdev/wsx/manifest"
	"github.com/wsxdev/wsx/store"
)

// Missing lists the secrets of m whose names are not in have.
func Missing(m *manifest.Manifest, have []string) []manifest.Secret {
	present := make(map[string]bool, len(have))
	for _, n := range have {
		present[n] = true
	}
	var todo []manifest.Secret
	for _, sec := range m.Secrets {
		if !present[sec.Name] {
			todo = append(todo, sec)
		}
	}
	return todo
}

// Fill is `wsx template init` once there is a terminal: for each secret of
// todo it asks for the value (ask; empty skips it) and adds it with the
// manifest's type, description and hosts. say prints on the terminal. The
// required secrets still missing at the end are an error naming each.
func (f *Flows) Fill(m *manifest.Manifest, todo []manifest.Secret, say func(string, ...any), ask func(manifest.Secret) ([]byte, error)) error {
	var stillMissing []manifest.Secret
	added := 0
	for _, sec := range todo {
		ok, err := f.fillOne(sec, say, ask)
		if err != nil {
			fmt.Fprintf(f.Stderr, "wsx: %v\n", err)
		}
		if ok {
			added++
		} else if sec.Required {
			stillMissing = append(stillMissing, sec)
		}
	}
	fmt.Fprintf(f.Stderr, "wsx: added %d of the %d secrets missing from the store\n", added, len(todo))
	if len(stillMissing) > 0 {
		return manifest.MissingError(m, stillMissing)
	}
	return nil
}

// fillOne asks for one secret of a manifest and stores it. ok is false when
// it was skipped or refused.
func (f *Flows) fillOne(sec manifest.Secret, say func(string, ...any), ask func(manifest.Secret) ([]byte, error)) (ok bool, err error) {
	opt := ""
	if !sec.Required {
		opt = ", optional"
	}
	if sec.Description != "" {
		say("%s (%s%s): %s\n", sec.Name, sec.Type, opt, sec.Description)
	}
	val, err := ask(sec)
	if err != nil {
		return false, fmt.Errorf("secret %s: %w", sec.Name, err)
	}
	defer clear(val)
	if len(val) == 0 {
		say("skipped %s\n", sec.Name)
		return false, nil
	}
	meta := store.Meta{Name: sec.Name, Type: sec.Type, Description: sec.Description, Hosts: sec.Hosts,
		RotateEvery: store.DefaultRotation(sec.Type)}
	return f.AddValue(meta, val, "from "+manifest.Name)
}
