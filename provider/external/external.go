// Package external runs providers in another executable, wsx-provider, as
// git runs its https transport in git-remote-https: the clients of Vault,
// AWS and Azure (and their package initialisers, which every process
// linking them pays before main) stay out of the wsx binary, which starts
// on every git credential request.
//
// wsx starts one wsx-provider per provider and fetch run, found beside
// its own executable, else on PATH, and speaks JSON lines with it on the
// child's stdin and stdout:
//
//	wsx -> {"open":{"provider":"vault","settings":{...}}}
//	    <- {"opened":true}                        or {"error":{...}}
//	wsx -> {"fetch":{"source":"vault://secret/app#db_url","timeout_ms":10000}}
//	    <- {"need":"VAULT_TOKEN"}                 the provider reads a credential
//	wsx -> {"cred":{"name":"VAULT_TOKEN","value":"base64"}}   or {"cred":{"name":...,"error":{...}}}
//	    <- {"result":{"value":"base64","version":"3","detail":"vault secret/app v3"}}
//	                                              or {"error":{"kind":"auth","message":"..."}}
//
// A credential is read in wsx, through the release path (a `used`
// record), only when the provider asks for it, as in process. An error's
// kind ("not_found", "auth", "unavailable", "credential") keeps the
// provider's sentinel, so fetch's retries, cached values and exit codes
// are the same in either process; its message names the secret and the
// fix, as the provider wrote it, never a value. Each try is bounded in
// the child by the fetch's deadline and in wsx by its context: a child
// that does not answer in time is killed, and the next fetch starts
// another. Values cross the pipe between wsx and its own child only; the
// child's environment holds the proxy and certificate variables alone,
// and it writes nothing to disk.
package external

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/wsxdev/wsx/provider"
)

// Command is the executable that serves the providers.
const Command = "wsx-provider"

// maxLine bounds one message: a value is at most 1 MiB (a file secret),
// base64 makes it 4/3 of that.
const maxLine = 4 << 20

// message is one line of the protocol, either way. Exactly one field is
// set.
type message struct {
	Open   *openRequest  `json:"open,omitempty"`
	Opened bool          `json:"opened,omitempty"`
	Fetch  *fetchRequest `json:"fetch,omitempty"`
	Need   string        `json:"need,omitempty"`
	Cred   *credAnswer   `json:"cred,omitempty"`
	Result *result       `json:"result,omitempty"`
	Error  *wireError    `json:"error,omitempty"`
}

type openRequest struct {
	Provider string          `json:"provider"`
	Settings json.RawMessage `json:"settings"` // a provider.Settings; see settings
}

type fetchRequest struct {
	Source    string `json:"source"`
	TimeoutMS int64  `json:"timeout_ms"`
}

type credAnswer struct {
	Name  string     `json:"name"`
	Value []byte     `json:"value,omitempty"`
	Error *wireError `json:"error,omitempty"`
}

type result struct {
	Value   []byte `json:"value"`
	Version string `json:"version,omitempty"`
	Detail  string `json:"detail,omitempty"`
}

// wireError is an error as it crosses the pipe: its message, and which
// of the provider's sentinels it wraps.
type wireError struct {
	Kind    string `json:"kind,omitempty"`
	Message string `json:"message"`
}

// The kinds of a wireError.
const (
	kindNotFound    = "not_found"
	kindAuth        = "auth"
	kindUnavailable = "unavailable"
	kindCredential  = "credential" // reading a credential in wsx failed
)

func toWire(err error) *wireError {
	w := &wireError{Message: err.Error()}
	switch {
	case errors.As(err, new(credError)):
		w.Kind = kindCredential
	case errors.Is(err, provider.ErrNotFound):
		w.Kind = kindNotFound
	case errors.Is(err, provider.ErrAuth):
		w.Kind = kindAuth
	case errors.Is(err, provider.ErrUnavailable):
		w.Kind = kindUnavailable
	}
	return w
}

// remoteError is a provider's error from the child: its message, and the
// sentinel it wrapped there (or, for a credential, the error wsx had).
type remoteError struct {
	msg string
	err error
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.err }

// fromWire is w in wsx. cred is the error wsx answered the last
// credential request with.
func fromWire(w *wireError, cred error) error {
	e := &remoteError{msg: w.Message}
	switch w.Kind {
	case kindNotFound:
		e.err = provider.ErrNotFound
	case kindAuth:
		e.err = provider.ErrAuth
	case kindUnavailable:
		e.err = provider.ErrUnavailable
	case kindCredential:
		e.err = cred
	}
	return e
}

// conn reads and writes messages.
type conn struct {
	r *bufio.Reader
	w io.Writer
}

func newConn(r io.Reader, w io.Writer) *conn {
	return &conn{r: bufio.NewReaderSize(r, 64<<10), w: w}
}

// read reads one message. The line, which may hold a value, is cleared.
func (c *conn) read() (message, error) {
	var line []byte
	defer func() { clear(line) }()
	for {
		part, err := c.r.ReadSlice('\n')
		line = append(line, part...)
		if len(line) > maxLine {
			return message{}, fmt.Errorf("message longer than %d bytes", maxLine)
		}
		if err == nil {
			break
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			if err == io.EOF && len(line) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return message{}, err
		}
	}
	// Unmarshal, not a Decoder: no second copy of the line, which may
	// hold a value, is left behind.
	var m message
	if err := json.Unmarshal(line, &m); err != nil {
		return message{}, fmt.Errorf("bad message: %w", err)
	}
	return m, nil
}

// write writes one message. The encoded line, which may hold a value, is
// cleared.
func (c *conn) write(m message) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	_, err = c.w.Write(b)
	clear(b)
	return err
}

// settings decodes a provider's table with the types the manifest's TOML
// gave: int64 for integers, float64 for other numbers.
func settings(raw json.RawMessage) (provider.Settings, error) {
	s := provider.Settings{}
	if len(raw) == 0 || string(raw) == "null" {
		return s, nil
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&s); err != nil {
		return nil, fmt.Errorf("bad settings: %w", err)
	}
	for k, v := range s {
		s[k] = number(v)
	}
	return s, nil
}

func number(v any) any {
	switch v := v.(type) {
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return i
		}
		f, _ := v.Float64()
		return f
	case map[string]any:
		for k, e := range v {
			v[k] = number(e)
		}
	case []any:
		for i, e := range v {
			v[i] = number(e)
		}
	}
	return v
}
