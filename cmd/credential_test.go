package cmd

import (
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/urfave/cli/v2"
	"github.com/wsxdev/wsx/daemon"
)

// TestAgentDialledOnce: a command asks the agent at most once; an agent
// that does not serve the store is not dialled again by a later unlock.
func TestAgentDialledOnce(t *testing.T) {
	env, _, _ := testEnv(t)
	s, err := newSession(&env, cli.NewContext(newApp(&env), nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	dir := runDir(&env, s.home)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("unix", filepath.Join(dir, daemon.APISocketName))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var dials atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			dials.Add(1)
			c.Close() // answers nothing: no agent serves this store
		}
	}()
	for range 3 {
		if _, ok := s.viaDaemon(false); ok {
			t.Fatal("viaDaemon: a socket that answers nothing counts as an agent")
		}
	}
	if n := dials.Load(); n != 1 {
		t.Fatalf("the agent's socket was dialled %d times, want 1", n)
	}
}
