package unixsock

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

func shortDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "wsxus")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return dir
}

// helperEnv selects the helper process's role; helperSock is the socket
// a listening helper creates.
const (
	helperEnv  = "WSX_UNIXSOCK_TEST_HELPER"
	helperSock = "WSX_UNIXSOCK_TEST_SOCK"
)

// TestHelperProcess is not a test: other tests run the test binary again
// with helperEnv set, to have a process of its own (and of another uid).
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		t.Skip("helper process")
	}
	if mode == "harden-check" || mode == "harden-wait" {
		if err := Harden(); err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
	}
	switch mode {
	case "harden-check":
		dumpable, err := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0)
		var lim unix.Rlimit
		err2 := unix.Getrlimit(unix.RLIMIT_CORE, &lim)
		fmt.Printf("dumpable=%d core=%d/%d errors=%v,%v\n", dumpable, lim.Cur, lim.Max, err, err2)
	case "harden-wait", "wait":
		fmt.Println("ready")
		io.Copy(io.Discard, os.Stdin)
	case "listen":
		// A server that counts what its clients send; it prints the
		// count when its stdin closes.
		l, err := net.Listen("unix", os.Getenv(helperSock))
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		var got atomic.Int64
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				go func() {
					n, _ := io.Copy(io.Discard, c)
					got.Add(n)
				}()
			}
		}()
		fmt.Println("ready")
		io.Copy(io.Discard, os.Stdin)
		fmt.Println("received", got.Load())
	}
	os.Exit(0)
}

func helperCmd(t testing.TB, bin, mode string) *osexec.Cmd {
	cmd := osexec.Command(bin, "-test.run=^TestHelperProcess$")
	cmd.Env = []string{helperEnv + "=" + mode, "PATH=/usr/bin:/bin"}
	return cmd
}

// listener is a helper process serving a socket.
type listener struct {
	cmd   *osexec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
}

// received stops the listener and returns how many bytes it was sent.
func (l *listener) received(t testing.TB) string {
	t.Helper()
	l.stdin.Close()
	line, _ := l.out.ReadString('\n')
	l.cmd.Wait()
	return strings.TrimSpace(line)
}

// startListener runs a helper process listening on dir/s, as cred when
// it is not nil (the test binary is then copied where that user can run
// it), and returns the socket's path and the helper's pid.
func startListener(t testing.TB, dir string, cred *syscall.Credential) (string, int) {
	l := startListenerProc(t, dir, cred)
	t.Cleanup(func() { l.received(t) })
	return filepath.Join(dir, "s"), l.cmd.Process.Pid
}

func startListenerProc(t testing.TB, dir string, cred *syscall.Credential) *listener {
	t.Helper()
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if cred != nil {
		bin = copyBinary(t, bin)
	}
	cmd := helperCmd(t, bin, "listen")
	cmd.Env = append(cmd.Env, helperSock+"="+filepath.Join(dir, "s"))
	cmd.Dir = "/"
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
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
	l := &listener{cmd: cmd, stdin: stdin, out: bufio.NewReader(stdout)}
	if line, err := l.out.ReadString('\n'); err != nil || line != "ready\n" {
		stdin.Close()
		cmd.Wait()
		t.Fatalf("listening helper: %q, %v", line, err)
	}
	return l
}

// copyBinary copies the test binary into a directory every user may
// enter, for a helper that runs as another user.
func copyBinary(t testing.TB, self string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "wsxbin")
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
	return bin
}
