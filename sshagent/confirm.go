package sshagent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	osexec "os/exec"
	"strings"
	"time"
)

// ConfirmRequest describes a signature waiting for the user's approval.
type ConfirmRequest struct {
	Key         string // the key's comment (the secret name for store keys)
	Fingerprint string // SHA256:...
	Dest        string // "user@host" when the connection is bound, else ""
	Peer        Peer
}

// Prompt is the question put to the user, in ssh-agent's words.
func (r ConfirmRequest) Prompt() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Allow use of key %s?\nKey fingerprint %s.", printable(r.Key, 128), r.Fingerprint)
	if r.Dest != "" {
		fmt.Fprintf(&b, "\nDestination %s.", printable(r.Dest, 128))
	}
	fmt.Fprintf(&b, "\nRequested by process %d (uid %d).", r.Peer.PID, r.Peer.UID)
	return b.String()
}

// ConfirmFunc asks the user whether a confirm-constrained key may sign;
// nil means yes, an error means no.
type ConfirmFunc func(req ConfirmRequest) error

// AskpassTimeout bounds how long AskpassConfirm waits for the user.
const AskpassTimeout = 2 * time.Minute

// AskpassConfirm asks through $SSH_ASKPASS, found in env (the daemon's
// environment), as ssh-agent does: the program runs with the prompt as its
// argument and SSH_ASKPASS_PROMPT=confirm, and an exit status of 0 with an
// empty answer or "yes" approves. Without SSH_ASKPASS every use is refused.
func AskpassConfirm(env []string) ConfirmFunc {
	return func(req ConfirmRequest) error {
		prog := lookupEnv(env, "SSH_ASKPASS")
		if prog == "" {
			return fmt.Errorf("SSH_ASKPASS is not set: %w", ErrNoApprover)
		}
		ctx, cancel := context.WithTimeout(context.Background(), AskpassTimeout)
		defer cancel()
		cmd := osexec.CommandContext(ctx, prog, req.Prompt())
		cmd.Env = setEnv(env, "SSH_ASKPASS_PROMPT", "confirm")
		out := &limitedBuffer{max: 1024}
		cmd.Stdout = out
		if err := cmd.Run(); err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("askpass timed out: %w", ErrConfirmDenied)
			}
			var exit *osexec.ExitError
			if errors.As(err, &exit) {
				return fmt.Errorf("askpass declined: %w", ErrConfirmDenied)
			}
			return fmt.Errorf("run askpass: %w", err)
		}
		answer := strings.TrimRight(out.String(), "\r\n")
		if answer == "" || strings.EqualFold(answer, "yes") {
			return nil
		}
		return fmt.Errorf("askpass answered no: %w", ErrConfirmDenied)
	}
}

func lookupEnv(env []string, name string) string {
	for _, kv := range env {
		if k, val, ok := strings.Cut(kv, "="); ok && k == name {
			return val // the first one, as os.Getenv
		}
	}
	return ""
}

// setEnv returns env with exactly one entry for name.
func setEnv(env []string, name, value string) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k == name {
			continue
		}
		out = append(out, kv)
	}
	return append(out, name+"="+value)
}

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); room > 0 {
		if len(p) > room {
			b.Buffer.Write(p[:room])
		} else {
			b.Buffer.Write(p)
		}
	}
	return len(p), nil
}
