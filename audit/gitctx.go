package audit

import (
	"net/url"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// GitContext finds the git repository that holds dir (dir itself or a
// parent) and returns its root (the work tree; the git directory for a
// bare repository), the URL of its "origin" remote without credentials
// (see cleanRemote), the current branch ("" when HEAD is detached) and the
// commit HEAD points to ("" in a repository without commits). ok is false
// when dir is in no repository that can be opened. It only reads files:
// no git process, no hook, no network.
func GitContext(dir string) (repoRoot, remote, branch, commit string, ok bool) {
	repo, err := git.PlainOpenWithOptions(dir, &git.PlainOpenOptions{DetectDotGit: true, EnableDotGitCommonDir: true})
	if err != nil {
		// dir itself may be a bare repository, which detection skips.
		repo, err = git.PlainOpen(dir)
		if err != nil {
			return "", "", "", "", false
		}
	}
	if wt, err := repo.Worktree(); err == nil {
		repoRoot = wt.Filesystem.Root()
	} else if st, isFS := repo.Storer.(*filesystem.Storage); isFS {
		repoRoot = st.Filesystem().Root()
	}
	if rem, err := repo.Remote("origin"); err == nil {
		if urls := rem.Config().URLs; len(urls) > 0 {
			remote = cleanRemote(urls[0])
		}
	}
	if ref, err := repo.Reference(plumbing.HEAD, false); err == nil &&
		ref.Type() == plumbing.SymbolicReference && ref.Target().IsBranch() {
		branch = ref.Target().Short()
	}
	if ref, err := repo.Head(); err == nil {
		commit = ref.Hash().String()
	}
	return repoRoot, remote, branch, commit, true
}

// cleanRemote removes what may be a credential from a remote URL. In a URL
// with a scheme it drops any password and, for http(s) and ftp(s), the
// user name too (hosting services accept a token there) and the query and
// fragment. In scp-like form (user@host:path) it drops anything after a
// ':' in the user part. A URL with a scheme that does not parse is dropped
// entirely rather than recorded as it is.
func cleanRemote(s string) string {
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil {
			return ""
		}
		switch strings.ToLower(u.Scheme) {
		case "http", "https", "ftp", "ftps":
			u.User = nil
			u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = "", false, "", ""
		default:
			if u.User != nil {
				u.User = url.User(u.User.Username())
			}
		}
		return u.String()
	}
	at := strings.LastIndex(s, "@")
	if at < 0 {
		return s
	}
	user, rest := s[:at], s[at:]
	if strings.ContainsRune(user, '/') {
		return s // a local path with '@' in it
	}
	if c := strings.IndexByte(user, ':'); c >= 0 {
		user = user[:c]
	}
	return user + rest
}
