package cmd

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/wsxdev/wsx/credhelper"
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
	if c, ok := s.viaDaemon(true); ok {
		in, err := c.CredentialGit(s.c.Context, s.home, op, s.env.Stdin, s.env.Stdout, s.env.Stderr, opts.Remind)
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
