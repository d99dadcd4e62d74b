package audit

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// This file reads what GitContext reports straight from a repository's
// files, as git lays them out: the .git directory or file, commondir,
// HEAD, loose and packed refs, and [remote "origin"] in the config. It
// does not link a git library: their package initialisers would cost
// every wsx process at start-up, while this reads a handful of small files
// only when a record needs them. The tests check it against go-git and
// the git command on the same repositories.

// maxGitFile bounds what is read of HEAD, a ref or the config; packed-refs
// is scanned line by line.
const maxGitFile = 1 << 20

// gitRepo is a repository found from a directory.
type gitRepo struct {
	root   string // the work tree; the git directory of a bare repository
	gitDir string // HEAD and per-worktree refs
	common string // shared refs, packed-refs and config
}

// findGitRepo finds the repository that holds dir: the first dir or parent
// with a .git directory or a .git file naming one, else dir itself when it
// is a bare repository.
func findGitRepo(dir string) (gitRepo, bool) {
	if dir == "" {
		return gitRepo{}, false
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return gitRepo{}, false
	}
	for d := dir; ; {
		dotgit := filepath.Join(d, ".git")
		if fi, err := os.Stat(dotgit); err == nil {
			gitDir := dotgit
			if !fi.IsDir() {
				// A linked work tree or a submodule: "gitdir: PATH".
				b, err := readSmall(dotgit)
				if err != nil {
					return gitRepo{}, false
				}
				p, ok := strings.CutPrefix(strings.TrimSpace(string(b)), "gitdir:")
				if !ok {
					return gitRepo{}, false
				}
				gitDir = resolvePath(d, strings.TrimSpace(p))
			}
			if !isGitDir(gitDir) {
				return gitRepo{}, false
			}
			return gitRepo{root: d, gitDir: gitDir, common: commonDir(gitDir)}, true
		}
		parent := filepath.Dir(d)
		if parent == d {
			break
		}
		d = parent
	}
	if isGitDir(dir) {
		return gitRepo{root: dir, gitDir: dir, common: commonDir(dir)}, true
	}
	return gitRepo{}, false
}

// isGitDir reports whether dir looks like a git directory: a HEAD file and
// an objects directory (in it or in its commondir).
func isGitDir(dir string) bool {
	if fi, err := os.Stat(filepath.Join(dir, "HEAD")); err != nil || !fi.Mode().IsRegular() {
		return false
	}
	fi, err := os.Stat(filepath.Join(commonDir(dir), "objects"))
	return err == nil && fi.IsDir()
}

// commonDir is the directory a linked work tree's git directory shares
// with the main one (its commondir file), or gitDir itself.
func commonDir(gitDir string) string {
	b, err := readSmall(filepath.Join(gitDir, "commondir"))
	if err != nil {
		return gitDir
	}
	if p := strings.TrimSpace(string(b)); p != "" {
		return resolvePath(gitDir, p)
	}
	return gitDir
}

func resolvePath(base, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(base, p)
}

func readSmall(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxGitFile+1))
	if err == nil && len(b) > maxGitFile {
		err = errors.New("too large")
	}
	return b, err
}

// head returns the branch HEAD is on ("" when detached) and the commit it
// points to ("" when the branch has no commit yet).
func (r gitRepo) head() (branch, commit string) {
	b, err := readSmall(filepath.Join(r.gitDir, "HEAD"))
	if err != nil {
		return "", ""
	}
	v := strings.TrimSpace(string(b))
	ref, symbolic := strings.CutPrefix(v, "ref:")
	if !symbolic {
		if isHash(v) {
			return "", v
		}
		return "", ""
	}
	ref = strings.TrimSpace(ref)
	branch, _ = strings.CutPrefix(ref, "refs/heads/")
	if branch == ref {
		branch = ""
	}
	return branch, r.resolve(ref)
}

// resolve follows ref (through symbolic refs, a few levels deep) to a
// commit: a loose ref file first, then packed-refs.
func (r gitRepo) resolve(ref string) string {
	for range 5 {
		if !validRefName(ref) {
			return ""
		}
		v, ok := r.looseRef(ref)
		if !ok {
			return r.packedRef(ref)
		}
		next, symbolic := strings.CutPrefix(v, "ref:")
		if !symbolic {
			if isHash(v) {
				return v
			}
			return ""
		}
		ref = strings.TrimSpace(next)
	}
	return ""
}

// looseRef reads refs/... from the work tree's own git directory or the
// common one.
func (r gitRepo) looseRef(ref string) (string, bool) {
	for _, dir := range []string{r.gitDir, r.common} {
		if b, err := readSmall(filepath.Join(dir, filepath.FromSlash(ref))); err == nil {
			return strings.TrimSpace(string(b)), true
		}
		if dir == r.common {
			break
		}
	}
	return "", false
}

func (r gitRepo) packedRef(ref string) string {
	f, err := os.Open(filepath.Join(r.common, "packed-refs"))
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' || line[0] == '^' {
			continue
		}
		h, name, ok := strings.Cut(line, " ")
		if ok && name == ref && isHash(h) {
			return h
		}
	}
	return ""
}

// validRefName refuses names that would leave the git directory.
func validRefName(ref string) bool {
	if !strings.HasPrefix(ref, "refs/") || strings.Contains(ref, "..") || strings.ContainsAny(ref, "\\\x00") {
		return false
	}
	return true
}

// isHash reports whether s is a full SHA-1 or SHA-256 object name in hex.
func isHash(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// originURL returns the first url of [remote "origin"] in the repository's
// config, "" when there is none. It reads git's config syntax: sections
// and subsections, case-insensitive names, quoted values with escapes,
// comments and continued lines; includes are not followed.
func (r gitRepo) originURL() string {
	b, err := readSmall(filepath.Join(r.common, "config"))
	if err != nil {
		return ""
	}
	inOrigin := false
	lines := bytes.Split(b, []byte("\n"))
	for i := 0; i < len(lines); i++ {
		line := strings.TrimSpace(strings.TrimSuffix(string(lines[i]), "\r"))
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			inOrigin = isOriginSection(line)
			continue
		}
		if !inOrigin {
			continue
		}
		name, value, hasValue := strings.Cut(line, "=")
		if !strings.EqualFold(strings.TrimSpace(name), "url") || !hasValue {
			continue
		}
		// A value may go on over lines that end in a backslash.
		for strings.HasSuffix(strings.TrimRight(value, " \t"), "\\") && i+1 < len(lines) && !endsEscaped(value) {
			value = strings.TrimRight(value, " \t")
			value = value[:len(value)-1] + strings.TrimSuffix(string(lines[i+1]), "\r")
			i++
		}
		return configValue(value)
	}
	return ""
}

// endsEscaped reports whether the final backslash of v is itself escaped.
func endsEscaped(v string) bool {
	v = strings.TrimRight(v, " \t")
	n := 0
	for i := len(v) - 1; i >= 0 && v[i] == '\\'; i-- {
		n++
	}
	return n%2 == 0
}

// isOriginSection reports whether a section header is [remote "origin"]
// (or the old [remote.origin]).
func isOriginSection(line string) bool {
	end := strings.IndexByte(line, ']')
	if end < 0 {
		return false
	}
	h := strings.TrimSpace(line[1:end])
	if sec, sub, ok := strings.Cut(h, " "); ok {
		sub = strings.TrimSpace(sub)
		return strings.EqualFold(sec, "remote") && sub == `"origin"`
	}
	return strings.EqualFold(h, "remote.origin")
}

// configValue decodes a config value: surrounding blanks go, quotes group,
// \" \\ \n \t \b are escapes, and ; or # outside quotes starts a comment.
func configValue(v string) string {
	var out strings.Builder
	quoted := false
	pending := "" // blanks kept only when more text follows
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '"':
			quoted = !quoted
			continue
		case c == '\\' && i+1 < len(v):
			i++
			out.WriteString(pending)
			pending = ""
			switch v[i] {
			case 'n':
				out.WriteByte('\n')
			case 't':
				out.WriteByte('\t')
			case 'b':
				if out.Len() > 0 {
					s := out.String()
					out.Reset()
					out.WriteString(s[:len(s)-1])
				}
			default:
				out.WriteByte(v[i])
			}
			continue
		case !quoted && (c == ';' || c == '#'):
			return out.String()
		case !quoted && (c == ' ' || c == '\t'):
			if out.Len() > 0 {
				pending += string(c)
			}
			continue
		}
		out.WriteString(pending)
		pending = ""
		out.WriteByte(c)
	}
	return out.String()
}
