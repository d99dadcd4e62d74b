package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"time"

	"github.com/wsxdev/wsx/audit"
	"github.com/wsxdev/wsx/internal/localapi"
	"github.com/wsxdev/wsx/internal/release"
	"github.com/wsxdev/wsx/internal/remind"
	"github.com/wsxdev/wsx/internal/unixsock"
	"github.com/wsxdev/wsx/store"
)

// Client talks to a daemon's local API. It has the methods commands use
// (List, Stat, Add, Edit, Remove, Compare, Record) and hands out values
// only through Use (release.Releaser), so a command runs the same on the
// agent or on a store opened here.
type Client struct {
	socket string
	home   string // the store the caller means; "" asks no check
	hc     *http.Client
}

// ClientTimeout bounds one request to the daemon.
const ClientTimeout = localapi.Timeout

// maxResponse bounds what the client reads of an answer.
const maxResponse = MaxRequestBody + 1<<20

// NewClient returns a client of the API socket at socket. Nothing is
// dialled until the first request.
func NewClient(socket string) *Client {
	// Nothing is sent before the socket's directory and the process
	// listening on it are known to be the user's own (or root's).
	return newClient(socket, func(ctx context.Context) (net.Conn, error) { return unixsock.Dial(ctx, socket) })
}

// NewGuestClient is NewClient for a guest of another user's agent: the
// socket's directory and the process listening on it must be owner's
// (the user the guest named) or root's.
func NewGuestClient(socket string, owner int) *Client {
	return newClient(socket, func(ctx context.Context) (net.Conn, error) { return unixsock.DialOwner(ctx, socket, owner) })
}

func newClient(socket string, dial func(context.Context) (net.Conn, error)) *Client {
	// No timeout here: do bounds its requests by ClientTimeout, and
	// ServeUI's lasts as long as the page.
	return &Client{socket: socket, hc: &http.Client{Transport: &keptTransport{dial: dial}}}
}

// HomeHeader names the store a request is meant for: an agent serving
// another store answers it with an error wrapping ErrNoDaemon, so a
// client may skip asking the status first.
const HomeHeader = "Wsx-Home"

// NewClientFor is NewClient for requests meant for the store in home
// (HomeHeader).
func NewClientFor(socket, home string) *Client {
	c := NewClient(socket)
	c.home = home
	return c
}

// Dial returns a client of the daemon on socket and its status, or an
// error wrapping ErrNoDaemon when nothing answers there within timeout,
// or ErrUntrusted when the socket's directory or the process answering is
// not the user's (nothing is sent to it then).
func Dial(socket string, timeout time.Duration) (*Client, Status, error) {
	return dialWith(NewClient(socket), timeout)
}

// DialGuest is Dial for a guest of owner's agent (NewGuestClient).
func DialGuest(socket string, owner int, timeout time.Duration) (*Client, Status, error) {
	return dialWith(NewGuestClient(socket, owner), timeout)
}

func dialWith(c *Client, timeout time.Duration) (*Client, Status, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	st, err := c.Status(ctx)
	if err != nil {
		c.Close()
		return nil, Status{}, err
	}
	return c, st, nil
}

// Close closes idle connections.
func (c *Client) Close() { c.hc.CloseIdleConnections() }

// do sends a request with body in (JSON, when not nil) and decodes the
// answer into out (when not nil).
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	ctx, cancel := context.WithTimeout(ctx, ClientTimeout)
	defer cancel()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("wsx agent: encode request: %w", err)
		}
		defer clear(b)
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://wsx"+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.home != "" {
		req.Header.Set(HomeHeader, c.home)
	}
	compact, _ := out.(compactAnswer)
	if compact != nil {
		req.Header.Set("Accept", metasType)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if errors.Is(err, ErrUntrusted) {
			var ue *unixsock.UntrustedError
			if errors.As(err, &ue) {
				return fmt.Errorf("wsx agent: %w", ue)
			}
			return fmt.Errorf("wsx agent at %s: %w", c.socket, err)
		}
		if noDaemon(err) {
			return fmt.Errorf("%s: %w", c.socket, ErrNoDaemon)
		}
		return fmt.Errorf("wsx agent at %s: %w", c.socket, err)
	}
	defer resp.Body.Close()
	r := io.LimitReader(resp.Body, maxResponse)
	if resp.StatusCode >= 300 {
		var we wireError
		if err := json.NewDecoder(r).Decode(&we); err != nil || we.Message == "" {
			return fmt.Errorf("wsx agent at %s answered %s", c.socket, resp.Status)
		}
		return &RemoteError{Kind: we.Kind, Message: we.Message}
	}
	if out == nil {
		return nil
	}
	if compact != nil && resp.Header.Get("Content-Type") == metasType {
		body, err := readBody(r, resp.ContentLength)
		if err == nil {
			err = compact.readCompact(body)
		}
		if err != nil {
			return fmt.Errorf("wsx agent at %s: read answer: %w", c.socket, err)
		}
		return nil
	}
	if err := json.NewDecoder(r).Decode(out); err != nil {
		return fmt.Errorf("wsx agent at %s: decode answer: %w", c.socket, err)
	}
	return nil
}

// readBody reads r to its end, into one buffer of size n when n is known.
func readBody(r io.Reader, n int64) ([]byte, error) {
	if n < 0 || n > maxResponse {
		return io.ReadAll(r)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	return b, nil
}

// noDaemon reports whether err means that no daemon listens on the socket.
func noDaemon(err error) bool {
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "dial" {
		return false
	}
	return errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOTDIR)
}

func secretPath(name string) string { return "/v1/secrets/" + url.PathEscape(name) }

// Status returns the daemon's status.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var st Status
	err := c.do(ctx, http.MethodGet, "/v1/status", nil, &st)
	return st, err
}

// Lock locks the daemon's store.
func (c *Client) Lock() (Status, error) {
	var st Status
	err := c.do(context.Background(), http.MethodPost, "/v1/lock", nil, &st)
	return st, err
}

// Unlock unlocks the daemon's store with passphrase.
func (c *Client) Unlock(passphrase []byte) (Status, error) {
	var st Status
	err := c.do(context.Background(), http.MethodPost, "/v1/unlock", unlockRequest{Passphrase: passphrase}, &st)
	return st, err
}

// Reload brings back the store keys removed with ssh-add -d/-D.
func (c *Client) Reload() (Status, error) {
	var st Status
	err := c.do(context.Background(), http.MethodPost, "/v1/reload", nil, &st)
	return st, err
}

// List returns the metadata of every secret. As the store's List, it
// returns the secrets it could read with a *store.DamagedError naming the
// others.
func (c *Client) List() ([]store.Meta, error) {
	var resp listResponse
	if err := c.do(context.Background(), http.MethodGet, "/v1/secrets", nil, &resp); err != nil {
		return nil, err
	}
	return decodeList(resp, c.socket)
}

// decodeList checks the names in a list answer of the agent at socket as
// the store checks its own, and rebuilds the store's error.
func decodeList(resp listResponse, socket string) ([]store.Meta, error) {
	for _, m := range resp.Secrets {
		if err := checkMeta(m); err != nil {
			return nil, fmt.Errorf("wsx agent at %s: %w", socket, err)
		}
	}
	if len(resp.Damaged) > 0 && len(resp.DamagedErrors) == len(resp.Damaged) {
		de := &store.DamagedError{Names: resp.Damaged, Errs: make([]error, len(resp.Damaged))}
		for i, n := range resp.Damaged {
			if err := store.ValidateName(n); err != nil {
				return nil, fmt.Errorf("wsx agent at %s: %w", socket, err)
			}
			we := resp.DamagedErrors[i]
			if we == nil {
				return nil, fmt.Errorf("wsx agent at %s: secret %s: %w", socket, n, errBadAnswer)
			}
			de.Errs[i] = &RemoteError{Kind: we.Kind, Message: we.Message}
		}
		return resp.Secrets, de
	}
	if resp.Error != nil {
		return resp.Secrets, &RemoteError{Kind: resp.Error.Kind, Message: resp.Error.Message}
	}
	return resp.Secrets, nil
}

// Stat returns the metadata of the secret called name and the size of
// its value.
func (c *Client) Stat(name string) (store.Meta, int, error) {
	var resp statResponse
	if err := c.do(context.Background(), http.MethodGet, secretPath(name), nil, &resp); err != nil {
		return store.Meta{}, 0, err
	}
	if resp.Meta.Name != name {
		return store.Meta{}, 0, fmt.Errorf("wsx agent at %s answered for %q, not %s", c.socket, resp.Meta.Name, name)
	}
	return resp.Meta, resp.Size, nil
}

// Use is release.Releaser's Use over the API: one request records the use
// of every secret in names (the daemon reads who asks from the socket)
// and returns them. Nothing comes back when the records could not be
// written. The answer is checked as if it came from the store: the
// secrets asked for, in order, with valid names and types.
func (c *Client) Use(ctx context.Context, names []string, rec release.Record) ([]store.Secret, error) {
	var out []wireSecret
	req := useRequest{Names: names, Via: rec.Via, Claim: rec.Context, Places: rec.Places}
	if err := c.do(ctx, http.MethodPost, "/v1/use", req, &out); err != nil {
		return nil, err
	}
	defer func() {
		for _, w := range out {
			clear(w.Value)
		}
	}()
	if len(out) != len(names) {
		return nil, fmt.Errorf("wsx agent at %s answered %d secrets for %d: %w", c.socket, len(out), len(names), errBadAnswer)
	}
	secs := make([]store.Secret, len(out))
	for i, w := range out {
		if w.Meta.Name != names[i] {
			return nil, fmt.Errorf("wsx agent at %s answered %q for %s: %w", c.socket, w.Meta.Name, names[i], errBadAnswer)
		}
		if err := checkMeta(w.Meta); err != nil {
			return nil, fmt.Errorf("wsx agent at %s: %w", c.socket, err)
		}
		secs[i] = w.decode()
	}
	return secs, nil
}

// UseSelected has the agent choose the secrets sel asks for
// (exec.Choose), record their use and answer with their values: `wsx
// exec` in one request. It implements release.Selector; an agent that
// leaves the choice to the client answers with release.ErrChooseHere.
func (c *Client) UseSelected(ctx context.Context, sel release.Selection, rec release.Record) (release.Choice, []store.Secret, error) {
	var out selectResponse
	req := useRequest{Select: &sel, Via: rec.Via, Claim: rec.Context}
	err := c.do(ctx, http.MethodPost, "/v1/use", req, &out)
	defer func() {
		for _, w := range out.Secrets {
			clear(w.Value)
		}
	}()
	if err != nil {
		return release.Choice{}, nil, err
	}
	names := out.Choice.Names
	if len(out.Secrets) != len(names) {
		return release.Choice{}, nil, fmt.Errorf("wsx agent at %s answered %d secrets for %d: %w", c.socket, len(out.Secrets), len(names), errBadAnswer)
	}
	secs := make([]store.Secret, len(out.Secrets))
	for i, w := range out.Secrets {
		if w.Meta.Name != names[i] {
			return release.Choice{}, nil, fmt.Errorf("wsx agent at %s answered %q for %s: %w", c.socket, w.Meta.Name, names[i], errBadAnswer)
		}
		if err := checkMeta(w.Meta); err != nil {
			return release.Choice{}, nil, fmt.Errorf("wsx agent at %s: %w", c.socket, err)
		}
		secs[i] = w.decode()
	}
	return out.Choice, secs, nil
}

// Credential runs the credential helper's operation op in the daemon, on
// what git sent (input), for the store in home: one request. It returns
// what the helper prints for git, its note for the user, and the named
// secrets it sent (for a reminder of an overdue rotation). An agent that
// serves another store answers with an error wrapping ErrNoDaemon.
func (c *Client) Credential(ctx context.Context, home, op string, input []byte) (output []byte, note string, sent []remind.Secret, err error) {
	var resp localapi.CredentialResponse
	err = c.do(ctx, http.MethodPost, "/v1/credential/"+url.PathEscape(op), localapi.CredentialRequest{Home: home, Input: input}, &resp)
	return resp.Output, resp.Note, resp.Remind, err
}

// checkMeta checks what the daemon says of a secret as the store checks
// it: a valid name, a known type.
func checkMeta(m store.Meta) error {
	if err := store.ValidateName(m.Name); err != nil {
		return err
	}
	if _, err := store.ParseType(string(m.Type)); err != nil {
		return fmt.Errorf("secret %s: %w", m.Name, err)
	}
	return nil
}

// errBadAnswer: the daemon answered something else than was asked.
var errBadAnswer = errors.New("an answer that does not match the request")

// Add stores a new secret, as store.Store.Add. An encrypted SSH key is
// decrypted here first, with opts' KeyPassphrase.
func (c *Client) Add(sec store.Secret, opts ...store.AddOptions) (store.Meta, error) {
	var o store.AddOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	if sec.Type == store.TypeKey && o.KeyPassphrase != nil {
		canon, info, err := store.ParseKey(sec.Value.Bytes(), o.KeyPassphrase)
		if err != nil {
			return store.Meta{}, fmt.Errorf("secret %s: %w", sec.Name, err)
		}
		if info != nil {
			sec.Value = store.NewValue(canon)
			clear(canon)
		}
	}
	var m store.Meta
	err := c.do(context.Background(), http.MethodPost, "/v1/secrets",
		addRequest{Secret: encodeSecret(sec), AllowDangerousName: o.AllowDangerousName}, &m)
	return m, err
}

// Edit applies e to the secret called name, as store.Store.Edit, in the
// daemon: no value comes back.
func (c *Client) Edit(name string, e store.Edit) (store.Meta, error) {
	var m store.Meta
	err := c.do(context.Background(), http.MethodPatch, secretPath(name), encodeEdit(e), &m)
	return m, err
}

// Remove deletes the secret called name.
func (c *Client) Remove(name string) error {
	return c.do(context.Background(), http.MethodDelete, secretPath(name), nil, nil)
}

// Compare says which value of the secret called name v is, as
// store.Store.Compare; no value comes back.
func (c *Client) Compare(name string, v store.Value) (store.Match, error) {
	var resp compareResponse
	err := c.do(context.Background(), http.MethodPost, secretPath(name)+"/compare", compareRequest{Value: v.Bytes()}, &resp)
	return resp.Match, err
}

// Record appends rs, records of events other than uses, with one request.
// The daemon sets the actor and the process from the socket's peer; the
// contexts are recorded as the client's claim.
func (c *Client) Record(rs ...audit.Record) error {
	return c.do(context.Background(), http.MethodPost, "/v1/audit", auditRequest{Records: rs}, nil)
}

// VerifyAudit has the daemon check its audit log with the MAC key, which
// stays there.
func (c *Client) VerifyAudit() (audit.VerifyResult, error) {
	var res audit.VerifyResult
	err := c.do(context.Background(), http.MethodGet, "/v1/audit/verify", nil, &res)
	return res, err
}
