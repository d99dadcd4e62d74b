package external

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/wsxdev/wsx/provider"
)

// Serve is wsx-provider: it answers one wsx on r and w, with the providers
// of openers, until r ends. It returns nil when wsx closed r between
// requests.
func Serve(ctx context.Context, r io.Reader, w io.Writer, openers map[string]provider.Opener) error {
	c := newConn(r, w)
	m, err := c.read()
	if errors.Is(err, io.EOF) {
		return nil
	}
	if err != nil {
		return err
	}
	if m.Open == nil {
		return errors.New("the first request must be open")
	}
	open, ok := openers[m.Open.Provider]
	if !ok {
		// A wsx newer than its wsx-provider, most likely.
		return c.write(message{Error: &wireError{Message: fmt.Sprintf("%s has no %s provider: install the one built with this wsx (`make install` installs both)", Command, m.Open.Provider)}})
	}
	s, err := settings(m.Open.Settings)
	if err != nil {
		return err
	}
	p, err := open(s, &childCreds{c: c})
	if err != nil {
		return c.write(message{Error: toWire(err)})
	}
	if err := c.write(message{Opened: true}); err != nil {
		return err
	}
	for {
		m, err := c.read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if m.Fetch == nil {
			return errors.New("want a fetch request")
		}
		if err := serveFetch(ctx, c, p, m.Fetch); err != nil {
			return err
		}
	}
}

// serveFetch answers one fetch request.
func serveFetch(ctx context.Context, c *conn, p provider.Provider, req *fetchRequest) error {
	src, err := provider.ParseSource(req.Source)
	if err != nil {
		return c.write(message{Error: toWire(err)})
	}
	if req.TimeoutMS > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(req.TimeoutMS)*time.Millisecond)
		defer cancel()
	}
	res, err := p.Fetch(ctx, src)
	if err != nil {
		var pe protocolError
		if errors.As(err, &pe) {
			return pe.err
		}
		return c.write(message{Error: toWire(err)})
	}
	err = c.write(message{Result: &result{Value: res.Value, Version: res.Version, Detail: res.Detail}})
	clear(res.Value)
	return err
}

// protocolError is a broken pipe to wsx met while a provider asked for a
// credential: Serve ends with it.
type protocolError struct{ err error }

func (e protocolError) Error() string { return e.err.Error() }

// credError is, in the child, the error wsx answered a credential
// request with.
type credError struct{ msg string }

func (e credError) Error() string { return e.msg }

// childCreds asks wsx for the provider's credentials.
type childCreds struct{ c *conn }

func (cc *childCreds) Secret(ctx context.Context, name string) ([]byte, error) {
	if err := cc.c.write(message{Need: name}); err != nil {
		return nil, protocolError{err}
	}
	m, err := cc.c.read()
	if err != nil {
		return nil, protocolError{err}
	}
	if m.Cred == nil || m.Cred.Name != name {
		return nil, protocolError{fmt.Errorf("asked for the credential %s, got another answer", name)}
	}
	if m.Cred.Error != nil {
		return nil, credError{m.Cred.Error.Message}
	}
	return m.Cred.Value, nil
}
