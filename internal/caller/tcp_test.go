package caller

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

func TestTCPPeer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	local := netip.MustParseAddrPort(s.LocalAddr().String())
	remote := netip.MustParseAddrPort(s.RemoteAddr().String())
	sock, err := TCPPeer(local, remote)
	if err != nil || sock.UID != os.Getuid() || sock.Inode == 0 {
		t.Fatalf("TCPPeer = %+v, %v; want uid %d", sock, err, os.Getuid())
	}
	// This process holds the client's socket, and is not looked at.
	if pid := sock.Holder(); pid != 0 {
		t.Errorf("pid %d", pid)
	}
	// A child that inherits the client's socket holds it.
	f, err := c.(*net.TCPConn).File()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command("sleep", "10")
	cmd.ExtraFiles = []*os.File{f}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	if pid := sock.Holder(); pid != cmd.Process.Pid {
		t.Errorf("holder %d, want the child %d", pid, cmd.Process.Pid)
	}
	// One that is no descendant any more (its shell exited, it was
	// reparented) is found too, by the scan of every process.
	orphan := exec.Command("sh", "-c", "sleep 10 <&3 3<&- >/dev/null 2>&1 & echo $!")
	orphan.ExtraFiles = []*os.File{f}
	out, err := orphan.Output()
	if err != nil {
		t.Fatal(err)
	}
	opid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(opid, syscall.SIGKILL)
	cmd.Process.Kill()
	cmd.Wait()
	if slices.Contains(descendants(os.Getpid(), maxDescendants), opid) {
		t.Fatalf("pid %d is still a descendant", opid)
	}
	if pid := sock.Holder(); pid != opid {
		t.Errorf("holder %d, want the reparented %d", pid, opid)
	}
	// The ends swapped are the server's socket, not a peer's.
	if _, err := TCPPeer(netip.MustParseAddrPort("127.0.0.1:1"), remote); !errors.Is(err, ErrNoSocket) {
		t.Errorf("no such connection: %v", err)
	}
}

func TestParseProcAddr(t *testing.T) {
	for in, want := range map[string]string{
		"0100007F:1F90":                         "127.0.0.1:8080",
		"00000000000000000000000001000000:0050": "[::1]:80",
	} {
		got, ok := parseProcAddr(in)
		if !ok || got.String() != want {
			t.Errorf("parseProcAddr(%q) = %v, %v; want %s", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", "0100007F", "zz:1", "0100007F:zzzz", "01007F:0050"} {
		if _, ok := parseProcAddr(bad); ok {
			t.Errorf("parseProcAddr(%q) accepted", bad)
		}
	}
}

// TestDescendants: a grandchild is found below this process, after its
// parent.
func TestDescendants(t *testing.T) {
	cmd := exec.Command("sh", "-c", "sleep 10 & echo $!; wait")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	b := make([]byte, 32)
	n, err := stdout.Read(b)
	if err != nil {
		t.Fatal(err)
	}
	grand, err := strconv.Atoi(strings.TrimSpace(string(b[:n])))
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(grand, syscall.SIGKILL)
	got := descendants(os.Getpid(), maxDescendants)
	i, j := slices.Index(got, cmd.Process.Pid), slices.Index(got, grand)
	if _, err := os.Stat("/proc/self/task/" + strconv.Itoa(os.Getpid()) + "/children"); err != nil {
		t.Skip("the kernel does not list children:", err)
	}
	if i < 0 || j < i {
		t.Errorf("descendants %v: want the shell %d, then its child %d", got, cmd.Process.Pid, grand)
	}
	if got := descendants(os.Getpid(), 1); len(got) != 1 {
		t.Errorf("at most 1: got %v", got)
	}
}
