// Package proxy is the HTTPS proxy of `wsx exec --inject proxy`: the
// command holds placeholders instead of values, and the proxy puts the
// values into its requests on their way to the hosts the secrets are
// bound to, so the program can use a secret without ever holding it.
//
// The model. A Secret has a placeholder, unique to the run, and the hosts
// it is bound to (its Hosts in the store; never a repository's wsx.toml).
// A CONNECT to a bound host is intercepted: the proxy answers TLS with a
// leaf certificate from a per-run authority (New makes it; its key is in
// this process's memory only, and the authority is name-constrained to
// the bound hosts), reads each request, and replaces the placeholders of
// the secrets bound to that host in the headers (Basic credentials
// decoded and encoded again), the URL path and query, and the body when
// its media type is declared (Config.BodyTypes). Each such request is a
// use: the values come from release.Releaser's Use, which records
// `Secret used: NAME (proxy: HOST METHOD PATH, by PROGRAM)` before it
// returns them. The request then goes to the host over TLS verified
// against the system roots (Config.RootCAs in tests), and the response
// comes back with every value the run has used masked (internal/mask).
//
// A CONNECT to any other host is tunnelled byte for byte: the proxy sees
// nothing of it, and a placeholder sent there is worthless. A plain HTTP
// request (through HTTP_PROXY) is read: a placeholder in one bound to
// another host, like a placeholder of a secret not bound to the host an
// intercepted request goes to, is left as it is and recorded as denied.
//
// Only this user's processes may use the proxy: a connection whose peer
// socket (/proc/net/tcp) another uid owns is closed unanswered.
package proxy
