package cmd

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/wsxdev/wsx/audit"
	"github.com/wsxdev/wsx/credhelper"
	"github.com/wsxdev/wsx/store"
)

// runCredential speaks git's credential protocol on stdin/stdout. When the
// store cannot be unlocked here, it prints nothing and exits 0 so git
// prompts as usual; stderr says why.
func (s *session) runCredential(op string) error {
	opts := credhelper.Options{
		Stdin:  s.env.Stdin,
		Stdout: s.env.Stdout,
		Stderr: s.env.Stderr,
		Now:    s.env.Now,
	}
	// The caller is looked up only when a record is written, and once.
	var caller *callerInfo
	who := func() callerInfo {
		if caller == nil {
			c := gitCaller()
			caller = &c
		}
		return *caller
	}
	opts.Caller = func() audit.Context { return who().context() }
	switch op {
	case credhelper.OpGet, credhelper.OpStore, credhelper.OpErase:
		st, err := s.unlockedForGit()
		switch {
		case errors.Is(err, store.ErrLocked) || errors.Is(err, store.ErrNotInitialized):
			opts.Locked = true
			if errors.Is(err, store.ErrNotInitialized) {
				fmt.Fprintln(s.env.Stderr, "wsx: no store yet (create one with `wsx init`); git will ask as usual")
				return nil
			}
		case err != nil:
			return err
		default:
			opts.Secrets = credSecrets{st}
			opts.Auditor = credAuditor{s: s, caller: who}
		}
	}
	return credhelper.Run(s.c.Context, op, opts)
}

// unlockedForGit unlocks the store as every command does, except that it
// does not ask on the terminal when git was told not to prompt
// (GIT_TERMINAL_PROMPT=0, e.g. a background fetch): the store then counts
// as locked, and git goes on without wsx.
func (s *session) unlockedForGit() (secretStore, error) {
	if s.passphraseFile() == "" && !gitMayPrompt(s.env.Getenv("GIT_TERMINAL_PROMPT")) {
		if c, ok := s.viaDaemon(); ok {
			return daemonStore{s, c}, nil
		}
		if s.agentErr != nil {
			return nil, s.agentErr
		}
		if err := s.open(); err != nil {
			return nil, err
		}
		if s.st.Locked() && s.st.NeedsPassphrase() {
			return nil, fmt.Errorf("%w: git was told not to prompt (GIT_TERMINAL_PROMPT)", store.ErrLocked)
		}
	}
	return s.unlocked()
}

// gitMayPrompt reads GIT_TERMINAL_PROMPT as git reads a boolean; unset
// means git may prompt.
func gitMayPrompt(v string) bool {
	switch strings.ToLower(v) {
	case "0", "false", "no", "off":
		return false
	}
	return true
}

// credSecrets is the store as the credential helper consumes it.
type credSecrets struct{ secretStore }

func (c credSecrets) Add(sec store.Secret) (store.Meta, error) { return c.secretStore.Add(sec) }

// callerInfo is the git process that asked for a credential. Its argv
// has no URL user info: `git clone https://user:TOKEN@host/repo` hands
// TOKEN to the helper's store, and the audit log must not keep it.
type callerInfo struct {
	proc *audit.Process
}

// gitCaller walks up from our parent to the git command the user ran:
// the first ancestor that is not a credential helper or a remote helper
// (`git clone` spawns git-remote-https, which spawns the helper).
func gitCaller() callerInfo {
	pid := os.Getppid()
	var first *audit.Process
	for range 6 {
		p, err := audit.ProcessInfo(pid)
		if err != nil {
			break
		}
		p.Argv = credhelper.RedactArgv(p.Argv)
		if first == nil {
			first = &p
		}
		if isGitCommand(p.Argv) {
			return callerInfo{proc: &p}
		}
		if p.PPID <= 1 {
			break
		}
		pid = p.PPID
	}
	return callerInfo{proc: first}
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

func (c callerInfo) context() audit.Context {
	if c.proc == nil {
		return audit.Context{}
	}
	ctx := audit.Context{Command: credhelper.Command(c.proc.Argv)}
	if c.proc.Cwd != "" {
		if root, remote, branch, commit, ok := audit.GitContext(c.proc.Cwd); ok {
			ctx.Repo, ctx.Remote, ctx.Branch, ctx.Commit = root, remote, branch, commit
		}
	}
	return ctx
}

// credAuditor records the credential helper's events with the git process
// as the caller.
type credAuditor struct {
	s      *session
	caller func() callerInfo
}

func (a credAuditor) rec(ev audit.Event, name, result, detail string, ctx audit.Context) error {
	return a.s.appendRecord(audit.Record{
		Event: ev, Secret: name, Via: audit.ViaCredential, Result: result, Detail: detail,
		Process: a.caller().proc, Context: &ctx,
	})
}

func (a credAuditor) Used(name string, ctx audit.Context) error {
	return a.rec(audit.EventUsed, name, "ok", "", ctx)
}

func (a credAuditor) Denied(name, detail string, ctx audit.Context) error {
	return a.rec(audit.EventDenied, name, "denied", detail, ctx)
}

func (a credAuditor) Changed(ev audit.Event, name string, ctx audit.Context) error {
	return a.rec(ev, name, "ok", "", ctx)
}
