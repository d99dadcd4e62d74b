package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/wsxdev/wsx/internal/localapi"
	"github.com/wsxdev/wsx/internal/remind"
	"github.com/wsxdev/wsx/store"
)

// CredentialGit is `wsx credential OP` through the agent: git's request
// read from in goes in one request (Credential), the answer to out, the
// agent's note to errw, and the secrets sent to reminders. When no agent
// answers, or it is locked or not the user's, it returns the request it
// read, for the caller to answer otherwise; else nil.
func (c *Client) CredentialGit(ctx context.Context, home, op string, in io.Reader, out, errw io.Writer, reminders func([]remind.Secret)) ([]byte, error) {
	req, err := io.ReadAll(io.LimitReader(in, localapi.MaxCredentialInput+1))
	if err != nil {
		return nil, fmt.Errorf("credential %s: read the request: %w", op, err)
	}
	if len(req) > localapi.MaxCredentialInput {
		return nil, fmt.Errorf("credential %s: the request is larger than %d bytes", op, localapi.MaxCredentialInput)
	}
	answer, note, sent, err := c.Credential(ctx, home, op, req)
	defer clear(answer)
	if err == nil {
		clear(req)
		if note != "" {
			io.WriteString(errw, note)
		}
		if _, err := out.Write(answer); err != nil {
			return nil, err
		}
		reminders(sent)
		return nil, nil
	}
	if !errors.Is(err, ErrNoDaemon) && !errors.Is(err, store.ErrLocked) && !errors.Is(err, ErrUntrusted) {
		clear(req)
		return nil, err
	}
	return req, nil
}
