// Package caller says who asked for a secret: the process behind a request
// and what the audit log shows of it. It is the one place that walks the
// process tree: from a credential helper up to the git command the user
// ran, from ssh to the git that runs it, and that shortens a command line
// for a record (Command, SSHCommand) without the passwords URLs carry
// (RedactArgv).
//
// Facts come from /proc of the process that asked: the daemon passes the
// pid its socket reports (SO_PEERCRED), a command that opens the store
// itself passes its own.
package caller

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/wsxdev/wsx/audit"
)

// Describe returns the process that asked, when process pid made a request
// through via, and the context the audit log shows of it:
//
//   - audit.ViaCredential: pid is a credential helper; the caller is the
//     git command above it (past credential-* and remote-* helpers), its
//     argv without URL passwords, with git's repository from its cwd.
//   - audit.ViaAgent: pid itself; when it is ssh, its short command and
//     destination, and the repository of the git that runs it.
//   - otherwise: pid itself, with no context.
//
// The process is nil when pid cannot be read; a record then has only the
// pid the caller knows.
func Describe(pid int, via string) (*audit.Process, audit.Context) {
	return describe(pid, 0, via)
}

// describe is Describe of process pid when it started at start (clock
// ticks after boot; 0: whenever): a later process with the same pid is not
// described (nil).
func describe(pid int, start uint64, via string) (*audit.Process, audit.Context) {
	switch via {
	case audit.ViaCredential:
		return gitCaller(pid, start)
	case audit.ViaAgent:
		return sshCaller(pid, start)
	}
	p, err := audit.ProcessInfo(pid)
	if err != nil || !sameStart(p.Start, start) {
		return nil, audit.Context{}
	}
	return &p, audit.Context{}
}

// sameStart says whether a process that started at got is the one that
// started at want (0: any).
func sameStart(got, want uint64) bool { return want == 0 || got == want }

// Self is Describe for this process.
func Self(via string) (*audit.Process, audit.Context) { return Describe(os.Getpid(), via) }

// gitCaller walks up from the parent of the helper pid to the git command
// the user ran: the first ancestor that is not a credential helper or a
// remote helper (`git clone` spawns git-remote-https, which spawns the
// helper). When there is none, the helper's parent is the caller.
//
// The walk reads each process's stat and command line only; the one
// recorded is then read whole.
func gitCaller(pid int, start uint64) (*audit.Process, audit.Context) {
	pid, helperStart, _, err := audit.ParentArgv(pid)
	if err != nil || !sameStart(helperStart, start) {
		return nil, audit.Context{}
	}
	var firstPID int
	var firstStart uint64
	for range 6 {
		if pid <= 1 {
			break
		}
		ppid, start, argv, err := audit.ParentArgv(pid)
		if err != nil {
			break
		}
		if firstPID == 0 {
			firstPID, firstStart = pid, start
		}
		if isGitCommand(RedactArgv(argv)) {
			return describeGit(pid, start)
		}
		pid = ppid
	}
	if firstPID == 0 {
		return nil, audit.Context{}
	}
	return describeGit(firstPID, firstStart)
}

// describeGit describes process pid, found on the walk up with start time
// start, and its git context; nothing when it is gone or is another
// process by now.
func describeGit(pid int, start uint64) (*audit.Process, audit.Context) {
	p, err := audit.ProcessInfo(pid)
	if err != nil || p.Start != start {
		return nil, audit.Context{}
	}
	p.Argv = RedactArgv(p.Argv)
	return &p, gitContext(&p)
}

// gitContext is the context of git command p: its short form and the
// repository of its working directory.
func gitContext(p *audit.Process) audit.Context {
	ctx := audit.Context{Command: Command(p.Argv)}
	Repo(&ctx, p.Cwd)
	return ctx
}

// Repo fills ctx's repository fields from the git repository dir is in,
// if any.
func Repo(ctx *audit.Context, dir string) {
	if dir == "" {
		return
	}
	if root, remote, branch, commit, ok := audit.GitContext(dir); ok {
		ctx.Repo, ctx.Remote, ctx.Branch, ctx.Commit = root, remote, branch, commit
	}
}

// isGitCommand reports whether argv is a git command the user would
// recognise, rather than git's internal helper plumbing.
func isGitCommand(argv []string) bool {
	if len(argv) < 2 || filepath.Base(argv[0]) != "git" {
		return false
	}
	sub := argv[1]
	// `git credential-wsx` is how git runs a helper; `git credential fill`
	// is a command a user or a tool ran, and is kept.
	return !strings.HasPrefix(sub, "credential-") && !strings.HasPrefix(sub, "remote-")
}

// sshCaller describes process pid and, when it is ssh, the destination of
// its command line and the git repository of the git command that runs it
// (directly, or through the shell of GIT_SSH_COMMAND).
func sshCaller(pid int, start uint64) (*audit.Process, audit.Context) {
	p, err := audit.ProcessInfo(pid)
	if err != nil || !sameStart(p.Start, start) {
		return &audit.Process{PID: pid}, audit.Context{}
	}
	p.Argv = RedactArgv(p.Argv)
	ctx := audit.Context{Command: SSHCommand(p.Argv)}
	if ctx.Command == "" {
		ctx.Command = Command(p.Argv)
		return &p, ctx
	}
	ctx.Dest = SSHDestination(p.Argv[1:])
	if g := gitAncestor(p.PPID); g != nil {
		Repo(&ctx, g.Cwd)
	}
	return &p, ctx
}

// gitAncestor returns the git process among pid and its parent, when pid
// is a shell: git runs GIT_SSH_COMMAND through sh -c.
func gitAncestor(pid int) *audit.Process {
	for range 2 {
		if pid <= 1 {
			return nil
		}
		p, err := audit.ProcessInfo(pid)
		if err != nil || len(p.Argv) == 0 {
			return nil
		}
		switch filepath.Base(p.Argv[0]) {
		case "git":
			if p.Cwd == "" {
				return nil
			}
			return &p
		case "sh", "bash", "dash":
			pid = p.PPID
			continue
		}
		return nil
	}
	return nil
}

// Command returns a short human form of a command line for the audit
// log, e.g. "git clone https://github.com/org/private.git": the program's
// base name, at most eight arguments each cut to 200 bytes, and URLs
// without their user and password.
func Command(argv []string) string {
	if len(argv) == 0 {
		return ""
	}
	parts := []string{filepath.Base(argv[0])}
	for i, a := range argv[1:] {
		if i == 8 {
			parts = append(parts, "...")
			break
		}
		a = stripUserinfo(a)
		if len(a) > 200 {
			a = a[:200] + "..."
		}
		parts = append(parts, Printable(a))
	}
	return strings.Join(parts, " ")
}

// RedactArgv returns a copy of argv in which every URL-shaped argument
// has lost its "user:password@", as Command shows it: what the audit log
// may keep of a git command line, which can carry a password in a URL.
func RedactArgv(argv []string) []string {
	if argv == nil {
		return nil
	}
	out := make([]string, len(argv))
	for i, a := range argv {
		out[i] = stripUserinfo(a)
	}
	return out
}

// stripUserinfo removes "user:password@" from a URL-shaped argument.
func stripUserinfo(a string) string {
	i := strings.Index(a, "://")
	if i <= 0 {
		return a
	}
	rest := a[i+3:]
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	at := strings.LastIndexByte(rest[:end], '@')
	if at < 0 {
		return a
	}
	return a[:i+3] + rest[at+1:]
}

// Printable returns s as it is when every rune is printable, else quoted
// with Go escapes, so that ESC, BEL, CR and the like never reach a
// terminal raw.
func Printable(s string) string {
	for _, r := range s {
		if r == utf8.RuneError || r == '"' || r == '\\' || !strconv.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}
