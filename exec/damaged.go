package exec

import (
	"errors"
	"fmt"
	"slices"

	"github.com/wsxdev/wsx/internal/release"
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
// read (with --only, --env or in wsx.toml), and warns of the others, which
// it runs without.
func checkDamaged(dmg *store.DamagedError, sel release.Selection, notes *[]string) error {
	if dmg == nil {
		return nil
	}
	for i, n := range dmg.Names {
		where := ""
		switch {
		case sel.Rename[n] != "":
			where = "--env " + sel.Rename[n] + "=" + n
		case slices.Contains(sel.Only, n):
			where = "--only " + n
		case len(sel.Only) == 0 && sel.Governed && slices.Contains(sel.Manifest, n):
			where = "wsx.toml's " + n
		default:
			continue
		}
		var why error = dmg
		if i < len(dmg.Errs) {
			why = dmg.Errs[i]
		}
		return fmt.Errorf("%s: the secret cannot be read: %w", where, why)
	}
	*notes = append(*notes, dmg.Warnings()...)
	return nil
}
