// Package scan finds secrets where they should not be: in a work tree, in
// what the next commit adds, in the history, or in any stream of bytes.
//
// Two kinds of secrets are found. Stored ones: the values kept in the wsx
// store, current and previous, in every form the masker knows (internal/mask:
// raw, base64 standard and URL at each offset, hex, URL and JSON escaping).
// The values never come here: a [Matcher] finds them, and the one wsx
// builds runs in the wsx agent when there is one, so a scan learns only
// where a secret is and its name. Known formats: [Rules], written from the
// issuers' documented token formats, each with keywords that must appear on
// the line before its pattern runs and an entropy floor that keeps
// placeholders and examples out.
//
// What a finding shows is its place (file:line:col, with the commit in a
// history scan), the secret's name or the rule's id, and a preview of the
// line with every found value replaced by "***". Findings can be allowed
// by an [IgnoreFile] (path globs, fingerprints) or on their line:
// "wsx:allow" for a known format, "wsx:allow=NAME" for a stored secret.
//
// Files come from git when the scan runs in a work tree (`git ls-files`,
// so .gitignore is honoured; `git diff --cached` and `git log -p` for the
// staged and history modes): the git binary, not go-git, so a scan sees
// exactly what git itself would commit or has committed, with the user's
// git configuration.
package scan
