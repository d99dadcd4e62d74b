package cmd

import (
	"errors"
	"fmt"

	"github.com/wsxdev/wsx/store"
)

// unlockAgent is what a command does when the wsx agent of this store
// answered locked and the passphrase is to be typed: it asks once on the
// terminal (three tries), unlocks the agent with it, and works through the
// agent, so that every later command needs no passphrase either. ok is
// false when there is no terminal to ask on (or the agent went away): the
// caller then opens the store itself, as without an agent.
func (s *session) unlockAgent() (st secretStore, ok bool, err error) {
	c, status, err := s.dialDaemon()
	if err != nil {
		return nil, false, nil
	}
	if !status.Locked {
		s.client = c
		return s.viaAgent(c), true, nil
	}
	prompt := fmt.Sprintf("Passphrase for the wsx store (unlocks the wsx agent, pid %d): ", status.PID)
	err = s.unlockWith(prompt, func(p []byte) error {
		_, err := c.Unlock(p)
		return err
	})
	if err != nil {
		c.Close()
		if errors.Is(err, store.ErrLocked) && !errors.Is(err, store.ErrWrongPassphrase) {
			return nil, false, nil // no terminal
		}
		return nil, true, err
	}
	fmt.Fprintf(s.env.Stderr, "wsx: unlocked the wsx agent (pid %d); later commands go through it until `wsx lock` or its idle lock\n", status.PID)
	s.client, s.agentLocked = c, 0
	return s.viaAgent(c), true, nil
}
