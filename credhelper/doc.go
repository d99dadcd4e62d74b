// Package credhelper is wsx's git credential helper: the `get`, `store`,
// `erase` and `capability` operations of git's credential helper protocol
// (git-credential(1), gitcredentials(7) "CUSTOM HELPERS") over the secrets
// in a wsx store.
//
// # Wire format
//
// Parse reads one request strictly: `key=value` lines ending in LF (a CR
// right before the LF is dropped), ended by a blank line or end of input.
// A bare CR or a NUL anywhere, a line without `=`, a line of more than
// MaxLineLen bytes, a request of more than MaxRequestLen bytes, a repeated
// single-valued attribute (two host= lines, url= and host=, ...) or a url=
// whose decoded parts hold control characters rejects the whole request:
// the helper answers nothing and the returned error says why. Unknown
// attributes are ignored; `key[]` attributes collect values in order, and
// an empty value clears the list. Format writes only attributes the
// protocol defines and refuses any value holding LF, CR or NUL, so a
// stored value can never smuggle an extra attribute to git.
//
// # Matching
//
// A request without a protocol or a host gets no answer: there is no
// wildcard. Host names compare exactly after ASCII lower-casing, which is
// the only normalisation: a trailing dot, a suffix or prefix look-alike
// (git.example.com.evil.test, evil-git.example.com) or another port never
// match. A port matches only the same port: `host` and `host:443` are
// different targets.
//
// Two kinds of secrets answer, in this order:
//
//  1. Named secrets of type token or password whose Hosts list matches. A
//     Hosts entry is `host`, `host:port`, `host/path/prefix`, or a URL
//     `scheme://[user@]host[:port][/path/prefix]`. An entry without a
//     scheme matches https only; plain http needs an explicit `http://`
//     entry. When nothing answers and a secret would have but for the
//     scheme, stderr names it with the `wsx set` that allows the scheme.
//     An entry with a path matches only requests whose path lies
//     under it, segment by segment (`org` covers `org/repo.git`, not
//     `organisation/x`; a last segment `repo` also covers `repo.git`), so
//     path-limited secrets need git's credential.useHttpPath. When several
//     secrets match, the most specific wins (longer path, then an explicit
//     port, then an explicit user name), then the first by name.
//
//     The user name sent with a named secret is: the secret's Username (a
//     request naming another user does not match it); else the one git
//     sent; else, for tokens, the host's convention (github.com
//     `x-access-token`, gitlab.com `oauth2`) or `x-access-token` for other
//     hosts; a password secret without a user name is sent without one and
//     git asks the user for it.
//
//  2. Credentials git asked to store after a successful login for which no
//     named secret answers. Each is a password secret named
//     StoredPrefix + 32 upper-case hex digits of a hash of (protocol, host,
//     path, user name); its single Hosts entry records
//     `protocol://user@host[:port][/path]`. A secret is treated as stored
//     only when its name is that hash of its Hosts entry, so a user's own
//     secret called GIT_CREDENTIAL_SOMETHING stays a named secret. Stored
//     credentials match the way git's own `store` helper matches: protocol
//     and host always, and path and user name when the request carries
//     them. Among several, the most recently updated wins.
//
// # Operations
//
// get releases at most one value, and only after the Auditor recorded the
// use: if recording fails, nothing is printed. A value holding LF, CR or NUL
// is never printed. password_expiry_utc is sent only for a real expiry
// (Meta.Expires: `--expires`, or the expiry git asked to store), never for
// a rotation due date: git 2.41 and newer drop a credential whose expiry
// has passed, which would stop a token that still works. An overdue
// rotation is left to Options.Remind; a past --expires gets a note on
// stderr. A stored credential comes back exactly as git approved it: an
// empty user name and password are sent as `username=` and `password=`.
//
// store keeps what git approved unless it has no password or no user
// name line (empty ones count: SSO and Kerberos logins approve them), is
// ephemeral, or has already expired; storing a value equal to the
// named secret or stored credential that answers is not a write. When a
// named secret answers the request with another value, the approved
// credential is not kept (the named secret would shadow it) and stderr says
// to rotate the named secret.
//
// erase removes stored credentials that match, and only when their
// password equals the one git sends (or git sends no password line), like git's own
// store helper. It never deletes a named secret: when git rejects one, a
// `denied` audit record is written and stderr tells the user to rotate it.
//
// capability prints `version 0` and no capability: wsx sends neither
// authtype/credential nor state[].
//
// A locked store that cannot be unlocked here (Options.Locked, or
// store.ErrLocked from Secrets) prints nothing on stdout and returns nil, so
// git falls back to its own prompt; stderr says how to unlock. Any text
// shown from a request (host, user name) is quoted when it holds control
// or non-printable characters.
package credhelper
