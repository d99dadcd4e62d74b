package daemon

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/wsxdev/wsx/audit"
	"github.com/wsxdev/wsx/internal/caller"
)

// A git session keeps the store unlocked for one git command: git runs
// the credential helper several times per command (get, then store or
// erase; once per remote or submodule), and without an agent each run
// would ask for the passphrase again. The first run that asks on the
// terminal starts an agent of the usual kind in a run directory named
// after the git command (pid and start time), watching that process: the
// later runs of the same command go through it, and it stops when the git
// command ends. Unlike git-credential-cache, nothing outlives the
// command: the next git command asks again, unless `wsx agent` runs.

// gitSessionPrefix begins the name of a git session's run directory.
const gitSessionPrefix = "git-"

// GitSessionDir is the run directory of the git session of git command g,
// inside the agent's run directory runDir.
func GitSessionDir(runDir string, g caller.GitProcess) string {
	return filepath.Join(runDir, fmt.Sprintf("%s%d-%d", gitSessionPrefix, g.PID, g.Start))
}

// DialGitSession returns a client of the git session of g, when its agent
// is the user's, serves the store at home and is unlocked.
func DialGitSession(runDir, home string, g caller.GitProcess, timeout time.Duration) (*Client, bool) {
	c, st, err := Dial(filepath.Join(GitSessionDir(runDir, g), APISocketName), timeout)
	if err != nil {
		return nil, false
	}
	if st.Locked || filepath.Clean(st.Home) != filepath.Clean(home) {
		c.Close()
		return nil, false
	}
	return c, true
}

// GitSessionArgs are the arguments of `wsx` that run the git session's
// agent (through StartDetached) for git command g.
func GitSessionArgs(runDir string, g caller.GitProcess) []string {
	return []string{"agent", ChildFlag, "--run-dir", GitSessionDir(runDir, g), "--watch-pid", strconv.Itoa(g.PID)}
}

// StartGitSession starts the git session of g with exe, unlocked by u,
// after removing the run directories of sessions whose git command is
// gone. It returns once the agent serves.
func StartGitSession(exe, runDir string, g caller.GitProcess, u Unlocking) error {
	if !alive(g) {
		return fmt.Errorf("git command %d: %w", g.PID, audit.ErrNoProcess)
	}
	if err := EnsureRunDir(runDir); err != nil {
		return err
	}
	SweepGitSessions(runDir)
	_, err := StartDetached(exe, GitSessionArgs(runDir, g), u)
	return err
}

// alive reports whether git command g still runs.
func alive(g caller.GitProcess) bool {
	_, start, _, err := audit.ParentArgv(g.PID)
	return err == nil && start == g.Start
}

// SweepGitSessions removes from runDir the run directories of git
// sessions whose git command has ended: an agent that stopped cleanly
// removed its sockets, one killed left them.
func SweepGitSessions(runDir string) {
	ents, err := os.ReadDir(runDir)
	if err != nil {
		return
	}
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), gitSessionPrefix)
		if !ok || !e.IsDir() {
			continue
		}
		pidStr, startStr, ok := strings.Cut(rest, "-")
		pid, perr := strconv.Atoi(pidStr)
		start, serr := strconv.ParseUint(startStr, 10, 64)
		if !ok || perr != nil || serr != nil || alive(caller.GitProcess{PID: pid, Start: start}) {
			continue
		}
		dir := filepath.Join(runDir, e.Name())
		for _, n := range []string{APISocketName, AgentSocketName} {
			os.Remove(filepath.Join(dir, n))
		}
		os.Remove(dir) // only when empty: nothing else of ours is there
	}
}
