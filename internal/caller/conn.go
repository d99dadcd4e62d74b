package caller

import (
	"slices"
	"sync"

	"github.com/wsxdev/wsx/audit"
)

// Conn is Describe for the process at the other end of one connection: the
// facts of each way of asking (via) are read at the first request that
// needs them, then kept while the connection is, so a kept-alive client
// (the proxy of `wsx exec`, one use per request it fills in) pays for
// /proc once.
//
// The facts belong to the process that opened the connection, as the peer
// credentials (SO_PEERCRED) do: its start time, read by NewConn when the
// connection is accepted, goes with its pid, so a process that got the pid
// after that one exited is never described in its place (records then
// carry the pid alone). A program that process exec()s on a kept
// connection (close-on-exec cleared; wsx's clients and most others set it,
// and lose the connection) is recorded with the facts read at the first
// request, like the credentials, which the kernel does not change on exec
// either: the facts are the connection's, not read again per request.
// What a request claims (script line, host, command) is recorded per
// request all the same.
type Conn struct {
	pid   int
	start uint64 // 0: the process was gone when it was accepted
	read  func(pid int, start uint64, via string) (*audit.Process, audit.Context)

	mu    sync.Mutex
	facts map[string]*facts
}

// facts are Describe's answer for one via, read once.
type facts struct {
	once sync.Once
	proc *audit.Process
	ctx  audit.Context
}

// NewConn returns the facts of a connection from process pid, whose start
// time it reads now: call it when the connection is accepted.
func NewConn(pid int) *Conn {
	start, err := audit.StartTime(pid)
	if err != nil {
		start = 0
	}
	return newConn(pid, start, describe)
}

func newConn(pid int, start uint64, read func(int, uint64, string) (*audit.Process, audit.Context)) *Conn {
	return &Conn{pid: pid, start: start, read: read, facts: map[string]*facts{}}
}

// PID is the pid of the process that opened the connection.
func (c *Conn) PID() int { return c.pid }

// Describe is Describe(pid, via) for the connection's process, read once
// per via. The process is nil when it could not be read, or when the pid
// is another process's by now. The caller may keep and change what it
// gets: it is a copy.
func (c *Conn) Describe(via string) (*audit.Process, audit.Context) {
	// Describe tells three ways apart: the client names via, so any other
	// is one key, and the map stays this small.
	switch via {
	case audit.ViaCredential, audit.ViaAgent:
	default:
		via = ""
	}
	c.mu.Lock()
	f, ok := c.facts[via]
	if !ok {
		f = &facts{}
		c.facts[via] = f
	}
	c.mu.Unlock()
	f.once.Do(func() {
		if c.start == 0 {
			return // gone before it asked: no later process stands in
		}
		f.proc, f.ctx = c.read(c.pid, c.start, via)
	})
	ctx := f.ctx
	ctx.Claimed = slices.Clone(ctx.Claimed)
	if f.proc == nil {
		return nil, ctx
	}
	p := *f.proc
	p.Argv = slices.Clone(p.Argv)
	return &p, ctx
}
