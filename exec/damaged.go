package exec

import (
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/wsxdev/wsx/store"
)

// damaged splits List's error: the secrets that could not be read (a
// *store.DamagedError, the others listed beside it), or an error that
// stops the command.
func damaged(err error) (*store.DamagedError, error) {
	if de, ok := errors.AsType[*store.DamagedError](err); ok {
		return de, nil
	}
	return nil, err
}

// checkDamaged refuses a command that asks for a secret that cannot be
// read (named in asked, by --only or a wsx.toml, as where says), and warns
// of the others, which it runs without.
func checkDamaged(w io.Writer, dmg *store.DamagedError, asked []string, where string) error {
	if dmg == nil {
		return nil
	}
	for i, n := range dmg.Names {
		if slices.Contains(asked, n) {
			var why error = dmg
			if i < len(dmg.Errs) {
				why = dmg.Errs[i]
			}
			return fmt.Errorf("%s names %s, which cannot be read: %w", where, n, why)
		}
	}
	for _, n := range dmg.Names {
		fmt.Fprintf(w, "wsx: warning: %s cannot be read and is left out (`wsx info %s` says why): restore its item from a backup, or `wsx rm %s` and add it again\n", n, n, n)
	}
	return nil
}
