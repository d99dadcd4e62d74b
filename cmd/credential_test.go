package cmd

import (
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/urfave/cli/v2"
	"github.com/wsxdev/wsx/audit"
	"github.com/wsxdev/wsx/daemon"
)

// TestGitCallerRedacted: git hands a password given in a URL on its
// command line (`git clone https://user:TOKEN@host/repo`) to the helper's
// store; the caller the audit log records must not keep it. The test runs
// itself under a shell whose argv holds such a URL, and the child reports
// the caller it found.
func TestGitCallerRedacted(t *testing.T) {
	if out := os.Getenv("WSX_TEST_CALLER_OUT"); out != "" {
		c := gitCaller()
		b, err := json.Marshal(struct {
			Proc *audit.Process
			Ctx  audit.Context
		}{c.proc, c.context()})
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(out, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return
	}
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	const canary = "canary-caller-argv-0123456789"
	out := filepath.Join(t.TempDir(), "caller.json")
	url := "https://alice:" + canary + "@example.test/org/repo.git"
	cmd := exec.Command("sh", "-c", `"$0" -test.run='^TestGitCallerRedacted$' -test.count=1 >/dev/null; exit $?`,
		os.Args[0], "clone", url)
	cmd.Env = append(os.Environ(), "WSX_TEST_CALLER_OUT="+out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), canary) {
		t.Fatal("the caller's recorded argv or command holds the password of a URL")
	}
	var got struct {
		Proc *audit.Process
		Ctx  audit.Context
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Proc == nil || !slices.Contains(got.Proc.Argv, "https://example.test/org/repo.git") {
		t.Fatalf("caller argv %v: want the shell's, with the URL's user info removed", got.Proc)
	}
}

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
		if _, ok := s.viaDaemon(); ok {
			t.Fatal("viaDaemon: a socket that answers nothing counts as an agent")
		}
	}
	if n := dials.Load(); n != 1 {
		t.Fatalf("the agent's socket was dialled %d times, want 1", n)
	}
}
