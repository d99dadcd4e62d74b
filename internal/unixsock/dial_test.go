package unixsock

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

const nobody = 65534

// A server of the user, in a private directory, is dialled.
func TestDialOwnServer(t *testing.T) {
	dir := shortDir(t)
	sock := filepath.Join(dir, "s")
	l, err := Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c, err := Dial(context.Background(), sock)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	c.Close()
	// Nobody listening, or no directory at all: as net.Dial says.
	l.Close()
	for _, p := range []string{sock, filepath.Join(dir, "missing", "s")} {
		_, err := Dial(context.Background(), p)
		var op *net.OpError
		if !errors.As(err, &op) || errors.Is(err, ErrUntrusted) {
			t.Errorf("Dial %s: %v, want a dial error", p, err)
		}
	}
}

// SECURITY 60: a directory that is a symlink, open to others' writes or
// another user's is refused before anything is dialled; the error names
// the directory and its owner.
func TestDialRefusesUntrustedDirectory(t *testing.T) {
	base := shortDir(t)
	mkdir := func(name string, mode os.FileMode) string {
		d := filepath.Join(base, name)
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, mode); err != nil {
			t.Fatal(err)
		}
		return d
	}
	good := mkdir("good", 0o700)
	link := filepath.Join(base, "link")
	if err := os.Symlink(good, link); err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{
		"world-writable": mkdir("tmp", 0o777|os.ModeSticky),
		"group-writable": mkdir("group", 0o770),
		"symlink":        link,
	}
	if os.Geteuid() == 0 {
		foreign := mkdir("foreign", 0o700)
		if err := os.Chown(foreign, nobody, nobody); err != nil {
			t.Fatal(err)
		}
		cases["foreign owner"] = foreign
	}
	for name, dir := range cases {
		// A server of the user listens there: only the directory is wrong.
		l, err := net.Listen("unix", filepath.Join(dir, "s"))
		if err != nil {
			t.Fatal(err)
		}
		_, err = Dial(context.Background(), filepath.Join(dir, "s"))
		l.Close()
		var ue *UntrustedError
		if !errors.Is(err, ErrUntrusted) || !errors.As(err, &ue) {
			t.Errorf("%s: %v, want ErrUntrusted", name, err)
			continue
		}
		if !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "owner uid") {
			t.Errorf("%s: %q does not name the directory and its owner", name, err)
		}
	}
	if _, err := Dial(context.Background(), filepath.Join(good, "none")); errors.Is(err, ErrUntrusted) {
		t.Errorf("private directory refused: %v", err)
	}
}

// SECURITY 60: a fake agent planted by another uid in a directory of the
// user is refused after connect, before a byte is sent, and the error
// names the socket and the uid.
func TestDialRefusesServerOfAnotherUID(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("running a server as another uid needs root")
	}
	dir := shortDir(t)
	// The other user may create its socket here only while the directory
	// is open; then it is private again, as a run directory should be.
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	fake := startListenerProc(t, dir, &syscall.Credential{Uid: nobody, Gid: nobody})
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "s")
	c, err := Dial(context.Background(), sock)
	if err == nil {
		c.Write([]byte("secret"))
		c.Close()
	}
	if got := fake.received(t); got != "received 0" {
		t.Errorf("the fake server got: %s", got)
	}
	var ue *UntrustedError
	if !errors.As(err, &ue) || !errors.Is(err, ErrUntrusted) {
		t.Fatalf("Dial of a server of uid %d: %v, want ErrUntrusted", nobody, err)
	}
	if ue.Owner != nobody || !strings.Contains(err.Error(), sock) || !strings.Contains(err.Error(), "uid 65534") {
		t.Fatalf("error %q does not name %s and uid %d", err, sock, nobody)
	}
}

// A guest dials another user's agent only in that user's directory and
// only when that user listens: the owner it named, never a third user,
// and still never a directory others may write or a symlink.
func TestDialOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("running a server as another uid needs root")
	}
	base := shortDir(t)
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	mkdir := func(name string, mode os.FileMode, uid int) string {
		d := filepath.Join(base, name)
		if err := os.Mkdir(d, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(d, uid, uid); err != nil {
			t.Fatal(err)
		}
		return d
	}
	asNobody := &syscall.Credential{Uid: nobody, Gid: nobody}
	shared := mkdir("shared", 0o750, nobody)
	sock, _ := startListener(t, shared, asNobody)
	c, err := DialOwner(context.Background(), sock, nobody)
	if err != nil {
		t.Fatalf("DialOwner of the named owner: %v", err)
	}
	c.Close()
	// The same socket, dialled as one's own, or naming someone else.
	for name, dial := range map[string]func() (net.Conn, error){
		"own":   func() (net.Conn, error) { return Dial(context.Background(), sock) },
		"other": func() (net.Conn, error) { return DialOwner(context.Background(), sock, nobody-1) },
	} {
		if c, err := dial(); !errors.Is(err, ErrUntrusted) {
			if c != nil {
				c.Close()
			}
			t.Errorf("%s: %v, want ErrUntrusted", name, err)
		}
	}
	// The owner's directory open to others' writes, or reached through a
	// symlink, is refused even for the named owner.
	open := mkdir("open", 0o777|os.ModeSticky, nobody)
	osock, _ := startListener(t, open, asNobody)
	link := filepath.Join(base, "link")
	if err := os.Symlink(shared, link); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{osock, filepath.Join(link, "s")} {
		if c, err := DialOwner(context.Background(), p, nobody); !errors.Is(err, ErrUntrusted) {
			if c != nil {
				c.Close()
			}
			t.Errorf("%s: %v, want ErrUntrusted", p, err)
		}
	}
}
