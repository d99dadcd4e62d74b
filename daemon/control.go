package daemon

import (
	"fmt"
	"io"
	"strings"

	"github.com/wsxdev/wsx/internal/hint"
	"github.com/wsxdev/wsx/store"
)

// Reload is `wsx agent reload`: the agent c (in state st) serves again the
// store keys removed with ssh-add -d/-D.
func Reload(c *Client, st Status, w io.Writer) error {
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

// Lock is `wsx lock`: the agent c (in state st) drops the store's key.
func Lock(c *Client, st Status, w io.Writer) error {
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
// passphrase to the agent c (in state st). An agent unlocked already only
// serves again the keys removed with ssh-add.
func Unlock(c *Client, st Status, w io.Writer, ask func(unlock func([]byte) error) error) error {
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
