package scan

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"regexp"
	"strings"
	"sync"
)

// IgnoreFile is the allowlist a scan reads from the top of the work tree
// (or the scanned directory outside git).
//
// Each line is a comment (#), a fingerprint as a finding prints it
// ([COMMIT:]FILE:RULE-OR-NAME:LINE), or a path glob in / separated form:
// `*` and `?` within a name, `**` for any number of directories, a
// pattern without / matching a base name at any depth, and one ending in
// / a whole directory. Files a glob matches are not read at all.
const IgnoreFile = ".wsxscanignore"

// maxDoubleStars bounds the ** of a glob: each one multiplies the work
// of matching a path, and the file comes with the repository.
const maxDoubleStars = 3

type allowlist struct {
	globs        []string
	fingerprints map[string]bool
}

// fingerprintLine matches a finding's fingerprint; compiled on first use.
var fingerprintLine = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(?:[0-9a-f]{40,64}:)?.+:[A-Za-z0-9_.-]+:[0-9]+$`)
})

// readAllowlist reads file; a missing file allows nothing.
func readAllowlist(file string) (*allowlist, error) {
	a := &allowlist{fingerprints: map[string]bool{}}
	b, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return a, nil
	}
	if err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case fingerprintLine().MatchString(line):
			a.fingerprints[line] = true
		case strings.Count(line, "**") > maxDoubleStars:
			return nil, fmt.Errorf("%s:%d: pattern %q has more than %d ** in it", file, n, line, maxDoubleStars)
		default:
			if _, err := path.Match(strings.ReplaceAll(strings.TrimSuffix(line, "/"), "**", "*"), ""); err != nil {
				return nil, fmt.Errorf("%s:%d: bad pattern %q: %w", file, n, line, err)
			}
			a.globs = append(a.globs, line)
		}
	}
	return a, sc.Err()
}

// allowsPath reports whether p (/ separated, relative to the top) matches
// a glob.
func (a *allowlist) allowsPath(p string) bool {
	if a == nil {
		return false
	}
	p = strings.TrimPrefix(path.Clean("/"+p), "/")
	for _, g := range a.globs {
		if matchGlob(g, p) {
			return true
		}
	}
	return false
}

func (a *allowlist) allowsFinding(f Finding) bool {
	if a == nil {
		return false
	}
	return a.fingerprints[f.Fingerprint] || a.allowsPath(f.File)
}

// matchGlob matches p against the glob g (see IgnoreFile).
func matchGlob(g, p string) bool {
	g = strings.Trim(g, "/")
	gs := strings.Split(g, "/")
	ps := strings.Split(p, "/")
	if len(gs) == 1 && g != "**" {
		// A base name pattern: any component (a directory's, too).
		for _, c := range ps {
			if ok, _ := path.Match(g, c); ok {
				return true
			}
		}
		return false
	}
	// A path pattern matches p or a directory above it.
	for n := len(ps); n >= 1; n-- {
		if matchParts(gs, ps[:n]) {
			return true
		}
	}
	return false
}

func matchParts(gs, ps []string) bool {
	for len(gs) > 0 {
		if gs[0] == "**" {
			for i := 0; i <= len(ps); i++ {
				if matchParts(gs[1:], ps[i:]) {
					return true
				}
			}
			return false
		}
		if len(ps) == 0 {
			return false
		}
		if ok, _ := path.Match(gs[0], ps[0]); !ok {
			return false
		}
		gs, ps = gs[1:], ps[1:]
	}
	return len(ps) == 0
}
