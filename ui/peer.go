package ui

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// uidListener accepts only connections whose client socket belongs to the
// owner (or root): on a shared machine the token in the URL may be seen
// by others (a command line of xdg-open), and a TCP port on 127.0.0.1 is
// open to every local user. Linux says who owns a TCP socket in
// /proc/net/tcp.
type uidListener struct {
	net.Listener
	owner int
	// notRoot refuses root's connections too (tests, which run as root).
	notRoot bool
	logf    func(string, ...any)
	tcp     string // the table to read; /proc/net/tcp
}

func (l *uidListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		uid, err := socketUID(l.tcp, c.RemoteAddr(), c.LocalAddr())
		if err == nil && (uid == l.owner || uid == 0 && !l.notRoot) {
			return c, nil
		}
		if err != nil {
			l.logf("refused a connection from %s: %v", c.RemoteAddr(), err)
		} else {
			l.logf("refused a connection from %s: uid %d is not the owner's", c.RemoteAddr(), uid)
		}
		c.Close()
	}
}

// socketUID finds the owner of the TCP socket whose local address is
// local and remote address remote, in the table at path (the format of
// /proc/net/tcp: addresses as little-endian hex "0100007F:1F90", the uid
// in the eighth column).
func socketUID(path string, local, remote net.Addr) (int, error) {
	want := func(a net.Addr) (string, error) {
		ap, err := netip.ParseAddrPort(a.String())
		if err != nil || !ap.Addr().Unmap().Is4() {
			return "", fmt.Errorf("not an IPv4 address: %s", a)
		}
		b := ap.Addr().Unmap().As4()
		return fmt.Sprintf("%02X%02X%02X%02X:%04X", b[3], b[2], b[1], b[0], ap.Port()), nil
	}
	lw, err := want(local)
	if err != nil {
		return -1, err
	}
	rw, err := want(remote)
	if err != nil {
		return -1, err
	}
	f, err := os.Open(path)
	if err != nil {
		return -1, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 8 || fields[1] != lw || fields[2] != rw {
			continue
		}
		return strconv.Atoi(fields[7])
	}
	if err := sc.Err(); err != nil {
		return -1, err
	}
	return -1, errors.New("its socket is not in " + path)
}
