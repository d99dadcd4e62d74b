package cmd

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	"github.com/wsxdev/wsx/credhelper"
	"github.com/wsxdev/wsx/daemon"
	"github.com/wsxdev/wsx/internal/caller"
	"github.com/wsxdev/wsx/internal/remind"
	"github.com/wsxdev/wsx/store"
)

// runCredential speaks git's credential protocol on stdin/stdout: through
// the wsx agent when one serves this store unlocked (one request: the
// agent runs the helper and records the use), else with the store opened
// here. When the store cannot be unlocked, it prints nothing and exits 0
// so git prompts as usual; stderr says why.
func (s *session) runCredential(op string) error {
	opts := credhelper.Options{
		Stdin:  s.env.Stdin,
		Stdout: s.env.Stdout,
		Stderr: s.env.Stderr,
		Now:    s.env.Now,
	}
	opts.Remind = func(m store.Meta) { s.remindOverdue([]store.Meta{m}) }
	switch op {
	case credhelper.OpGet, credhelper.OpStore, credhelper.OpErase:
	default:
		return credhelper.Run(s.c.Context, op, opts)
	}
	c, ok := s.viaDaemon(true)
	if !ok {
		c, ok = s.viaGitSession()
	}
	if ok {
		in, err := c.CredentialGit(s.c.Context, s.home, op, s.env.Stdin, s.env.Stdout, s.env.Stderr, remind.Reminder(s.reminder()).Remind)
		if in == nil {
			return err
		}
		// No agent answered unlocked (or it went away or locked
		// meanwhile): the store opened here answers, as without an agent,
		// after asking the agent's status.
		defer clear(in)
		opts.Stdin = bytes.NewReader(in)
		s.doubt()
	}
	s.keepForGit()
	st, err := s.unlockedForGit()
	switch {
	case errors.Is(err, store.ErrNotInitialized):
		fmt.Fprintln(s.env.Stderr, "wsx: no store yet (create one with `wsx init`); git will ask as usual")
		return nil
	case errors.Is(err, store.ErrLocked):
		opts.Locked = true
	case err != nil:
		return err
	default:
		opts.Secrets = st
	}
	opts.UnlockHint = s.gitUnlockHint()
	return credhelper.Run(s.c.Context, op, opts)
}

// viaGitSession returns a client of the agent that keeps the store open
// for the git command this helper runs for (daemon.GitSessionDir), when
// an earlier run of the helper started one; only when no agent serves.
func (s *session) viaGitSession() (*daemon.Client, bool) {
	g, ok := caller.GitCommand(s.env.PID)
	if !ok || s.agentErr != nil || s.agentLocked != 0 || s.env.Getenv("WSX_NO_AGENT") != "" {
		return nil, false
	}
	c, ok := daemon.DialGitSession(runDir(s.env, s.home), s.home, g, daemonDialTimeout)
	if ok {
		s.client = c
	}
	return c, ok
}

// keepForGit makes a passphrase typed on the terminal start the git
// command's session, so that git's next runs of the helper ask nothing.
func (s *session) keepForGit() {
	g, ok := caller.GitCommand(s.env.PID)
	if !ok || s.passphraseFile() != "" || s.env.Getenv("WSX_NO_AGENT") != "" {
		return
	}
	s.afterUnlock = func(p []byte) {
		if s.agentErr != nil || s.agentLocked != 0 {
			return // the user's agent is locked, or one is not the user's
		}
		exe, err := os.Executable()
		if err == nil {
			err = daemon.StartGitSession(exe, runDir(s.env, s.home), g, daemon.Unlocking{Passphrase: p, Given: true})
		}
		if err != nil {
			fmt.Fprintf(s.env.Stderr, "wsx: the store is not kept open for the rest of this git command, which may ask again: %v\n", err)
		}
	}
}

// unlockedForGit unlocks the store as every command does, except that it
// does not ask on the terminal when git was told not to prompt
// (GIT_TERMINAL_PROMPT=0, e.g. a background fetch): the store then counts
// as locked, and git goes on without wsx.
func (s *session) unlockedForGit() (secretStore, error) {
	if s.passphraseFile() == "" && !credhelper.GitMayPrompt(s.env.Getenv("GIT_TERMINAL_PROMPT")) {
		s.viaDaemon(false)
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
