package unixsock

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// SECURITY 26 and 28.
func TestListenRefusesUnsafeDirectories(t *testing.T) {
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
		"mode 0755":  mkdir("open", 0o755),
		"mode 0701":  mkdir("exec", 0o701),
		"mode 1700":  mkdir("sticky", 0o700|os.ModeSticky),
		"symlink":    link,
		"missing":    filepath.Join(base, "missing"),
		"not a dir":  filepath.Join(good, "file"),
		"group 0770": mkdir("group", 0o770),
	}
	if err := os.WriteFile(cases["not a dir"], nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		foreign := mkdir("foreign", 0o700)
		if err := os.Chown(foreign, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		cases["foreign owner"] = foreign
	} else {
		t.Log("not root: the foreign-owner case needs chown")
	}
	for name, dir := range cases {
		sock := filepath.Join(dir, "s")
		l, err := Listen(sock)
		if err == nil {
			l.Close()
			t.Errorf("%s: Listen succeeded", name)
			continue
		}
		if !strings.Contains(err.Error(), dir) {
			t.Errorf("%s: error %q does not name %s", name, err, dir)
		}
		if name != "missing" && !errors.Is(err, ErrUnsafeDir) {
			t.Errorf("%s: %v, want ErrUnsafeDir", name, err)
		}
	}
	// The same directory, private, is accepted and the socket is 0600.
	l, err := Listen(filepath.Join(good, "s"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	fi, err := os.Lstat(filepath.Join(good, "s"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Type() != fs.ModeSocket || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode %v, want socket 0600", fi.Mode())
	}
}

func TestListenPathLength(t *testing.T) {
	dir := shortDir(t)
	at := func(n int) string {
		p := dir + "/"
		return p + strings.Repeat("s", n-len(p))
	}
	_, err := Listen(at(MaxSocketPath + 1))
	if !errors.Is(err, ErrPathTooLong) || !strings.Contains(err.Error(), "108 bytes") {
		t.Fatalf("108-byte path: %v", err)
	}
	l, err := Listen(at(MaxSocketPath))
	if err != nil {
		t.Fatalf("107-byte path: %v", err)
	}
	l.Close()
}

// SECURITY 27: a stale socket is replaced, a live one refused with the
// pid of the agent on it, and no other file is touched.
func TestListenExistingSocket(t *testing.T) {
	dir := shortDir(t)
	stale := filepath.Join(dir, "stale")
	old, err := net.ListenUnix("unix", &net.UnixAddr{Name: stale, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	old.SetUnlinkOnClose(false)
	old.Close() // as after kill -9: the file stays, nobody listens
	l, err := Listen(stale)
	if err != nil {
		t.Fatalf("stale socket not replaced: %v", err)
	}
	defer l.Close()
	if c, err := net.Dial("unix", stale); err != nil {
		t.Fatalf("replaced socket does not answer: %v", err)
	} else {
		c.Close()
	}

	_, err = Listen(stale)
	if !errors.Is(err, ErrAgentRunning) || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", os.Getpid())) {
		t.Fatalf("live socket: %v, want ErrAgentRunning naming pid %d", err, os.Getpid())
	}

	sock, pid := startListener(t, shortDir(t), nil)
	_, err = Listen(sock)
	if !errors.Is(err, ErrAgentRunning) || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", pid)) {
		t.Fatalf("socket of another process: %v, want ErrAgentRunning naming pid %d", err, pid)
	}

	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(file); !errors.Is(err, ErrNotSocket) {
		t.Fatalf("regular file: %v, want ErrNotSocket", err)
	}
	if b, err := os.ReadFile(file); err != nil || string(b) != "keep me" {
		t.Fatal("regular file touched")
	}
}

// Harden leaves the process non-dumpable with no core files (SECURITY 38).
func TestHarden(t *testing.T) {
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	out, err := helperCmd(t, bin, "harden-check").CombinedOutput()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "dumpable=0 core=0/0 errors=<nil>,<nil>") {
		t.Fatalf("after Harden: %s", out)
	}
}

// SECURITY 29: another process of the same uid cannot read a hardened
// process's memory; without Harden it can (so the check can fail). Both
// processes run as nobody, which needs root.
func TestHardenBlocksSameUIDMemoryReads(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("running processes as another uid needs root")
	}
	const nobody = 65534
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "wsxharden")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "helper.test")
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	asNobody := &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	readable := func(mode string) bool {
		cmd := helperCmd(t, bin, mode)
		cmd.Dir = dir
		cmd.SysProcAttr = asNobody
		stdin, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() {
			stdin.Close()
			cmd.Wait()
		}()
		if line, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || line != "ready\n" {
			t.Fatalf("helper %s: %q, %v", mode, line, err)
		}
		probe := osexec.Command("/bin/sh", "-c", fmt.Sprintf("exec 3< /proc/%d/mem", cmd.Process.Pid))
		probe.SysProcAttr = asNobody
		return probe.Run() == nil
	}
	if !readable("wait") {
		t.Skip("this system forbids same-uid memory reads even without Harden; nothing to compare")
	}
	if readable("harden-wait") {
		t.Fatal("memory of a hardened process readable by another process of its uid")
	}
}

// ListenGroup: the socket takes the shared directory's group, mode 0660;
// a directory others may write, a symlink or another user's is refused.
func TestListenGroup(t *testing.T) {
	base := shortDir(t)
	dir := filepath.Join(base, "shared")
	if err := os.Mkdir(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	gid := os.Getegid()
	if os.Geteuid() == 0 {
		gid = nobody
	}
	if err := os.Chown(dir, os.Geteuid(), gid); err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o750)
	l, err := ListenGroup(filepath.Join(dir, "s"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	fi, err := os.Lstat(filepath.Join(dir, "s"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o660 || int(fi.Sys().(*syscall.Stat_t).Gid) != gid {
		t.Fatalf("socket mode %v gid %d, want 0660 and %d", fi.Mode(), fi.Sys().(*syscall.Stat_t).Gid, gid)
	}
	open := filepath.Join(base, "open")
	os.Mkdir(open, 0o700)
	os.Chmod(open, 0o770)
	link := filepath.Join(base, "link")
	os.Symlink(dir, link)
	for _, d := range []string{open, link} {
		if l, err := ListenGroup(filepath.Join(d, "t")); !errors.Is(err, ErrUnsafeDir) {
			if l != nil {
				l.Close()
			}
			t.Errorf("%s: %v, want ErrUnsafeDir", d, err)
		}
	}
}
