package audit

import (
	"net/url"
	"strings"
)

// GitContext finds the git repository that holds dir (dir itself or a
// parent) and returns its root (the work tree; the git directory for a
// bare repository), the URL of its "origin" remote without credentials
// (see cleanRemote), the current branch ("" when HEAD is detached) and the
// commit HEAD points to ("" in a repository without commits). ok is false
// when dir is in no repository that can be opened. It only reads files:
// no git process, no hook, no network.
func GitContext(dir string) (repoRoot, remote, branch, commit string, ok bool) {
	r, ok := findGitRepo(dir)
	if !ok {
		return "", "", "", "", false
	}
	branch, commit = r.head()
	return r.root, cleanRemote(r.originURL()), branch, commit, true
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
