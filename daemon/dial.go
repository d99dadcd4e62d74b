package daemon

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/wsxdev/wsx/internal/access"
	"github.com/wsxdev/wsx/internal/hint"
)

// Connect dials g's agent for the guest named self (its user name, which
// the fix names): an error says what the guest can do about it.
func (g GuestAgent) Connect(self string) (*Client, Status, error) {
	c, st, err := g.Dial()
	var re *RemoteError
	switch {
	case err == nil:
		return c, st, nil
	case errors.Is(err, ErrNoDaemon):
		return nil, st, hint.With(err, "ask %s to start it: `wsx agent --shared-dir %s`", g.Owner, g.Dir)
	case errors.Is(err, ErrUntrusted), errors.As(err, &re), errors.Is(err, context.DeadlineExceeded):
		return nil, st, err
	}
	// The agent closes a connection it lets nobody make before any
	// answer: for a guest, that is a refusal.
	return nil, st, hint.With(fmt.Errorf("%s's agent at %s closed the connection: %w", g.Owner, g.APISocket(), ErrDenied),
		"ask %s to share the workspace with you (`wsx share %s ROLE`)", g.Owner, self)
}

// Open is the store a guest works on: g's agent, unlocked. A guest never
// opens the store itself and never unlocks it: a locked agent is
// access.ErrGuestLocked (exit 4).
func (g GuestAgent) Open(self string) (*Client, Status, error) {
	c, st, err := g.Connect(self)
	if err != nil {
		return nil, st, err
	}
	if st.Locked {
		c.Close()
		return nil, st, fmt.Errorf("%s's agent (pid %d): %w", g.Owner, st.PID, &RemoteError{Kind: "guest_locked", Message: access.ErrGuestLocked.Error()})
	}
	return c, st, nil
}

// DialStore connects to the agent on sock for the store in home, or fails
// wrapping ErrNoDaemon when none answers there, or the one that answers
// serves another store.
func DialStore(sock, home string, timeout time.Duration) (*Client, Status, error) {
	c, st, err := Dial(sock, timeout)
	if err != nil {
		return nil, st, err
	}
	if filepath.Clean(st.Home) != filepath.Clean(home) {
		c.Close()
		return nil, st, fmt.Errorf("the agent on %s serves %s, not %s: %w", sock, st.Home, home, ErrNoDaemon)
	}
	return c, st, nil
}
