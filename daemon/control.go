package daemon

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/wsxdev/wsx/internal/hint"
	"github.com/wsxdev/wsx/store"
)

// Dialer reaches the agent of a store and its state, or fails wrapping
// ErrNoDaemon when none answers.
type Dialer func() (*Client, Status, error)

// control runs op on the agent dial reaches; none answering is absent's.
func control(dial Dialer, absent func(error) error, op func(*Client, Status) error) error {
	c, st, err := dial()
	if errors.Is(err, ErrNoDaemon) {
		return absent(err)
	}
	if err != nil {
		return err
	}
	defer c.Close()
	return op(c, st)
}

// noAgent is the fix for a command that needs an agent and found none.
func noAgent(err error) error { return hint.With(err, "start one with `eval \"$(wsx agent -s)\"`") }

// Reload is `wsx agent reload`: the agent dial reaches serves again the
// store keys removed with ssh-add -d/-D.
func Reload(dial Dialer, w io.Writer) error {
	return control(dial, noAgent, func(c *Client, st Status) error { return reloadOn(c, st, w) })
}

func reloadOn(c *Client, st Status, w io.Writer) error {
	if st.Locked {
		return hint.With(fmt.Errorf("the wsx agent (pid %d): %w", st.PID, store.ErrLocked), "`wsx unlock` unlocks it and serves every store key again")
	}
	if _, err := c.Reload(); err != nil {
		return err
	}
	if len(st.HiddenKeys) > 0 {
		fmt.Fprintf(w, "wsx: the wsx agent (pid %d) serves again: %s\n", st.PID, strings.Join(st.HiddenKeys, ", "))
	} else {
		fmt.Fprintf(w, "wsx: the wsx agent (pid %d) reloaded the store's keys\n", st.PID)
	}
	return nil
}

// Lock is `wsx lock`: the agent dial reaches drops the store's key.
// Without an agent there is nothing to lock, which w is told.
func Lock(dial Dialer, w io.Writer) error {
	absent := func(error) error {
		fmt.Fprintln(w, "wsx: no wsx agent is running; without one the store is unlocked only inside each command")
		return nil
	}
	return control(dial, absent, func(c *Client, st Status) error { return lockOn(c, st, w) })
}

func lockOn(c *Client, st Status, w io.Writer) error {
	if st.Locked {
		fmt.Fprintf(w, "wsx: the wsx agent (pid %d) is already locked\n", st.PID)
		return nil
	}
	if _, err := c.Lock(); err != nil {
		return err
	}
	fmt.Fprintf(w, "wsx: locked the wsx agent (pid %d)\n", st.PID)
	return nil
}

// Unlock is `wsx unlock`: ask (the prompt, with its tries) hands the
// passphrase to the agent dial reaches. An agent unlocked already only
// serves again the keys removed with ssh-add.
func Unlock(dial Dialer, w io.Writer, ask func(unlock func([]byte) error) error) error {
	return control(dial, noAgent, func(c *Client, st Status) error { return unlockOn(c, st, w, ask) })
}

func unlockOn(c *Client, st Status, w io.Writer, ask func(unlock func([]byte) error) error) error {
	if !st.Locked && !st.AgentLocked {
		if len(st.HiddenKeys) > 0 {
			if _, err := c.Reload(); err != nil {
				return err
			}
			fmt.Fprintf(w, "wsx: the wsx agent (pid %d) serves the store keys removed with ssh-add again: %s\n", st.PID, strings.Join(st.HiddenKeys, ", "))
			return nil
		}
		fmt.Fprintf(w, "wsx: the wsx agent (pid %d) is already unlocked\n", st.PID)
		return nil
	}
	err := ask(func(p []byte) error {
		_, err := c.Unlock(p)
		return err
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "wsx: unlocked the wsx agent (pid %d)\n", st.PID)
	return nil
}
