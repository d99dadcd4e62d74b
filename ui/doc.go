// Package ui is `wsx ui`: a local settings page for the secrets of the
// store the agent holds, served on 127.0.0.1 while `wsx ui` runs.
//
// # Model
//
// A [Server] serves one browser session. The agent makes it when `wsx ui`
// asks (daemon's POST /v1/ui), and stops it when that request ends (the
// command exits) or after Options.IdleTimeout without a request. The page
// reaches the store only through [Backend], the small interface the agent
// implements over its unlocked store: metadata, add and edit (the store's
// own validation), remove, audit records and unlock. Nothing in Backend
// returns a value, so no page can show one. A Backend that also
// implements [Sharing] gets the Sharing page: the grants, `wsx share` and
// `wsx unshare` in a form, checked and recorded by the agent.
//
// # Access
//
// Only the owner's (and root's) connections are accepted: the owner of
// the client's TCP socket is read from /proc/net/tcp, as SO_PEERCRED
// tells it on the agent's unix sockets.
// The URL printed by `wsx ui` carries a one-time token (/login?token=...).
// The first request with it gets a session cookie (HttpOnly,
// SameSite=Strict) and a redirect to the page without the token; the token
// is then spent. Every other request needs the cookie. Every request must
// name the server's own address in Host (DNS rebinding), and may carry no
// Origin but its own and no Sec-Fetch-Site of another site (CSRF); every
// form carries the session's CSRF token. Answers have a strict Content
// Security Policy (scripts and styles from the page's own embedded files,
// no inline script), are not cached, and may not be framed.
//
// # Values
//
// A value comes in through the add and rotate forms (a password field, or
// a key file read into memory, never to a temporary file) and goes to the
// store's Add and Edit: the same paths the command line takes. Forms shown
// again after an error never carry the value back. Records are the
// command line's (created, updated, rotated, deleted), with via "ui".
//
// # Locked store
//
// While the store is locked every page but the unlock form redirects to
// it. Backend.Unlock is the agent's unlock, with its one backoff on wrong
// passphrases and its notes of failed unlocks for the audit log.
package ui
