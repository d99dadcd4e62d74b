// Package sshagent is wsx's SSH agent: it speaks OpenSSH's agent protocol
// (draft-miller-ssh-agent plus PROTOCOL.agent's extensions) over a unix
// socket and signs with keys that never leave the process.
//
// # Model
//
// An [Agent] holds two kinds of identities:
//
//   - store keys, read through a [KeySource]: [CachedSource] reads the
//     encrypted store and keeps the key list for a short while and each
//     parsed key for as long as its secret keeps its version, until it is
//     dropped when the store locks. They are listed with the secret's name as comment,
//     and "ssh-add -d/-D" only hides them for the agent's life: it never
//     deletes a secret.
//   - keys added by ssh-add, kept in memory only, with their constraints:
//     lifetime (removed by a timer when it runs out, without waiting for a
//     request), confirm-before-use (through an injected [ConfirmFunc];
//     [AskpassConfirm] runs $SSH_ASKPASS like ssh-agent) and OpenSSH's
//     restrict-destination-v00@openssh.com. Any other constraint makes the
//     add fail: a key is never stored with fewer constraints than asked for.
//
// The wire format is golang.org/x/crypto/ssh/agent's ServeAgent; the
// behaviour behind it is ours. [Agent.Conn] gives each client connection its
// own view of the agent, because session-bind@openssh.com records, per
// connection, which host the client is talking to; destination-restricted
// keys are hidden from and refused to connections bound elsewhere, as
// ssh-agent does. Every signature passes through Options.OnSign first, so
// the daemon can write its audit record and refuse the signature when it
// cannot (fail closed).
//
// [Agent.Suspend] is the owner's lock, without a passphrase: the daemon
// suspends the agent while the store is locked, which also forgets the keys
// added by clients, and resumes it on unlock.
//
// Lock and unlock follow ssh-agent: while locked the key list is empty and
// every other request fails; the lock passphrase is kept only as an Argon2id
// hash; each wrong unlock attempt waits 0.1 s longer than the last, up to
// 10 s, and attempts are serialised across all connections so the delay
// cannot be side-stepped by opening more of them.
//
// # Serving
//
// [Listen] creates the socket safely (private run directory, stale socket
// replaced only after a failed connect, live agent refused) and [Serve]
// accepts connections: the peer's credentials (SO_PEERCRED) are checked
// before a single byte is read, each request's length is checked before
// its body is allocated (256 KiB, as ssh-agent), idle connections time
// out, and the number of connections is capped, the longest idle one
// making room for a new client. Serve numbers the connections it admits
// (Peer.Conn) and reports their end (ServeOptions.OnClose), so a caller
// can keep what it learnt about a peer for as long as it stays connected.
// With ServeOptions.Authorize the caller decides who connects, asked
// again before every request, and what each request may do (the key list,
// a signature, ssh-add, a lock) before the agent sees it.
// [PeerOf] reads the same credentials for servers of other protocols.
// [Harden] makes the process non-dumpable and disables core files.
//
// x/crypto's ServeAgent reports failed requests through the standard log
// package; the daemon decides where that output goes. No message of this
// package contains key material.
package sshagent
