package store

import (
	"os"
	"path/filepath"
	"strings"
)

// ItemNames lists the names of a file-backend store's items from their
// file names, without opening any.
func ItemNames(home string) []string {
	ents, err := os.ReadDir(filepath.Join(home, "items"))
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		n, ok := strings.CutSuffix(e.Name(), ".wsx")
		if ok && e.Type().IsRegular() && ValidateName(n) == nil {
			out = append(out, n)
		}
	}
	return out
}

// CaseTwin returns the name in names that equals name but for case.
func CaseTwin(name string, names []string) string {
	for _, n := range names {
		if n != name && strings.EqualFold(n, name) {
			return n
		}
	}
	return ""
}
