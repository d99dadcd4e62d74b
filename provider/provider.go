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
