package caller

import (
	"errors"
	"testing"
)

// procTree is a fake /proc: pid -> parent, start time and argv.
type procTree map[int]struct {
	ppid  int
	start uint64
	argv  []string
}

func (t procTree) parent(pid int) (int, uint64, []string, error) {
	p, ok := t[pid]
	if !ok {
		return 0, 0, nil, errors.New("no such process")
	}
	return p.ppid, p.start, p.argv, nil
}

func TestGitCommand(t *testing.T) {
	clone := procTree{
		100: {1, 1, []string{"bash"}},
		200: {100, 20, []string{"git", "clone", "https://h/r"}},
		300: {200, 30, []string{"git-remote-https", "origin", "https://h/r"}},
		400: {300, 40, []string{"/bin/sh", "-c", "/usr/bin/wsx credential get"}},
		500: {400, 50, []string{"/usr/bin/wsx", "credential", "get"}},
	}
	sub := procTree{
		100: {1, 1, []string{"bash"}},
		200: {100, 20, []string{"git", "clone", "--recurse-submodules", "https://h/r"}},
		210: {200, 21, []string{"git", "submodule--helper", "clone"}},
		220: {210, 22, []string{"git", "clone", "https://h/sub"}},
		230: {220, 23, []string{"/usr/lib/git-core/git-remote-https", "origin"}},
		240: {230, 24, []string{"/usr/bin/wsx", "credential", "store"}},
	}
	direct := procTree{
		100: {1, 1, []string{"bash"}},
		500: {100, 50, []string{"wsx", "credential", "get"}},
	}
	shellOnly := procTree{
		100: {1, 1, []string{"git", "fetch"}},
		150: {100, 15, []string{"python3", "tool.py"}},
		400: {150, 40, []string{"sh", "-c", "wsx credential get"}},
		500: {400, 50, []string{"wsx", "credential", "get"}},
	}
	for _, c := range []struct {
		name string
		tree procTree
		pid  int
		want GitProcess
		ok   bool
	}{
		{"clone through sh", clone, 500, GitProcess{200, 20}, true},
		{"submodule inside the clone", sub, 240, GitProcess{200, 20}, true},
		{"no git", direct, 500, GitProcess{}, false},
		{"a program between git and the shell", shellOnly, 500, GitProcess{}, false},
		{"helper gone", clone, 999, GitProcess{}, false},
	} {
		got, ok := gitCommand(c.pid, c.tree.parent)
		if got != c.want || ok != c.ok {
			t.Errorf("%s: GitCommand = %v, %v; want %v, %v", c.name, got, ok, c.want, c.ok)
		}
	}
}
