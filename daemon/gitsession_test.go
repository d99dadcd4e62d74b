package daemon

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/wsxdev/wsx/audit"
	"github.com/wsxdev/wsx/internal/caller"
)

func TestSweepGitSessions(t *testing.T) {
	run := t.TempDir()
	_, start, _, err := audit.ParentArgv(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	live := GitSessionDir(run, caller.GitProcess{PID: os.Getpid(), Start: start})
	gone := GitSessionDir(run, caller.GitProcess{PID: os.Getpid(), Start: start + 1}) // the pid, reused
	other := filepath.Join(run, "git-notes")
	withFile := GitSessionDir(run, caller.GitProcess{PID: 1 << 22, Start: 7})
	for _, d := range []string{live, gone, other, withFile} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{filepath.Join(live, APISocketName), filepath.Join(gone, APISocketName),
		filepath.Join(gone, AgentSocketName), filepath.Join(withFile, "keep")} {
		if err := os.WriteFile(f, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	SweepGitSessions(run)
	for _, c := range []struct {
		path string
		kept bool
	}{
		{live, true}, {filepath.Join(live, APISocketName), true},
		{gone, false},
		{other, true},
		{filepath.Join(withFile, "keep"), true}, // only our sockets are removed
	} {
		_, err := os.Stat(c.path)
		if kept := err == nil; kept != c.kept {
			t.Errorf("%s: kept %v, want %v", c.path, kept, c.kept)
		}
	}
}

func TestGitSessionArgs(t *testing.T) {
	g := caller.GitProcess{PID: 42, Start: 99}
	args := GitSessionArgs("/run/wsx", g)
	want := []string{"agent", ChildFlag, "--run-dir", "/run/wsx/git-42-99", "--watch-pid", "42"}
	if len(args) != len(want) {
		t.Fatalf("args %q, want %q", args, want)
	}
	for i := range want {
		if args[i] != want[i] {
			t.Fatalf("args %q, want %q", args, want)
		}
	}
}
