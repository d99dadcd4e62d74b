package daemon

import (
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/wsxdev/wsx/internal/unixsock"
)

// ErrNotAgent: the process named to Kill is not a wsx agent of this user.
var ErrNotAgent = errors.New("not a wsx agent of this user")

// KillWait bounds how long Kill waits for the agent to be gone.
const KillWait = 5 * time.Second

// Kill stops the wsx agent with process id pid (-k) and returns once it
// is gone. It refuses pid 0 and 1 and any process of another user, and
// any process that is neither this wsx binary (/proc/PID/exe) nor the
// process listening on agentSocket or apiSocket (either may be empty).
// The agent flushes its records before it exits.
func Kill(pid int, agentSocket, apiSocket string) error {
	if pid < 2 {
		return fmt.Errorf("SSH_AGENT_PID=%d: refusing to signal it: %w", pid, ErrNotAgent)
	}
	// A pidfd pins the process: the checks and the signal concern the
	// same one even if it exits and its pid is reused meanwhile.
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		if errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("kill agent pid %d: %w", pid, syscall.ESRCH)
		}
		return fmt.Errorf("kill agent pid %d: %w", pid, err)
	}
	defer unix.Close(fd)
	if err := isOurAgent(pid, agentSocket, apiSocket); err != nil {
		return err
	}
	if err := unix.PidfdSendSignal(fd, unix.SIGTERM, nil, 0); err != nil {
		return fmt.Errorf("kill agent pid %d: %w", pid, err)
	}
	waitExit(fd, KillWait)
	return nil
}

// isOurAgent checks that pid runs as this user and is a wsx agent: this
// binary, or the process answering on one of the sockets.
func isOurAgent(pid int, agentSocket, apiSocket string) error {
	var st syscall.Stat_t
	if err := syscall.Stat(fmt.Sprintf("/proc/%d", pid), &st); err != nil {
		return fmt.Errorf("kill agent pid %d: %w", pid, err)
	}
	if euid := os.Geteuid(); int(st.Uid) != euid {
		return fmt.Errorf("pid %d belongs to uid %d, not %d: %w", pid, st.Uid, euid, ErrNotAgent)
	}
	if self, err := os.Executable(); err == nil {
		a, aerr := os.Stat(self)
		b, berr := os.Stat(fmt.Sprintf("/proc/%d/exe", pid))
		if aerr == nil && berr == nil && os.SameFile(a, b) {
			return nil
		}
		// The agent of a binary replaced since it started (an upgrade).
		if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err == nil && exe == self+" (deleted)" {
			return nil
		}
	}
	for _, sock := range []string{agentSocket, apiSocket} {
		if sock != "" && listensOn(sock, pid) {
			return nil
		}
	}
	exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	return fmt.Errorf("pid %d (%s) is not this wsx binary and does not answer on SSH_AUTH_SOCK: %w", pid, exe, ErrNotAgent)
}

// listensOn reports whether process pid, of this user or root, listens
// on the socket at path. Nothing is sent on it.
func listensOn(path string, pid int) bool {
	c, err := net.DialTimeout("unix", path, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	p, err := unixsock.CheckServer(c, path)
	return err == nil && p.PID == pid
}

// waitExit waits until the process of pidfd fd has exited, at most d.
func waitExit(fd int, d time.Duration) {
	deadline := time.Now().Add(d)
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return
		}
		n, err := unix.Poll(fds, int(left/time.Millisecond)+1)
		if err == unix.EINTR {
			continue
		}
		if err != nil || n > 0 {
			return
		}
	}
}
