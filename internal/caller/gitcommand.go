package caller

import (
	"path/filepath"
	"strings"

	"github.com/wsxdev/wsx/audit"
)

// GitProcess is one run of a git command: its pid and start time (clock
// ticks after boot), which together tell it from a later process that got
// the same pid.
type GitProcess struct {
	PID   int
	Start uint64
}

// GitCommand returns the git command that a credential helper, process
// pid, works for: the topmost of the unbroken chain of git processes
// above it (the shell git runs the helper through is skipped). For `git
// clone` that is the clone itself, above git-remote-https; a submodule's
// clone counts as part of the clone the user ran. ok is false when no git
// process runs the helper.
func GitCommand(pid int) (GitProcess, bool) {
	return gitCommand(pid, audit.ParentArgv)
}

// maxGitDepth bounds the walk up: shells, then git processes.
const maxGitDepth = 16

func gitCommand(pid int, parent func(int) (int, uint64, []string, error)) (GitProcess, bool) {
	ppid, _, _, err := parent(pid)
	if err != nil {
		return GitProcess{}, false
	}
	var top GitProcess
	shells := 0
	for range maxGitDepth {
		if ppid <= 1 {
			break
		}
		next, start, argv, err := parent(ppid)
		if err != nil || len(argv) == 0 {
			break
		}
		base := filepath.Base(argv[0])
		switch {
		case base == "git" || strings.HasPrefix(base, "git-"):
			top = GitProcess{PID: ppid, Start: start}
		case top.PID == 0 && shells < 2 && isShell(base):
			shells++
		default:
			return top, top.PID != 0
		}
		ppid = next
	}
	return top, top.PID != 0
}

func isShell(base string) bool {
	switch base {
	case "sh", "bash", "dash", "zsh", "ksh", "busybox":
		return true
	}
	return false
}
