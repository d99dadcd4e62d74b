package secrets

import (
	"fmt"
	"io"

	"github.com/wsxdev/wsx/scan"
	"github.com/wsxdev/wsx/store"
)

// ScanMatcher is the matcher of every stored value, current and previous,
// of st, for wsx scan; damaged secrets and values too short to look for
// are said on w. Matching is not a use: the values stay in this process,
// which holds the store unlocked anyway, and no program receives them.
func ScanMatcher(list Store, st *store.Store, w io.Writer) (scan.Matcher, error) {
	metas, err := list.List()
	if err != nil && metas == nil {
		return nil, err
	}
	if err != nil {
		fmt.Fprintf(w, "wsx: warning: %v; the other secrets are looked for\n", err)
	}
	var vals []scan.Value
	for _, m := range metas {
		sec, err := st.Get(m.Name)
		if err != nil {
			fmt.Fprintf(w, "wsx: warning: secret %s is not looked for: %v\n", m.Name, err)
			continue
		}
		vals = append(vals, scan.Value{Secret: sec.Name, Bytes: sec.Value.Bytes()})
		if !sec.PreviousValue.IsZero() {
			vals = append(vals, scan.Value{Secret: sec.Name, Previous: true, Bytes: sec.PreviousValue.Bytes()})
		}
	}
	vm, short := scan.NewValueMatcher(vals)
	for _, name := range short {
		fmt.Fprintf(w, "wsx: note: %s is shorter than %d bytes: too short to look for\n", name, scan.MinValueLen)
	}
	return vm, nil
}
