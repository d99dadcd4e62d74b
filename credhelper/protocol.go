package credhelper

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/wsxdev/wsx/store"
)

// Limits of the wire format.
const (
	// MaxLineLen is the longest line, its LF included, that git-credential(1)
	// allows.
	MaxLineLen = 65535
	// MaxRequestLen bounds a whole request, so that many short lines cannot
	// grow memory without limit either.
	MaxRequestLen = 1 << 20
)

// Errors callers branch on. Their wrapping text never holds a value.
var (
	// ErrMalformed marks a request that breaks the wire format; the helper
	// answers nothing.
	ErrMalformed = errors.New("malformed credential request")
	// ErrUnsafeValue marks a value that cannot travel in the protocol
	// because it holds LF, CR or NUL.
	ErrUnsafeValue = errors.New("value holds a line break or NUL byte")
)

// Request is one credential description read from git. Values that are
// credentials (Password, OAuthRefreshToken, Credential) are store.Values,
// so printing a Request shows them redacted. An attribute git did not send
// is the zero value.
type Request struct {
	Protocol string // e.g. "https"
	Host     string // host name with ":port" when the URL had one
	Path     string // repository path, when git sends it (credential.useHttpPath)
	Username string
	Password store.Value
	// HasUsername and HasPassword say that git sent the attribute, perhaps
	// empty: an empty user name and password are a credential (SSO or
	// Kerberos logins with http.emptyAuth approve one), not a missing one.
	HasUsername, HasPassword bool

	PasswordExpiry    time.Time // password_expiry_utc; zero when absent or 0
	OAuthRefreshToken store.Value
	AuthType          string
	Credential        store.Value
	Ephemeral         bool
	Continue          bool
	Quit              bool
	RequestURL        string

	Capabilities []string // capability[]
	WWWAuth      []string // wwwauth[]
	State        []string // state[]
}

// Response is what a helper may print for `get`. Format prints the fields
// that are set; the helper itself sets only Username, Password and
// PasswordExpiry, as gitcredentials(7) asks of well-behaved helpers.
type Response struct {
	Protocol string
	Host     string
	Path     string
	Username string
	Password store.Value
	// HasUsername and HasPassword send username= and password= even when
	// empty.
	HasUsername, HasPassword bool
	PasswordExpiry           time.Time // zero: not sent
}

// single-valued attributes, for duplicate detection.
const (
	fProtocol = 1 << iota
	fHost
	fPath
	fUsername
	fPassword
	fExpiry
	fRefresh
	fAuthType
	fCredential
	fEphemeral
	fContinue
	fQuit
	fRequestURL
	fURL
)

// Parse reads one credential request from r. It stops at a blank line or
// at end of input and reads at most MaxRequestLen bytes. Errors wrap
// ErrMalformed, name the line and the attribute, and never quote a value.
func Parse(r io.Reader) (Request, error) {
	var req Request
	br := bufio.NewReaderSize(r, MaxLineLen+1)
	var seen, total int
	for n := 1; ; n++ {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			return Request{}, fmt.Errorf("line %d is longer than %d bytes: %w", n, MaxLineLen, ErrMalformed)
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return Request{}, fmt.Errorf("read request: %w", err)
		}
		eof := err != nil
		if eof && len(line) == 0 {
			return req, nil
		}
		length := len(line)
		if eof {
			length++ // as if it ended in LF
		}
		if length > MaxLineLen {
			return Request{}, fmt.Errorf("line %d is longer than %d bytes: %w", n, MaxLineLen, ErrMalformed)
		}
		total += len(line)
		if total > MaxRequestLen {
			return Request{}, fmt.Errorf("request is longer than %d bytes: %w", MaxRequestLen, ErrMalformed)
		}
		line = bytes.TrimSuffix(line, []byte("\n"))
		line = bytes.TrimSuffix(line, []byte("\r"))
		if bytes.IndexByte(line, 0) >= 0 {
			return Request{}, fmt.Errorf("line %d holds a NUL byte: %w", n, ErrMalformed)
		}
		if bytes.IndexByte(line, '\r') >= 0 {
			return Request{}, fmt.Errorf("line %d holds a carriage return that does not end the line: %w", n, ErrMalformed)
		}
		if len(line) == 0 {
			return req, nil
		}
		if err := req.set(line, n, &seen); err != nil {
			return Request{}, err
		}
		if eof {
			return req, nil
		}
	}
}

// set applies one key=value line to req.
func (req *Request) set(line []byte, n int, seen *int) error {
	i := bytes.IndexByte(line, '=')
	if i < 0 {
		return fmt.Errorf("line %d has no '=': %w", n, ErrMalformed)
	}
	key, val := string(line[:i]), line[i+1:]
	once := func(f int) error {
		if *seen&f != 0 {
			return fmt.Errorf("line %d repeats %q (or url= already set it): %w", n, key, ErrMalformed)
		}
		*seen |= f
		return nil
	}
	var err error
	switch key {
	case "protocol":
		if err = once(fProtocol); err == nil {
			req.Protocol, err = checkName(string(val), "protocol", n)
		}
	case "host":
		if err = once(fHost); err == nil {
			req.Host, err = checkName(string(val), "host", n)
		}
	case "path":
		if err = once(fPath); err == nil {
			req.Path = string(val)
		}
	case "username":
		if err = once(fUsername); err == nil {
			req.Username, req.HasUsername = string(val), true
		}
	case "password":
		if err = once(fPassword); err == nil {
			req.Password, req.HasPassword = store.NewValue(val), true
		}
	case "oauth_refresh_token":
		if err = once(fRefresh); err == nil {
			req.OAuthRefreshToken = store.NewValue(val)
		}
	case "credential":
		if err = once(fCredential); err == nil {
			req.Credential = store.NewValue(val)
		}
	case "authtype":
		if err = once(fAuthType); err == nil {
			req.AuthType = string(val)
		}
	case "request_url":
		if err = once(fRequestURL); err == nil {
			req.RequestURL = string(val)
		}
	case "password_expiry_utc":
		if err = once(fExpiry); err == nil {
			req.PasswordExpiry, err = parseExpiry(string(val), n)
		}
	case "ephemeral":
		if err = once(fEphemeral); err == nil {
			req.Ephemeral, err = parseBool(string(val), key, n)
		}
	case "continue":
		if err = once(fContinue); err == nil {
			req.Continue, err = parseBool(string(val), key, n)
		}
	case "quit":
		if err = once(fQuit); err == nil {
			req.Quit, err = parseBool(string(val), key, n)
		}
	case "url":
		if err = once(fURL); err == nil {
			err = req.setURL(string(val), n, seen)
		}
	case "capability[]":
		req.Capabilities = appendMulti(req.Capabilities, val)
	case "wwwauth[]":
		req.WWWAuth = appendMulti(req.WWWAuth, val)
	case "state[]":
		req.State = appendMulti(req.State, val)
	}
	return err
}

// appendMulti adds one value of a `key[]` attribute; an empty value clears
// the list (git-credential(1)).
func appendMulti(list []string, val []byte) []string {
	if len(val) == 0 {
		return nil
	}
	return append(list, string(val))
}

// setURL splits a url= attribute into its parts, as if each had been sent
// on its own line.
func (req *Request) setURL(raw string, n int, seen *int) error {
	u, err := parseURL(raw)
	if err != nil {
		return fmt.Errorf("line %d: url: %w", n, err)
	}
	set := func(f int, name string) error {
		if *seen&f != 0 {
			return fmt.Errorf("line %d: url= sets %s, which another line also sets: %w", n, name, ErrMalformed)
		}
		*seen |= f
		return nil
	}
	if err := set(fProtocol, "protocol"); err != nil {
		return err
	}
	req.Protocol = u.protocol
	if err := set(fHost, "host"); err != nil {
		return err
	}
	req.Host = u.host
	if u.path != "" {
		if err := set(fPath, "path"); err != nil {
			return err
		}
		req.Path = u.path
	}
	if u.hasUser {
		if err := set(fUsername, "username"); err != nil {
			return err
		}
		req.Username, req.HasUsername = u.username, true
	}
	if u.hasPassword {
		if err := set(fPassword, "password"); err != nil {
			return err
		}
		req.Password, req.HasPassword = store.NewValue([]byte(u.password)), true
	}
	return nil
}

// checkName refuses control characters in a protocol or host. It does not
// quote the value: a mistyped URL can put a password where a host belongs.
func checkName(s, what string, n int) (string, error) {
	if hasControl(s) {
		return "", fmt.Errorf("line %d: %s holds a control character: %w", n, what, ErrMalformed)
	}
	return s, nil
}

func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}

// parseExpiry reads password_expiry_utc: decimal Unix seconds. 0 means no
// expiry, as in git.
func parseExpiry(s string, n int) (time.Time, error) {
	if s == "" || strings.Trim(s, "0123456789") != "" {
		return time.Time{}, fmt.Errorf("line %d: password_expiry_utc is not a decimal number of seconds: %w", n, ErrMalformed)
	}
	sec, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("line %d: password_expiry_utc is out of range: %w", n, ErrMalformed)
	}
	if sec == 0 {
		return time.Time{}, nil
	}
	return time.Unix(sec, 0).UTC(), nil
}

// parseBool reads a boolean the way git's config does: true/yes/on and
// false/no/off in any case, the empty string as false, or an integer.
func parseBool(s, key string, n int) (bool, error) {
	switch strings.ToLower(s) {
	case "true", "yes", "on":
		return true, nil
	case "false", "no", "off", "":
		return false, nil
	}
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		return v != 0, nil
	}
	return false, fmt.Errorf("line %d: %s is not a boolean: %w", n, key, ErrMalformed)
}

// Format writes resp in the protocol's format with a single Write. An
// empty attribute is left out, except username and password when
// HasUsername or HasPassword ask for them. It refuses, writing nothing,
// any value that holds LF, CR or NUL, and any line longer than
// MaxLineLen. Errors name the attribute, never its value.
func Format(w io.Writer, resp Response) error {
	var b bytes.Buffer
	defer func() {
		buf := b.Bytes()
		clear(buf[:cap(buf)])
	}()
	add := func(key string, val []byte, always bool) error {
		if len(val) == 0 && !always {
			return nil
		}
		if bytes.ContainsAny(val, "\n\r\x00") {
			return fmt.Errorf("format %s: %w", key, ErrUnsafeValue)
		}
		if len(key)+len(val)+2 > MaxLineLen {
			return fmt.Errorf("format %s: line longer than %d bytes: %w", key, MaxLineLen, ErrUnsafeValue)
		}
		b.WriteString(key)
		b.WriteByte('=')
		b.Write(val)
		b.WriteByte('\n')
		return nil
	}
	var expiry []byte
	if !resp.PasswordExpiry.IsZero() {
		sec := resp.PasswordExpiry.Unix()
		if sec <= 0 {
			sec = 1 // long expired; 0 would mean "never"
		}
		expiry = strconv.AppendInt(nil, sec, 10)
	}
	for _, kv := range []struct {
		key    string
		val    []byte
		always bool
	}{
		{"protocol", []byte(resp.Protocol), false},
		{"host", []byte(resp.Host), false},
		{"path", []byte(resp.Path), false},
		{"username", []byte(resp.Username), resp.HasUsername},
		{"password", resp.Password.Bytes(), resp.HasPassword},
		{"password_expiry_utc", expiry, false},
	} {
		if err := add(kv.key, kv.val, kv.always); err != nil {
			return err
		}
	}
	if b.Len() == 0 {
		return nil
	}
	_, err := w.Write(b.Bytes())
	return err
}
