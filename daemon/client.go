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
	"github.com/wsxdev/wsx/internal/unixsock"
	"github.com/wsxdev/wsx/store"
)

// Client talks to a daemon's local API. It has the methods of the store
// that commands use (List, Get, Add, Update, Remove, AuditKey), so a
// command runs the same on either.
type Client struct {
	socket string
	hc     *http.Client
}

// ClientTimeout bounds one request to the daemon.
const ClientTimeout = 60 * time.Second

// maxResponse bounds what the client reads of an answer.
const maxResponse = MaxRequestBody + 1<<20

// NewClient returns a client of the API socket at socket. Nothing is
// dialled until the first request.
func NewClient(socket string) *Client {
	tr := &http.Transport{
		// Nothing is sent before the socket's directory and the process
		// listening on it are known to be the user's own (or root's).
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return unixsock.Dial(ctx, socket)
		},
		DisableCompression: true,
		MaxIdleConns:       2,
		IdleConnTimeout:    30 * time.Second,
	}
	return &Client{socket: socket, hc: &http.Client{Transport: tr, Timeout: ClientTimeout}}
}

// Dial returns a client of the daemon on socket and its status, or an
// error wrapping ErrNoDaemon when nothing answers there within timeout,
// or ErrUntrusted when the socket's directory or the process answering is
// not the user's (nothing is sent to it then).
func Dial(socket string, timeout time.Duration) (*Client, Status, error) {
	c := NewClient(socket)
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
	if err := json.NewDecoder(r).Decode(out); err != nil {
		return fmt.Errorf("wsx agent at %s: decode answer: %w", c.socket, err)
	}
	return nil
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
// returns the secrets it could read with an error naming the others.
func (c *Client) List() ([]store.Meta, error) {
	var resp listResponse
	if err := c.do(context.Background(), http.MethodGet, "/v1/secrets", nil, &resp); err != nil {
		return nil, err
	}
	if resp.Error != nil {
		return resp.Secrets, &RemoteError{Kind: resp.Error.Kind, Message: resp.Error.Message}
	}
	return resp.Secrets, nil
}

// Get returns the secret called name with its value.
func (c *Client) Get(name string) (store.Secret, error) {
	return c.get(name, false)
}

func (c *Client) get(name string, all bool) (store.Secret, error) {
	var w wireSecret
	path := secretPath(name)
	if all {
		path += "?all=1"
	}
	if err := c.do(context.Background(), http.MethodGet, path, nil, &w); err != nil {
		return store.Secret{}, err
	}
	return w.decode()
}

// Use returns the secret called name after the daemon recorded its use
// (via, process and context as given; the actor is the caller's uid). No
// value comes back when the record could not be written.
func (c *Client) Use(name, via string, proc *audit.Process, ctx *audit.Context) (store.Secret, error) {
	var w wireSecret
	req := useRequest{Via: via, Process: proc, Context: ctx}
	if err := c.do(context.Background(), http.MethodPost, secretPath(name)+"/use", req, &w); err != nil {
		return store.Secret{}, err
	}
	return w.decode()
}

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
		addRequest{Secret: encodeSecret(sec, false), AllowDangerousName: o.AllowDangerousName}, &m)
	return m, err
}

// maxUpdateTries bounds how often Update retries after a conflict.
const maxUpdateTries = 8

// Update applies fn to the secret called name, as store.Store.Update: it
// reads the secret, applies fn here, and sends the result with the
// version it read; when someone changed the secret meanwhile, it starts
// over (fn may then run more than once).
func (c *Client) Update(name string, fn func(*store.Secret) error) (store.Meta, error) {
	for try := 1; ; try++ {
		cur, err := c.get(name, true)
		if err != nil {
			return store.Meta{}, err
		}
		next := cur
		next.Hosts = append([]string(nil), cur.Hosts...)
		if err := fn(&next); err != nil {
			return store.Meta{}, err
		}
		var m store.Meta
		err = c.do(context.Background(), http.MethodPut, secretPath(name),
			updateRequest{Version: cur.Version, Secret: encodeSecret(next, true)}, &m)
		if errors.Is(err, ErrConflict) && try < maxUpdateTries {
			continue
		}
		return m, err
	}
}

// Remove deletes the secret called name.
func (c *Client) Remove(name string) error {
	return c.do(context.Background(), http.MethodDelete, secretPath(name), nil, nil)
}

// AuditKey returns the key of the audit log's MACs.
func (c *Client) AuditKey() ([]byte, error) {
	var k keyResponse
	if err := c.do(context.Background(), http.MethodGet, "/v1/audit/key", nil, &k); err != nil {
		return nil, err
	}
	return k.Key, nil
}

// AppendBatch appends rs, in order, with one request, and returns them as
// written. On an error the caller must release nothing: some of rs may
// have been appended.
func (c *Client) AppendBatch(rs []audit.Record) ([]audit.Record, error) {
	var out []audit.Record
	err := c.do(context.Background(), http.MethodPost, "/v1/audit/batch", auditBatchRequest{Records: rs}, &out)
	return out, err
}

// Append appends r to the daemon's audit log and returns it as written:
// written before the answer, fsynced with the group commit. The actor is
// set by the daemon from the socket's peer credentials.
func (c *Client) Append(r audit.Record) (audit.Record, error) {
	var out audit.Record
	err := c.do(context.Background(), http.MethodPost, "/v1/audit", auditRequest{Record: r}, &out)
	return out, err
}
