// Package vault fetches values from HashiCorp Vault's KV version 2 secrets
// engine through Vault's own client (github.com/hashicorp/vault/api).
//
// A source "vault://secret/app#db_url?version=3" reads field db_url of
// version 3 of the secret app in the engine mounted at secret/ (the first
// segment of the location is the mount, as in `vault kv get secret/app`).
// Without #KEY the secret must hold exactly one field.
//
// Settings ([provider.vault]): address (required), namespace, auth
// ("token", the default, or "approle"), token_secret (the wsx secret
// holding the token; VAULT_TOKEN), role_id_secret and secret_id_secret
// (VAULT_ROLE_ID, VAULT_SECRET_ID), approle_mount ("approle"), ca_cert (a
// PEM file of the CA of the server's certificate; default the system's). The client
// ignores Vault's environment variables (VAULT_ADDR, VAULT_TOKEN, ...):
// what it uses is in the manifest and the store.
package vault

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/wsxdev/wsx/provider"
)

// table is the provider's manifest table.
const table = "vault"

// Vault fetches from one Vault server.
type Vault struct {
	address, namespace, auth string
	tokenSecret              string
	roleSecret, idSecret     string
	approleMount             string
	caCert                   string // a PEM file of the CA that signed the server's certificate
	creds                    provider.Creds
	timeout                  time.Duration // the client's own bound per request
}

// Open checks s and returns a provider for the Vault it names.
func Open(s provider.Settings, creds provider.Creds) (provider.Provider, error) {
	if err := s.Check(table, "address", "namespace", "auth", "token_secret", "role_id_secret", "secret_id_secret", "approle_mount", "ca_cert"); err != nil {
		return nil, err
	}
	v := &Vault{creds: creds}
	str := s.Strings(table)
	v.address = str.Get("address", "")
	v.namespace = str.Get("namespace", "")
	v.auth = str.Get("auth", "token")
	v.tokenSecret = str.Get("token_secret", "VAULT_TOKEN")
	v.roleSecret = str.Get("role_id_secret", "VAULT_ROLE_ID")
	v.idSecret = str.Get("secret_id_secret", "VAULT_SECRET_ID")
	v.approleMount = str.Get("approle_mount", "approle")
	v.caCert = str.Get("ca_cert", "")
	if str.Err != nil {
		return nil, str.Err
	}
	timeout, err := s.Timeout(table)
	if err != nil {
		return nil, err
	}
	v.timeout = timeout
	if v.address == "" {
		return nil, fmt.Errorf("[provider.vault]: address is missing, e.g. address = \"https://vault.example.com:8200\"")
	}
	if u, err := url.Parse(v.address); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("[provider.vault]: address %q is not an http(s) URL", v.address)
	}
	if v.auth != "token" && v.auth != "approle" {
		return nil, fmt.Errorf("[provider.vault]: auth %q: want token or approle", v.auth)
	}
	return v, nil
}

// client makes a Vault client for one fetch, with no retries of its own
// (the caller retries) and none of Vault's environment variables.
func (v *Vault) client() (*api.Client, error) {
	cfg := &api.Config{Address: v.address, MaxRetries: 0}
	cfg.HttpClient = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	cfg.Timeout = v.timeout
	if v.caCert != "" {
		if err := cfg.ConfigureTLS(&api.TLSConfig{CACert: v.caCert}); err != nil {
			return nil, fmt.Errorf("[provider.vault]: ca_cert %s: %w", v.caCert, err)
		}
	}
	c, err := api.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("vault client: %w", err)
	}
	c.ClearToken()
	c.ClearNamespace()
	if v.namespace != "" {
		c.SetNamespace(v.namespace)
	}
	return c, nil
}

// Fetch reads src: a field of a version (src.Version, else the latest) of
// a KV v2 secret.
func (v *Vault) Fetch(ctx context.Context, src provider.Source) (provider.Result, error) {
	mount, path, ok := strings.Cut(src.Location, "/")
	if !ok {
		return provider.Result{}, fmt.Errorf("%s: want MOUNT/PATH, e.g. vault://secret/app", src.Raw)
	}
	version := 0
	if src.Version != "" {
		n, err := strconv.Atoi(src.Version)
		if err != nil || n < 1 {
			return provider.Result{}, fmt.Errorf("%s: version %q: want a number from 1", src.Raw, src.Version)
		}
		version = n
	}
	if src.Stage != "" {
		return provider.Result{}, fmt.Errorf("%s: stage is for aws-sm sources; vault pins with ?version=N", src.Raw)
	}
	c, err := v.client()
	if err != nil {
		return provider.Result{}, err
	}
	if err := v.login(ctx, c); err != nil {
		return provider.Result{}, err
	}
	kv := c.KVv2(mount)
	var sec *api.KVSecret
	if version > 0 {
		sec, err = kv.GetVersion(ctx, path, version)
	} else {
		sec, err = kv.Get(ctx, path)
	}
	if err != nil {
		return provider.Result{}, classify(src.Name(), err)
	}
	if sec == nil || sec.Data == nil {
		return provider.Result{}, fmt.Errorf("%s: deleted or destroyed: %w", src.Name(), provider.ErrNotFound)
	}
	val, err := field(src, sec.Data)
	if err != nil {
		return provider.Result{}, err
	}
	res := provider.Result{Value: val, Detail: src.Name()}
	if sec.VersionMetadata != nil {
		res.Version = strconv.Itoa(sec.VersionMetadata.Version)
		res.Detail += " v" + res.Version
	}
	return res, nil
}

// login sets the client's token: the token secret, or an AppRole login
// with the role and secret id secrets.
func (v *Vault) login(ctx context.Context, c *api.Client) error {
	if v.auth == "token" {
		tok, err := v.creds.Secret(ctx, v.tokenSecret)
		if err != nil {
			return err
		}
		c.SetToken(string(tok))
		return nil
	}
	role, err := v.creds.Secret(ctx, v.roleSecret)
	if err != nil {
		return err
	}
	id, err := v.creds.Secret(ctx, v.idSecret)
	if err != nil {
		return err
	}
	resp, err := c.Logical().WriteWithContext(ctx, "auth/"+v.approleMount+"/login", map[string]any{
		"role_id": string(role), "secret_id": string(id),
	})
	if err != nil {
		var re *api.ResponseError
		if errors.As(err, &re) && re.StatusCode == http.StatusBadRequest {
			// Vault answers 400 "invalid role or secret ID".
			return fmt.Errorf("vault AppRole login with %s and %s: %w", v.roleSecret, v.idSecret, provider.ErrAuth)
		}
		return classify(fmt.Sprintf("vault AppRole login with %s and %s", v.roleSecret, v.idSecret), err)
	}
	if resp == nil || resp.Auth == nil || resp.Auth.ClientToken == "" {
		return fmt.Errorf("vault AppRole login with %s and %s: no token in the answer: %w", v.roleSecret, v.idSecret, provider.ErrAuth)
	}
	c.SetToken(resp.Auth.ClientToken)
	return nil
}

// classify wraps err from the client in the provider error it is.
func classify(what string, err error) error {
	var re *api.ResponseError
	if errors.As(err, &re) {
		switch {
		case re.StatusCode == http.StatusForbidden || re.StatusCode == http.StatusUnauthorized:
			return fmt.Errorf("%s: vault answered %d (permission denied): %w", what, re.StatusCode, provider.ErrAuth)
		case re.StatusCode == http.StatusNotFound:
			return fmt.Errorf("%s: %w", what, provider.ErrNotFound)
		case re.StatusCode == http.StatusTooManyRequests || re.StatusCode >= 500:
			return fmt.Errorf("%s: vault answered %d: %w", what, re.StatusCode, provider.ErrUnavailable)
		}
		return fmt.Errorf("%s: vault answered %d", what, re.StatusCode)
	}
	var cv *tls.CertificateVerificationError
	if errors.As(err, &cv) {
		return fmt.Errorf("%s: the server's certificate is not trusted (name its CA with ca_cert in [provider.vault]): %v", what, cv.Err)
	}
	if errors.Is(err, api.ErrSecretNotFound) {
		return fmt.Errorf("%s: %w", what, provider.ErrNotFound)
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) || errors.Is(err, context.Canceled) {
		return fmt.Errorf("%s: %w (%v)", what, provider.ErrUnavailable, shortErr(err))
	}
	return fmt.Errorf("%s: %w", what, err)
}

// shortErr is the last part of a chain of net errors: "connection
// refused", "i/o timeout".
func shortErr(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		return s[i+2:]
	}
	return s
}

// field picks src.Key from a secret's data, or its one field.
func field(src provider.Source, data map[string]any) ([]byte, error) {
	key := src.Key
	if key == "" {
		if len(data) != 1 {
			return nil, fmt.Errorf("%s has fields %s: name one, e.g. %s#%s", src.Name(), strings.Join(keys(data), ", "), src.Raw, firstKey(data))
		}
		for k := range data {
			key = k
		}
	}
	v, ok := data[key]
	if !ok {
		return nil, fmt.Errorf("%s has no field %q (it has %s): %w", src.Name(), key, strings.Join(keys(data), ", "), provider.ErrNotFound)
	}
	switch v := v.(type) {
	case string:
		return []byte(v), nil
	case nil:
		return nil, fmt.Errorf("%s: field %q is null: %w", src.Name(), key, provider.ErrNotFound)
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("%s: field %q: %v", src.Name(), key, err)
		}
		return b, nil
	}
}

func keys(data map[string]any) []string {
	out := make([]string, 0, len(data))
	for k := range data {
		out = append(out, strconv.Quote(k))
	}
	sort.Strings(out)
	return out
}

func firstKey(data map[string]any) string {
	ks := make([]string, 0, len(data))
	for k := range data {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	if len(ks) == 0 {
		return "FIELD"
	}
	return ks[0]
}
