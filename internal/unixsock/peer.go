package unixsock

import (
	"errors"
	"fmt"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// ErrPeerDenied: the process at the other end may not use the socket, or
// its credentials could not be read.
var ErrPeerDenied = errors.New("peer not allowed")

// Peer identifies the process at the other end of a connection, from the
// socket's credentials.
type Peer struct {
	UID, PID, GID int
	// Conn numbers the connections a server accepted, from 1, so it can
	// keep what it learns about a peer for as long as its connection
	// lasts; 0 when the server does not number them.
	Conn uint64
}

// UnknownPeer is the peer whose credentials could not be read.
var UnknownPeer = Peer{UID: -1, PID: -1, GID: -1}

// PeerOf reads the credentials (SO_PEERCRED) of the process at the other
// end of a unix socket connection: for a server, the client that
// connected; for a client, the process that created the listening
// socket. Its fields are -1 when they cannot be read.
func PeerOf(c net.Conn) (Peer, error) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return UnknownPeer, fmt.Errorf("%T has no peer credentials: %w", c, ErrPeerDenied)
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return UnknownPeer, fmt.Errorf("peer credentials: %w", err)
	}
	var cred *unix.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return UnknownPeer, fmt.Errorf("peer credentials: %w", err)
	}
	if cerr != nil {
		return UnknownPeer, fmt.Errorf("peer credentials: %w", cerr)
	}
	// Sockets that carry no credentials (TCP) report uid -1 and pid 0.
	if cred.Pid <= 0 || cred.Uid == ^uint32(0) {
		return UnknownPeer, fmt.Errorf("connection carries no peer credentials: %w", ErrPeerDenied)
	}
	return Peer{UID: int(cred.Uid), PID: int(cred.Pid), GID: int(cred.Gid)}, nil
}
