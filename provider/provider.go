// Package provider fetches secret values from the services a team keeps
// them in (Vault, AWS Secrets Manager, Azure Key Vault, pass, sops files)
// so that wsx can hold a copy in its encrypted store.
//
// A secret names its source as a URL, e.g. "vault://secret/app#db_url" or
// "aws-sm://prod/db#password"; the scheme picks the provider, whose
// settings come from the manifest's [provider.NAME] table and whose own
// credentials are ordinary wsx secrets, read through Creds.
package provider

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"
	"unicode"
)

// Source is a parsed source URL.
type Source struct {
	Raw      string // as written, for messages; it holds no value
	Scheme   string // "vault", "aws-sm", "azure-kv", "pass", "sops"
	Location string // the URL's host and path, e.g. "secret/app" or "myvault/db-password"
	Key      string // the fragment: a field of a JSON or YAML value; "" for the whole value
	Version  string // ?version=N; "" for the latest
	Stage    string // ?stage=AWSCURRENT (AWS version stage); "" for the default
}

// Settings is a provider's table from the manifest, [provider.NAME]:
// address, region, namespace, auth method, the names of the wsx secrets
// holding its credentials.
type Settings map[string]any

// Creds reads a provider's own credentials, which are wsx secrets named in
// its Settings. A provider never writes them anywhere, nor puts them in an
// environment.
type Creds interface {
	Secret(ctx context.Context, name string) ([]byte, error)
}

// Result is a fetched value and what the audit record says about it.
type Result struct {
	Value   []byte
	Version string // the service's version of the value, "" when it has none
	Detail  string // e.g. "vault secret/app v3", for "Secret fetched: NAME (Detail)"
}

// Provider fetches values from one service.
type Provider interface {
	Fetch(ctx context.Context, src Source) (Result, error)
}

// Opener makes a Provider from its settings and credentials. It does no
// I/O; the first Fetch connects.
type Opener func(s Settings, creds Creds) (Provider, error)

// Errors a Provider wraps so that callers choose the exit code and hint.
var (
	ErrNotFound    = errors.New("not found at its source")         // exit 3
	ErrAuth        = errors.New("refused the credentials")         // exit 5
	ErrUnavailable = errors.New("source unreachable or timed out") // cached value used, with a warning
)

// Schemes are the sources wsx knows, whether or not this build has their
// provider.
var Schemes = []string{"vault", "aws-sm", "azure-kv", "pass", "sops"}

// Limits on a source URL: it comes from a manifest.
const (
	maxSourceLen = 1024
	maxKeyLen    = 256
)

// ParseSource parses a source URL:
//
//	SCHEME://LOCATION[?QUERY][#KEY]
//	SCHEME://LOCATION[#KEY][?QUERY]
//
// SCHEME is one of Schemes. LOCATION is the service's name for the
// value: a path of non-empty segments separated by '/' ("secret/app",
// "prod/db", "myvault/db-password", "secrets.enc.yaml"; a sops file may
// be absolute, "sops:///etc/app/secrets.yaml"), with no "." or ".."
// segment. KEY selects a field of a structured value ("db_url",
// "db.password" for a nested YAML key); without it the whole value is
// taken. QUERY is version=V (a version to pin) and stage=S (an AWS
// version stage), each at most once. The query may come before or after
// the key: "vault://secret/app#db_url?version=3" and
// "vault://secret/app?version=3#db_url" are the same source, so KEY can
// hold neither '?' nor '#'. No part is percent-decoded; spaces and
// control characters are refused anywhere.
func ParseSource(raw string) (Source, error) {
	bad := func(format string, args ...any) (Source, error) {
		return Source{}, fmt.Errorf("source %q: %s", raw, fmt.Sprintf(format, args...))
	}
	if len(raw) > maxSourceLen {
		return Source{}, fmt.Errorf("source of %d bytes is longer than %d", len(raw), maxSourceLen)
	}
	for _, r := range raw {
		if r <= ' ' || r == 0x7f || !unicode.IsPrint(r) {
			return bad("contains %q: a source has no spaces or control characters", r)
		}
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return bad("want SCHEME://LOCATION[#KEY][?version=N], e.g. vault://secret/app#db_url")
	}
	if !slices.Contains(Schemes, scheme) {
		return bad("unknown scheme %q (%s)", scheme, strings.Join(Schemes, ", "))
	}
	src := Source{Raw: raw, Scheme: scheme}
	loc := rest
	var query, key string
	var hasQuery, hasKey bool
	if i := strings.IndexAny(rest, "?#"); i >= 0 {
		loc = rest[:i]
		tail := rest[i:]
		for tail != "" {
			mark := tail[0]
			body := tail[1:]
			next := strings.IndexAny(body, "?#")
			part := body
			if next >= 0 {
				part, tail = body[:next], body[next:]
			} else {
				tail = ""
			}
			switch {
			case mark == '?' && !hasQuery:
				query, hasQuery = part, true
			case mark == '#' && !hasKey:
				key, hasKey = part, true
			default:
				return bad("%q appears twice; the key follows one '#', the query one '?'", string(mark))
			}
		}
	}
	if hasKey && key == "" {
		return bad("empty key after '#'")
	}
	if len(key) > maxKeyLen {
		return bad("key of %d bytes is longer than %d", len(key), maxKeyLen)
	}
	src.Key = key
	abs := strings.HasPrefix(loc, "/")
	if abs && scheme != "sops" {
		return bad("the location must not start with '/' (only a sops file may be an absolute path)")
	}
	segs := strings.Split(strings.TrimPrefix(loc, "/"), "/")
	for _, seg := range segs {
		switch seg {
		case "":
			return bad("empty location or empty path segment")
		case ".", "..":
			return bad("%q is not allowed in a location", seg)
		}
	}
	src.Location = loc
	if hasQuery {
		if query == "" {
			return bad("empty query after '?'")
		}
		for kv := range strings.SplitSeq(query, "&") {
			k, v, _ := strings.Cut(kv, "=")
			if v == "" || strings.Trim(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") != "" || len(v) > 128 {
				return bad("%s wants a value of letters, digits, '-', '_' or '.'", k)
			}
			switch {
			case k == "version" && src.Version == "":
				src.Version = v
			case k == "stage" && src.Stage == "":
				src.Stage = v
			case k == "version" || k == "stage":
				return bad("%s is given twice", k)
			default:
				return bad("unknown parameter %q (version, stage)", k)
			}
		}
	}
	return src, nil
}

// Name is the source as the audit record names it, without the key:
// "vault secret/app".
func (s Source) Name() string { return s.Scheme + " " + s.Location }

// Common settings every provider table may hold besides its own: how long
// one try may take and how often an unreachable service is tried again.
// The fetching code reads them; providers accept them (Check).
const (
	SettingTimeout = "timeout" // a Go duration, "10s"; default DefaultTimeout
	SettingRetries = "retries" // tries after the first; default DefaultRetries
)

// Defaults of the common settings.
const (
	DefaultTimeout = 10 * time.Second
	DefaultRetries = 2
)

// Check refuses a key of s that is neither one of known nor a common
// setting, naming the provider table.
func (s Settings) Check(table string, known ...string) error {
	for k := range s {
		if k == SettingTimeout || k == SettingRetries || slices.Contains(known, k) {
			continue
		}
		all := append(append([]string(nil), known...), SettingTimeout, SettingRetries)
		return fmt.Errorf("[provider.%s]: unknown setting %q (%s)", table, k, strings.Join(all, ", "))
	}
	return nil
}

// String returns the string setting key, or def when it is not set. A
// setting of another type is an error.
func (s Settings) String(table, key, def string) (string, error) {
	v, ok := s[key]
	if !ok {
		return def, nil
	}
	str, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("[provider.%s]: %s must be a string", table, key)
	}
	return str, nil
}

// Strings reads string settings of table in turn: each Get returns the
// key's value or def, and after the first wrong one every Get returns ""
// and Err says which key was wrong.
func (s Settings) Strings(table string) *StringReader {
	return &StringReader{s: s, table: table}
}

// StringReader is Settings.Strings's reader.
type StringReader struct {
	s     Settings
	table string
	Err   error // the first wrong setting
}

// Get returns setting key, or def when it is unset.
func (r *StringReader) Get(key, def string) string {
	if r.Err != nil {
		return ""
	}
	v, err := r.s.String(r.table, key, def)
	r.Err = err
	return v
}

// NetError words a request's failure to reach a service, for secret name:
// a timeout names the timeout setting, a refused or cut connection its
// cause; both wrap ErrUnavailable. It returns nil for any other error.
func NetError(name string, timeout time.Duration, err error) error {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("%s: no answer within the timeout (%s; the timeout setting): %w", name, timeout, ErrUnavailable)
	}
	if errors.Is(err, context.Canceled) || errors.As(err, &ne) {
		return fmt.Errorf("%s: %w (%s)", name, ErrUnavailable, lastPart(err))
	}
	return nil
}

// lastPart is the end of a chain of errors: "connection refused",
// "context deadline exceeded".
func lastPart(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		return s[i+2:]
	}
	return s
}

// Timeout is the common setting timeout, or DefaultTimeout.
func (s Settings) Timeout(table string) (time.Duration, error) {
	str, err := s.String(table, SettingTimeout, "")
	if err != nil || str == "" {
		return DefaultTimeout, err
	}
	d, err := time.ParseDuration(str)
	if err != nil || d <= 0 || d > 10*time.Minute {
		return 0, fmt.Errorf("[provider.%s]: timeout %q: want a duration up to 10m, e.g. \"10s\"", table, str)
	}
	return d, nil
}

// Retries is the common setting retries, or DefaultRetries.
func (s Settings) Retries(table string) (int, error) {
	v, ok := s[SettingRetries]
	if !ok {
		return DefaultRetries, nil
	}
	n, ok := v.(int64)
	if !ok || n < 0 || n > 10 {
		return 0, fmt.Errorf("[provider.%s]: retries must be a number from 0 to 10", table)
	}
	return int(n), nil
}
