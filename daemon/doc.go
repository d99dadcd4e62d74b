// Package daemon is `wsx agent`: one process that holds the store
// unlocked and serves it on two unix sockets in a private run directory.
//
// # Model
//
// A [Daemon] owns an open [store.Store], the audit log beside it, an
// [sshagent.Agent] over the store's keys, and a local API. It is either
// unlocked (the store's data key in memory, the audit log open) or locked
// (neither, the SSH agent suspended, its ssh-add'ed keys sealed: no value,
// key or MAC key in the process; request handlers run under
// internal/erase, so their garbage is zeroed when collected). [Daemon.Unlock] and [Daemon.Lock] move between the
// two; with Options.LockAfter the daemon locks itself after that long
// without a request that reads or uses a secret.
//
// The run directory (mode 0700, refused when it is a symlink, another
// user's, or open to others) holds
//
//	agent.sock   the SSH agent (OpenSSH's protocol; see package sshagent)
//	api.sock     the local API: HTTP and JSON, for wsx's own commands
//
// both mode 0600. A socket an agent still answers on is never replaced. A
// daemon whose socket file is removed or replaced can no longer be
// reached: it notices within SocketCheckInterval and stops.
//
// # The process life cycle
//
// `wsx agent` follows ssh-agent (lifecycle.go; cmd only turns flags into a
// [Config], asks for the passphrase and maps errors to exit codes):
//
//   - [Running] finds the agent that already serves a store through a
//     trusted dial of its API socket, so a second `eval "$(wsx agent -s)"`
//     prints that agent's variables instead of starting another.
//   - [StartDetached] re-runs the binary with [ChildFlag] in a new session,
//     hands it the passphrase over fd 3 (never argv or the environment) and
//     reads its start-up status from fd 4; [RunChild] is that child.
//   - [RunForeground] is -d/-D: the daemon in the calling process.
//   - [ExecWith] is CMD mode: the caller becomes CMD, and the agent,
//     watching its pid through a pidfd, stops when CMD exits.
//   - [Kill] is -k: only a wsx agent of this user is signalled, and Kill
//     returns once it is gone (its records flushed).
//
// A daemon started beside another that serves the same store
// (Config.Shared, for -a, -d, -D and CMD) serves its own SSH socket and
// leaves the API to the first. Every process serving a socket is
// hardened (non-dumpable, no core files).
//
// # Trust, from the client's side
//
// [Dial] and [Client] send nothing before the run directory is known to be
// the user's (not a symlink, no group or other write) and the process
// listening on api.sock to be the user's or root's (SO_PEERCRED); anything
// else fails with [ErrUntrusted], naming the path and its owner.
// [DialGuest] and [NewGuestClient] are the same for a guest of another
// user's agent: the directory and the listener must be that user's (the
// one the guest named) or root's.
//
// # The SSH side
//
// The agent reads the store's keys through an [sshagent.CachedSource]: the
// list of keys is re-read at most every two seconds (or at once after a
// change made through the API), and each key is parsed once per version of
// its secret, then kept until the store locks. Every signature appends a
// `used` record before the signature leaves the agent: the secret's name,
// the peer process (pid, exe, argv with secret values masked, parent, from
// the socket's peer credentials, read once per connection), the command in
// short form (`ssh -p 2222 git@host git-upload-pack ...`), the destination
// from ssh's arguments or from session-bind, and the repository when the
// peer's parent is git. If the record cannot be written, the signature is
// refused. Records are written before the reply and fsynced in groups
// (audit.Options.SyncDelay), so the disk does not cap the signing rate.
//
// # The local API
//
// Every connection to api.sock is checked with SO_PEERCRED before a byte
// is read: the owner's uid, root and the users and groups the workspace is
// shared with are let in, others are closed and the refusal is audited.
// Each request is then authorized by the [access.Action] its route names,
// asked of access.Checker in authorize (authz.go), the one place that
// decides, which the SSH agent's guard asks too: a revoked grant refuses
// the next request on a connection already open. With Options.SharedDir
// both sockets are served there too, for guests. Requests are capped in
// size and time. The endpoints, all under /v1:
//
//	GET    /status                  pid, lock state, sockets, key count
//	POST   /lock, /unlock           lock; unlock with a passphrase (one lock
//	                                with ssh-add -x/-X; brings back hidden keys)
//	POST   /reload                  bring back store keys removed by ssh-add
//	GET    /secrets                 metadata of every secret
//	POST   /secrets                 add a secret (validated as by the store)
//	GET    /secrets/{name}          its metadata and the size of its value
//	PATCH  /secrets/{name}          a store.Edit: fields, new value, rotation steps
//	DELETE /secrets/{name}          remove it
//	POST   /secrets/{name}/compare  which value of it a given one is
//	POST   /use                     record the use of names (or of those a selection
//	                                chooses, exec.Choose: `wsx exec` in one request),
//	                                then return their values
//	POST   /credential/{op}         run the git credential helper here: one request per fill
//	POST   /audit                   records of a command's other events
//	GET    /audit/verify            the result of checking the log
//	GET    /grants                  who the workspace is shared with
//	POST   /grants                  share it, or take a share back (audited)
//	POST   /ui                      serve the settings page (package ui) while the request lasts
//
// POST /use is the only answer that holds values, and only current ones:
// it goes through release.Store, which writes one `used` record per
// secret before the answer and answers nothing when it cannot. Every
// record written here takes the process facts from the socket's peer
// (SO_PEERCRED, /proc) and marks what the client says of the context as
// claimed; every record is masked with every stored value. The audit MAC
// key never leaves the daemon.
//
// Errors are JSON objects naming a kind ("not_found", "locked", ...) that
// [Client] turns back into the store's and audit's sentinel errors, so a
// command behaves the same whether it talks to the daemon or opens the
// store itself. [Client] checks what comes back from /use as if it came
// from the store.
package daemon
