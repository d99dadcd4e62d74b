package vault

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wsxdev/wsx/provider"
)

type creds map[string]string

func (c creds) Secret(_ context.Context, name string) ([]byte, error) {
	v, ok := c[name]
	if !ok {
		return nil, errors.New("no secret " + name)
	}
	return []byte(v), nil
}

// fakeVault answers KV v2 reads of secret/data/app as Vault does, for the
// token "good", and AppRole logins for role r and secret s.
func fakeVault(t *testing.T, block chan struct{}) *httptest.Server {
	t.Helper()
	versions := []map[string]any{
		{"db_url": "postgres://v1", "port": 5432},
		{"db_url": "postgres://v2", "port": 5432, "nested": map[string]any{"a": "b"}},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if block != nil {
			select {
			case <-block:
			case <-r.Context().Done():
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/v1/auth/approle/login" {
			var in map[string]string
			json.NewDecoder(r.Body).Decode(&in)
			if in["role_id"] != "r" || in["secret_id"] != "s" {
				w.WriteHeader(http.StatusBadRequest)
				w.Write([]byte(`{"errors":["invalid role or secret ID"]}`))
				return
			}
			w.Write([]byte(`{"auth":{"client_token":"good"}}`))
			return
		}
		if r.Header.Get("X-Vault-Token") != "good" {
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte(`{"errors":["permission denied"]}`))
			return
		}
		if r.Header.Get("X-Vault-Namespace") != "" {
			t.Errorf("namespace %q sent", r.Header.Get("X-Vault-Namespace"))
		}
		switch r.URL.Path {
		case "/v1/secret/data/app":
		case "/v1/secret/data/broken":
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`{"errors":["Vault is sealed"]}`))
			return
		default:
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"errors":[]}`))
			return
		}
		v := len(versions)
		if q := r.URL.Query().Get("version"); q != "" {
			v = int(q[0] - '0')
		}
		if v < 1 || v > len(versions) {
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"errors":[]}`))
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{
			"data": versions[v-1], "metadata": map[string]any{"version": v, "created_time": "2026-12-01T00:00:00Z", "deletion_time": "", "destroyed": false},
		}})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func fetch(t *testing.T, s provider.Settings, c creds, raw string) (provider.Result, error) {
	t.Helper()
	p, err := Open(s, c)
	if err != nil {
		t.Fatal(err)
	}
	src, err := provider.ParseSource(raw)
	if err != nil {
		t.Fatal(err)
	}
	return p.Fetch(context.Background(), src)
}

func TestFetch(t *testing.T) {
	t.Setenv("VAULT_TOKEN", "from-the-environment")
	t.Setenv("VAULT_NAMESPACE", "from-the-environment")
	srv := fakeVault(t, nil)
	s := provider.Settings{"address": srv.URL}
	good := creds{"VAULT_TOKEN": "good"}
	for raw, want := range map[string]string{
		"vault://secret/app#db_url":           "postgres://v2",
		"vault://secret/app#db_url?version=1": "postgres://v1",
		"vault://secret/app#port":             "5432",
		"vault://secret/app#nested":           `{"a":"b"}`,
	} {
		res, err := fetch(t, s, good, raw)
		if err != nil || string(res.Value) != want {
			t.Errorf("%s: %q, %v; want %q", raw, res.Value, err, want)
		}
	}
	res, err := fetch(t, s, good, "vault://secret/app#db_url?version=1")
	if err != nil || res.Version != "1" || res.Detail != "vault secret/app v1" {
		t.Errorf("version %q detail %q %v", res.Version, res.Detail, err)
	}
	// AppRole.
	ar := provider.Settings{"address": srv.URL, "auth": "approle"}
	if res, err := fetch(t, ar, creds{"VAULT_ROLE_ID": "r", "VAULT_SECRET_ID": "s"}, "vault://secret/app#db_url"); err != nil || string(res.Value) != "postgres://v2" {
		t.Errorf("approle: %q %v", res.Value, err)
	}
	if _, err := fetch(t, ar, creds{"VAULT_ROLE_ID": "r", "VAULT_SECRET_ID": "x"}, "vault://secret/app#db_url"); !errors.Is(err, provider.ErrAuth) || !strings.Contains(err.Error(), "VAULT_SECRET_ID") {
		t.Errorf("approle, wrong secret id: %v", err)
	}
}

func TestErrors(t *testing.T) {
	srv := fakeVault(t, nil)
	s := provider.Settings{"address": srv.URL}
	good := creds{"VAULT_TOKEN": "good"}
	for _, tc := range []struct {
		raw   string
		creds creds
		want  error
	}{
		{"vault://secret/nope#x", good, provider.ErrNotFound},
		{"vault://secret/app#nope", good, provider.ErrNotFound},
		{"vault://secret/app#db_url?version=7", good, provider.ErrNotFound},
		{"vault://secret/app#db_url", creds{"VAULT_TOKEN": "bad"}, provider.ErrAuth},
		{"vault://secret/broken#x", good, provider.ErrUnavailable},
	} {
		_, err := fetch(t, s, tc.creds, tc.raw)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.raw, err, tc.want)
		}
	}
	if _, err := fetch(t, s, good, "vault://secret/app"); err == nil || !strings.Contains(err.Error(), `"db_url", "nested", "port"`) {
		t.Errorf("no key, many fields: %v", err)
	}
	// Down: nothing listens.
	srv.Close()
	if _, err := fetch(t, s, good, "vault://secret/app#db_url"); !errors.Is(err, provider.ErrUnavailable) {
		t.Errorf("down: %v", err)
	}
}

// TestSlow: a server that does not answer is left when the context ends.
func TestSlow(t *testing.T) {
	block := make(chan struct{})
	srv := fakeVault(t, block)
	defer close(block)
	p, err := Open(provider.Settings{"address": srv.URL}, creds{"VAULT_TOKEN": "good"})
	if err != nil {
		t.Fatal(err)
	}
	src, _ := provider.ParseSource("vault://secret/app#db_url")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := p.Fetch(ctx, src); !errors.Is(err, provider.ErrUnavailable) {
		t.Errorf("slow: %v", err)
	}
}

func TestOpen(t *testing.T) {
	for _, s := range []provider.Settings{
		{},
		{"address": "vault.example.com"},
		{"address": "https://v", "auth": "ldap"},
		{"address": "https://v", "tokn_secret": "X"},
	} {
		if _, err := Open(s, creds{}); err == nil {
			t.Errorf("%v accepted", s)
		}
	}
}

// TestCACert: a server whose certificate the system does not trust is
// refused, and reached with its CA named by ca_cert.
func TestCACert(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"data":{"data":{"k":"v"},"metadata":{"version":1}}}`))
	}))
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	pem.Encode(mustCreate(t, ca), &pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	good := creds{"VAULT_TOKEN": "t"}
	if _, err := fetch(t, provider.Settings{"address": srv.URL}, good, "vault://secret/app#k"); err == nil || errors.Is(err, provider.ErrUnavailable) || !strings.Contains(err.Error(), "ca_cert") {
		t.Errorf("an untrusted certificate: %v, want a refusal naming ca_cert (not a server down)", err)
	}
	if res, err := fetch(t, provider.Settings{"address": srv.URL, "ca_cert": ca}, good, "vault://secret/app#k"); err != nil || string(res.Value) != "v" {
		t.Errorf("with ca_cert: %q %v", res.Value, err)
	}
}

func mustCreate(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}
