package caller

import (
	"os"
	"slices"
	"sync"
	"testing"

	"github.com/wsxdev/wsx/audit"
)

// fakeProc is a process whose /proc a test changes: an exec changes its
// argv, not its pid or start time.
type fakeProc struct {
	mu    sync.Mutex
	argv  []string
	reads int
}

func (f *fakeProc) read(pid int, start uint64, via string) (*audit.Process, audit.Context) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	return &audit.Process{PID: pid, Start: start, Argv: slices.Clone(f.argv)}, audit.Context{Command: Command(f.argv)}
}

func (f *fakeProc) exec(argv ...string) {
	f.mu.Lock()
	f.argv = argv
	f.mu.Unlock()
}

// TestConnExecKeepsFacts: a program the connection's process exec()s on
// the kept connection is recorded as the process that asked first; the
// facts are read once per way of asking.
func TestConnExecKeepsFacts(t *testing.T) {
	f := &fakeProc{argv: []string{"/usr/bin/curl", "https://example.test"}}
	c := newConn(4242, 777, f.read)
	p1, ctx1 := c.Describe(audit.ViaProxy)
	f.exec("/bin/sh", "-c", "evil")
	p2, ctx2 := c.Describe(audit.ViaProxy)
	if p1 == nil || p2 == nil {
		t.Fatal("no process")
	}
	if !slices.Equal(p2.Argv, p1.Argv) || ctx2.Command != ctx1.Command || ctx2.Command != "curl https://example.test" {
		t.Errorf("after exec: %q (%q), want the first facts %q", p2.Argv, ctx2.Command, p1.Argv)
	}
	if f.reads != 1 {
		t.Errorf("%d reads of /proc for two requests, want 1", f.reads)
	}
	// Other ways of asking that Describe does not tell apart share them.
	c.Describe(audit.ViaExec)
	c.Describe("anything a client sends")
	if f.reads != 1 {
		t.Errorf("%d reads after other vias, want 1", f.reads)
	}
	c.Describe(audit.ViaCredential)
	if f.reads != 2 {
		t.Errorf("%d reads after a credential request, want 2 (another walk)", f.reads)
	}
	// What a caller gets is its own.
	p2.Argv[0] = "changed"
	if p3, _ := c.Describe(audit.ViaProxy); p3.Argv[0] != "/usr/bin/curl" {
		t.Errorf("a caller's change reached the cache: %q", p3.Argv)
	}
}

// TestConnPIDReuse: a connection whose process is gone, and whose pid
// another process got, is never described as that other process. The
// test process stands for the later one: its start time is not the one
// the connection was accepted with.
func TestConnPIDReuse(t *testing.T) {
	self := os.Getpid()
	start, err := audit.StartTime(self)
	if err != nil {
		t.Skip("no /proc:", err)
	}
	for _, via := range []string{audit.ViaProxy, audit.ViaExec, audit.ViaCredential, audit.ViaAgent} {
		c := newConn(self, start+1, describe)
		if p, ctx := c.Describe(via); p != nil && (len(p.Argv) > 0 || p.Exe != "" || p.Cwd != "") || ctx.Command != "" || ctx.Repo != "" {
			t.Errorf("via %s: a later process with the pid was described: %+v, %+v", via, p, ctx)
		}
		// The process that did connect is described.
		if p, _ := newConn(self, start, describe).Describe(via); via != audit.ViaCredential && (p == nil || len(p.Argv) == 0) {
			t.Errorf("via %s: the connection's own process was not described: %+v", via, p)
		}
	}
	// Gone before it was accepted: nothing is read, ever.
	f := &fakeProc{argv: []string{"x"}}
	if p, _ := newConn(self, 0, f.read).Describe(audit.ViaProxy); p != nil || f.reads != 0 {
		t.Errorf("a process gone at accept was described: %+v, %d reads", p, f.reads)
	}
	if c := NewConn(self); c.start != start || c.PID() != self {
		t.Errorf("NewConn: start %d pid %d, want %d %d", c.start, c.PID(), start, self)
	}
}
