package cmd

import (
	"errors"
	"fmt"
	"strings"

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
	opts.Remind = func(m store.Meta) { s.remindOverdue([]store.Meta{m}) }
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
			opts.Secrets = st
		}
	}
	opts.UnlockHint = s.gitUnlockHint()
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
