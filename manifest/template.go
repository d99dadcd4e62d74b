package manifest

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/wsxdev/wsx/internal/hint"
	"github.com/wsxdev/wsx/store"
)

// Locate loads the manifest at file, or the one found from the
// current directory.
func Locate(cwd, file string) (*Manifest, error) {
	if file == "" {
		if cwd == "" {
			return nil, errors.New("the working directory is unknown; name the file with --file")
		}
		p, found, err := Find(cwd)
		if err != nil {
			return nil, err
		}
		if !found {
			return nil, hint.With(fmt.Errorf("no %s in %s or its parents up to the git root", Name, cwd),
				"create one at the repository's root (`wsx template --help` shows the format), or pass --file PATH")
		}
		file = p
	}
	return Load(file)
}

// Governing returns the manifest that governs cwd (Find), nil when there
// is none. A manifest that cannot be read is an error: what it asks for
// (the proxy, its required secrets) cannot be left undone.
func Governing(cwd string) (*Manifest, error) {
	path, found, err := Find(cwd)
	if err != nil || !found {
		return nil, err
	}
	return Load(path)
}

// Declared returns the names of m's secrets, in manifest order, and
// those of the required ones.
func (m *Manifest) Declared() (names, required []string) {
	for _, sec := range m.Secrets {
		names = append(names, sec.Name)
		if sec.Required {
			required = append(required, sec.Name)
		}
	}
	return names, required
}

// MissingNames is MissingError for the required secrets of m named in
// names, which the store does not have (the error, exit 3, names each one
// with the command that adds it).
func (m *Manifest) MissingNames(names []string) error {
	var missing []Secret
	for _, sec := range m.Secrets {
		if slices.Contains(names, sec.Name) {
			missing = append(missing, sec)
		}
	}
	return MissingError(m, missing)
}

// MissingError reports the required secrets of m that are missing.
func MissingError(m *Manifest, missing []Secret) error {
	names := make([]string, len(missing))
	cmds := make([]string, len(missing))
	for i, sec := range missing {
		names[i] = sec.Name
		cmds[i] = "`" + AddCommand(sec) + "`"
	}
	return hint.With(fmt.Errorf("%s requires secrets that are not in the store: %s: %w", m.Path, strings.Join(names, ", "), store.ErrNotFound),
		"add each with %s, or run `wsx template init` to be asked for them", strings.Join(cmds, "; "))
}

// Check is `wsx template check`: each secret of m, whether the store has
// it (have are its names), and the command that adds a missing one.
func (m *Manifest) Check(out, errw io.Writer, have []string) error {
	missing, _ := m.Missing(have)
	present := make(map[string]bool, len(have))
	for _, n := range have {
		present[n] = true
	}
	for _, sec := range m.Secrets {
		kind := string(sec.Type)
		if !sec.Required {
			kind += ", optional"
		}
		switch {
		case present[sec.Name]:
			fmt.Fprintf(out, "ok       %s (%s)\n", sec.Name, kind)
			continue
		case sec.Required:
			fmt.Fprintf(out, "missing  %s (%s)", sec.Name, kind)
		default:
			fmt.Fprintf(out, "absent   %s (%s)", sec.Name, kind)
		}
		if sec.Description != "" {
			fmt.Fprintf(out, " — %s", sec.Description)
		}
		fmt.Fprintf(out, "\n         %s\n", AddCommand(sec))
		if twin := store.CaseTwin(sec.Name, have); twin != "" {
			fmt.Fprintf(out, "         (the store has %s: names differ in case)\n", twin)
		}
	}
	if len(missing) > 0 {
		names := make([]string, len(missing))
		for i, sec := range missing {
			names[i] = sec.Name
		}
		return hint.With(fmt.Errorf("%d required secrets of %s are missing: %s: %w", len(missing), m.Path, strings.Join(names, ", "), store.ErrNotFound),
			"add each with the command above it, or run `wsx template init` to be asked for them")
	}
	fmt.Fprintf(errw, "wsx: every required secret of %s is in the store\n", m.Path)
	return nil
}

// Docs is `wsx template docs`: the README section that lists m's secrets.
func (m *Manifest) Docs(w io.Writer) error {
	var b strings.Builder
	if len(m.Secrets) == 0 {
		b.WriteString("Requires no secrets.\n")
	} else {
		b.WriteString("Requires these secrets:\n\n")
		for _, sec := range m.Secrets {
			kind := string(sec.Type)
			if !sec.Required {
				kind += ", optional"
			}
			fmt.Fprintf(&b, "- %s (%s)", sec.Name, kind)
			if sec.Description != "" {
				fmt.Fprintf(&b, " — %s", sec.Description)
			}
			if len(sec.Hosts) > 0 {
				fmt.Fprintf(&b, " (for %s)", strings.Join(sec.Hosts, ", "))
			}
			b.WriteString("\n")
		}
		b.WriteString("\nAdd them with `wsx template init`, or one by one with `wsx add NAME --type TYPE`;\n" +
			"`wsx template check` lists the ones still missing.\n")
	}
	_, err := fmt.Fprint(w, b.String())
	return err
}
