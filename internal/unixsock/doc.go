// Package unixsock is the plumbing of wsx's unix sockets, shared by the
// SSH agent (package sshagent) and the daemon's local API (package
// daemon), after tailscale's safesocket.
//
// A server calls [Listen]: the socket is created mode 0600 in a private
// directory (a real directory of the user, mode 0700), a socket left by a
// process that died is replaced, and a live one is never taken over
// ([ErrAgentRunning] names the pid that answers on it). [ListenShared] is
// ssh-agent's -a: any directory, the socket still 0600. Every accepted
// connection is identified with [PeerOf] (SO_PEERCRED) before a byte is
// read. [Harden] makes a serving process non-dumpable with no core files.
//
// A client calls [Dial]: before anything is sent it checks that the
// socket's directory is the user's own (not a symlink, no group or other
// write) and that the process listening is the user's or root's. A
// server that fails either is refused with an error wrapping
// [ErrUntrusted] that names the path and the owner.
package unixsock
