package caller

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ErrNoSocket: no TCP connection with those ends is in /proc/net.
var ErrNoSocket = errors.New("no such TCP connection")

// TCPSocket is the peer's end of a TCP connection this process accepted
// on 127.0.0.1 or ::1, as /proc/net/tcp (or tcp6) shows it.
type TCPSocket struct {
	Inode uint64
	UID   int // the socket's owner
}

// TCPPeer finds the other end of a connection this process accepted:
// local is this end (the listener's address), remote the peer's.
func TCPPeer(local, remote netip.AddrPort) (TCPSocket, error) {
	inode, uid, err := tcpInode(remote, local)
	if err != nil {
		return TCPSocket{UID: -1}, err
	}
	return TCPSocket{Inode: inode, UID: uid}, nil
}

// Holder returns the pid of a process of this user, other than this one,
// that has the socket open, or 0 (it belongs to someone else, or is
// gone). It reads every process's fd table: call it once per connection.
func (s TCPSocket) Holder() int { return socketHolder(s.Inode) }

// tcpInode finds the socket whose local address is src and remote
// address dst, and returns its inode and owner.
func tcpInode(src, dst netip.AddrPort) (inode uint64, uid int, err error) {
	files := []string{"/proc/net/tcp", "/proc/net/tcp6"}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Scan() // header
		for sc.Scan() {
			fl := strings.Fields(sc.Text())
			if len(fl) < 10 {
				continue
			}
			l, ok1 := parseProcAddr(fl[1])
			r, ok2 := parseProcAddr(fl[2])
			if !ok1 || !ok2 || !sameAddrPort(l, src) || !sameAddrPort(r, dst) {
				continue
			}
			u, err1 := strconv.Atoi(fl[7])
			n, err2 := strconv.ParseUint(fl[9], 10, 64)
			if err1 != nil || err2 != nil {
				continue
			}
			return n, u, nil
		}
	}
	return 0, -1, ErrNoSocket
}

func sameAddrPort(a, b netip.AddrPort) bool {
	return a.Port() == b.Port() && a.Addr().Unmap() == b.Addr().Unmap()
}

// parseProcAddr reads "0100007F:1F90": an address in the kernel's byte
// order, 32-bit words in host order (little-endian here), and a port.
func parseProcAddr(s string) (netip.AddrPort, bool) {
	a, p, ok := strings.Cut(s, ":")
	if !ok {
		return netip.AddrPort{}, false
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return netip.AddrPort{}, false
	}
	raw, err := hex.DecodeString(a)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return netip.AddrPort{}, false
	}
	for i := 0; i < len(raw); i += 4 {
		binary.BigEndian.PutUint32(raw[i:], binary.LittleEndian.Uint32(raw[i:]))
	}
	addr, _ := netip.AddrFromSlice(raw)
	return netip.AddrPortFrom(addr, uint16(port)), true
}

// socketHolder returns the pid of a process of this user that has the
// socket inode open, or 0. The client of the proxy is nearly always a
// descendant of this process (the command `wsx exec` runs, or one it
// started): their fd tables are read first, and every process's only when
// none of them holds it.
func socketHolder(inode uint64) int {
	want := "socket:[" + strconv.FormatUint(inode, 10) + "]"
	self := os.Getpid()
	for _, pid := range descendants(self, maxDescendants) {
		if holds(pid, want) {
			return pid
		}
	}
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil || pid == self {
			continue
		}
		if holds(pid, want) {
			return pid
		}
	}
	return 0
}

// maxDescendants bounds the descendants socketHolder looks at first.
const maxDescendants = 256

// holds says whether process pid has an open file that links to want.
func holds(pid int, want string) bool {
	dir := filepath.Join("/proc", strconv.Itoa(pid), "fd")
	fds, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, fd := range fds {
		if l, err := os.Readlink(filepath.Join(dir, fd.Name())); err == nil && l == want {
			return true
		}
	}
	return false
}

// descendants returns the processes below pid, nearest first, at most max,
// from the children each of their threads started
// (/proc/PID/task/TID/children); none where the kernel does not say.
func descendants(pid, max int) []int {
	var out []int
	for queue := []int{pid}; len(queue) > 0 && len(out) < max; queue = queue[1:] {
		dir := filepath.Join("/proc", strconv.Itoa(queue[0]), "task")
		tasks, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, t := range tasks {
			b, err := os.ReadFile(filepath.Join(dir, t.Name(), "children"))
			if err != nil {
				continue
			}
			for _, f := range strings.Fields(string(b)) {
				if c, err := strconv.Atoi(f); err == nil && len(out) < max {
					out = append(out, c)
					queue = append(queue, c)
				}
			}
		}
	}
	return out
}
