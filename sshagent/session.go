package sshagent

import (
	"crypto/subtle"
	"fmt"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// Extension names and wire constants (PROTOCOL.agent, draft-miller-ssh-agent).
const (
	extSessionBind      = "session-bind@openssh.com"
	extQuery            = "query"
	restrictDestination = "restrict-destination-v00@openssh.com"

	msgExtensionResponse = 29 // SSH_AGENT_EXTENSION_RESPONSE
	msgUserauthRequest   = 50 // SSH2_MSG_USERAUTH_REQUEST

	maxSessionBinds = 16  // per connection, as ssh-agent
	maxSessionID    = 128 // bytes
)

// binding is one session-bind@openssh.com record of a connection: the
// host the client authenticated (the hop), or forwards the agent through.
type binding struct {
	hostKey   ssh.PublicKey
	blob      string
	sid       []byte
	forwarded bool
}

func (c *conn) Extension(extensionType string, contents []byte) ([]byte, error) {
	switch extensionType {
	case extQuery:
		if c.a.Locked() {
			return nil, ErrLocked
		}
		// The reply names the extension, then lists those supported.
		out := appendString([]byte{msgExtensionResponse}, extQuery)
		for _, name := range []string{extQuery, extSessionBind} {
			out = appendString(out, name)
		}
		return out, nil
	case extSessionBind:
		if c.a.Locked() {
			return nil, ErrLocked
		}
		if err := c.bind(contents); err != nil {
			c.a.logf("sshagent: session-bind from pid %d refused: %v", c.peer.PID, err)
			return nil, err
		}
		return nil, nil
	}
	return nil, agent.ErrExtensionUnsupported
}

// bind records a session-bind request after checking the host key's
// signature over the session identifier, with ssh-agent's rules: a
// connection bound for authentication takes no further binding, a session
// identifier cannot move to another host key, and at most 16 bindings.
func (c *conn) bind(contents []byte) error {
	if c.local {
		return fmt.Errorf("no connection to bind: %w", ErrSessionBind)
	}
	var req struct {
		HostKey    []byte
		SessionID  []byte
		Signature  []byte
		Forwarding bool
	}
	if err := ssh.Unmarshal(contents, &req); err != nil {
		return fmt.Errorf("malformed request: %w", ErrSessionBind)
	}
	if len(req.SessionID) == 0 || len(req.SessionID) > maxSessionID {
		return fmt.Errorf("session identifier of %d bytes: %w", len(req.SessionID), ErrSessionBind)
	}
	hostKey, err := ssh.ParsePublicKey(req.HostKey)
	if err != nil {
		return fmt.Errorf("host key: %v: %w", err, ErrSessionBind)
	}
	var sig ssh.Signature
	if err := ssh.Unmarshal(req.Signature, &sig); err != nil || len(sig.Rest) != 0 {
		return fmt.Errorf("malformed signature: %w", ErrSessionBind)
	}
	if err := hostKey.Verify(req.SessionID, &sig); err != nil {
		return fmt.Errorf("host key %s signature does not verify: %w", ssh.FingerprintSHA256(hostKey), ErrSessionBind)
	}
	blob := string(req.HostKey)
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, b := range c.binds {
		if !b.forwarded {
			return fmt.Errorf("connection already bound for authentication: %w", ErrSessionBind)
		}
		if subtle.ConstantTimeCompare(b.sid, req.SessionID) == 1 {
			if b.blob == blob {
				return nil
			}
			return fmt.Errorf("session identifier bound to another host key: %w", ErrSessionBind)
		}
	}
	if len(c.binds) >= maxSessionBinds {
		return fmt.Errorf("too many bindings: %w", ErrSessionBind)
	}
	c.binds = append(c.binds, binding{hostKey: hostKey, blob: blob, sid: req.SessionID, forwarded: req.Forwarding})
	return nil
}

func appendString(b []byte, s string) []byte {
	n := len(s)
	b = append(b, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	return append(b, s...)
}
