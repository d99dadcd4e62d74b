package azurekv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wsxdev/wsx/e2e/azurekv"
	"github.com/wsxdev/wsx/provider"
)

// These tests run the provider, with azidentity's client secret
// credential and azsecrets for real, against e2e/azurekv: Key Vault's
// REST shape and Entra ID's token endpoint on a loopback HTTPS server
// (no Key Vault emulator can be had). The challenge, the client
// credentials grant and the bearer token all go over the wire.

const (
	tenant       = "7d3b1c52-0f5e-4a8b-9c1d-2e3f4a5b6c7d"
	clientID     = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
	clientSecret = "wsx~TestClientSecret.0000000000000000000"
)

type creds map[string]string

func (c creds) Secret(_ context.Context, name string) ([]byte, error) {
	v, ok := c[name]
	if !ok {
		return nil, fmt.Errorf("secret %s not found", name)
	}
	return []byte(v), nil
}

func goodCreds() creds {
	return creds{DefaultTenantIDSecret: tenant, DefaultClientIDSecret: clientID, DefaultClientSecretSecret: clientSecret}
}

func startServer(t *testing.T) (*azurekv.Server, *httptest.Server) {
	t.Helper()
	srv := azurekv.New(tenant, clientID, clientSecret)
	ts := httptest.NewUnstartedServer(srv)
	ts.StartTLS()
	srv.URL = ts.URL
	t.Cleanup(ts.Close)
	return srv, ts
}

func openKV(t *testing.T, ts *httptest.Server, c provider.Creds, extra provider.Settings) *KV {
	t.Helper()
	s := provider.Settings{"vault_url": ts.URL, "authority_host": ts.URL + "/"}
	for k, v := range extra {
		s[k] = v
	}
	kv, err := open(s, c)
	if err != nil {
		t.Fatal(err)
	}
	// Trust the test server's certificate; everything else is as built.
	kv.transport = &http.Client{Transport: ts.Client().Transport, Timeout: kv.timeout}
	return kv
}

// src parses a source as wsx does; the sources here are all valid.
func src(raw string) provider.Source {
	s, err := provider.ParseSource(raw)
	if err != nil {
		panic(err)
	}
	return s
}

func TestFetch(t *testing.T) {
	srv, ts := startServer(t)
	v1 := srv.Put("db-password", "first-password")
	v2 := srv.Put("db-password", "second-password")
	kv := openKV(t, ts, goodCreds(), nil)
	ctx := context.Background()
	for _, tc := range []struct{ src, want, version string }{
		{"azure-kv://myvault/db-password", "second-password", v2},
		{"azure-kv://myvault/db-password?version=" + v1, "first-password", v1},
		{"azure-kv://othervault/db-password?version=" + v2, "second-password", v2},
	} {
		res, err := kv.Fetch(ctx, src(tc.src))
		if err != nil {
			t.Fatalf("%s: %v", tc.src, err)
		}
		if string(res.Value) != tc.want || res.Version != tc.version {
			t.Errorf("%s = %q version %s, want %q version %s", tc.src, res.Value, res.Version, tc.want, tc.version)
		}
		if want := "azure-kv " + src(tc.src).Location + " " + tc.version; res.Detail != want {
			t.Errorf("detail %q, want %q", res.Detail, want)
		}
	}
}

func TestFetchNotFound(t *testing.T) {
	srv, ts := startServer(t)
	srv.Put("db-password", "pw-value-1")
	kv := openKV(t, ts, goodCreds(), nil)
	for _, s := range []string{
		"azure-kv://myvault/missing",
		"azure-kv://myvault/db-password?version=00000000000000000000000000000000",
	} {
		_, err := kv.Fetch(context.Background(), src(s))
		if !errors.Is(err, provider.ErrNotFound) {
			t.Errorf("%s: %v, want ErrNotFound", s, err)
		}
	}
}

func TestFetchBadCredentials(t *testing.T) {
	srv, ts := startServer(t)
	srv.Put("db-password", "pw-value-2")
	for name, c := range map[string]creds{
		"wrong client secret": {DefaultTenantIDSecret: tenant, DefaultClientIDSecret: clientID, DefaultClientSecretSecret: clientSecret + "x"},
		"another tenant":      {DefaultTenantIDSecret: "11111111-0f5e-4a8b-9c1d-2e3f4a5b6c7d", DefaultClientIDSecret: clientID, DefaultClientSecretSecret: clientSecret},
		"unknown client id":   {DefaultTenantIDSecret: tenant, DefaultClientIDSecret: "ffffffff-4e5f-4a6b-8c7d-9e0f1a2b3c4d", DefaultClientSecretSecret: clientSecret},
	} {
		kv := openKV(t, ts, c, nil)
		_, err := kv.Fetch(context.Background(), src("azure-kv://myvault/db-password"))
		if !errors.Is(err, provider.ErrAuth) {
			t.Errorf("%s: %v, want ErrAuth", name, err)
			continue
		}
		if !strings.Contains(err.Error(), "AZURE_TENANT_ID") {
			t.Errorf("%s: %v does not name the secrets", name, err)
		}
		for _, v := range []string{"pw-value-2", clientSecret} {
			if strings.Contains(err.Error(), v) {
				t.Errorf("%s: error %q holds a value", name, err)
			}
		}
	}
	// A principal the vault does not let read secrets.
	srv.SetForbidden(true)
	kv := openKV(t, ts, goodCreds(), nil)
	if _, err := kv.Fetch(context.Background(), src("azure-kv://myvault/db-password")); !errors.Is(err, provider.ErrAuth) || !strings.Contains(err.Error(), "get on secrets") {
		t.Fatalf("forbidden: %v, want ErrAuth naming the permission", err)
	}
}

func TestFetchServerDown(t *testing.T) {
	_, ts := startServer(t)
	kv := openKV(t, ts, goodCreds(), nil)
	ts.Close()
	_, err := kv.Fetch(context.Background(), src("azure-kv://myvault/db-password"))
	if !errors.Is(err, provider.ErrUnavailable) {
		t.Fatalf("server down: %v, want ErrUnavailable", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	kv, err = open(provider.Settings{"vault_url": "https://" + addr, "authority_host": "https://" + addr + "/"}, goodCreds())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Fetch(context.Background(), src("azure-kv://myvault/db-password")); !errors.Is(err, provider.ErrUnavailable) {
		t.Fatalf("nothing listening: %v, want ErrUnavailable", err)
	}
}

func TestFetchSlowServer(t *testing.T) {
	srv, ts := startServer(t)
	srv.Put("db-password", "pw")
	srv.SetDelay(time.Minute)
	kv := openKV(t, ts, goodCreds(), provider.Settings{"timeout": "300ms"})
	start := time.Now()
	_, err := kv.Fetch(context.Background(), src("azure-kv://myvault/db-password"))
	if !errors.Is(err, provider.ErrUnavailable) {
		t.Fatalf("slow server: %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %v with a 300ms timeout", d)
	}
	if n := srv.Calls(); n != 1 {
		t.Fatalf("%d requests for one try; retrying is the caller's", n)
	}
}

func TestFetchBytesPassedThrough(t *testing.T) {
	srv, ts := startServer(t)
	srv.Put("odd", "line1\nline2\x00end")
	kv := openKV(t, ts, goodCreds(), nil)
	res, err := kv.Fetch(context.Background(), src("azure-kv://myvault/odd"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(res.Value, []byte("line1\nline2\x00end")) {
		t.Fatalf("value %q", res.Value)
	}
}

func TestFetchBadSource(t *testing.T) {
	_, ts := startServer(t)
	kv := openKV(t, ts, goodCreds(), nil)
	for s, want := range map[string]string{
		"azure-kv://myvault":                           "want azure-kv://VAULT/NAME",
		"azure-kv://my.vault/x":                        "want azure-kv://VAULT/NAME",
		"azure-kv://myvault/a/b":                       "want azure-kv://VAULT/NAME",
		"azure-kv://myvault/db#user":                   "drop #user",
		"azure-kv://" + strings.Repeat("v", 25) + "/x": "want azure-kv://VAULT/NAME",
	} {
		_, err := kv.Fetch(context.Background(), src(s))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", s, err, want)
		}
	}
	p := src("azure-kv://myvault/db")
	p.Stage = "AWSCURRENT"
	if _, err := kv.Fetch(context.Background(), p); err == nil || !strings.Contains(err.Error(), "stage") {
		t.Errorf("stage: %v", err)
	}
}

func TestOpenSettings(t *testing.T) {
	for _, tc := range []struct {
		s    provider.Settings
		want string
	}{
		{provider.Settings{"region": "x"}, `unknown setting "region"`},
		{provider.Settings{"vault_url": "http://{vault}.vault.azure.net"}, "not an https URL"},
		{provider.Settings{"authority_host": "https://login.example.com/"}, "the client secret goes there"},
		{provider.Settings{"authority_host": "http://127.0.0.1/"}, "the client secret goes there"},
		{provider.Settings{"client_secret_secret": ""}, "client_secret_secret"},
		{provider.Settings{"timeout": "0s"}, "timeout"},
	} {
		_, err := Open(tc.s, creds{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Open(%v) = %v, want %q", tc.s, err, tc.want)
		}
	}
	for _, host := range []string{"https://login.microsoftonline.com/", "https://login.chinacloudapi.cn/", "https://login.microsoftonline.us/", "https://localhost:8443/"} {
		if _, err := Open(provider.Settings{"authority_host": host}, creds{}); err != nil {
			t.Errorf("authority_host %s: %v", host, err)
		}
	}
}

// The service principal comes only from the named wsx secrets: AZURE_*
// variables are not read, and AZURE_AUTHORITY_HOST cannot move the
// client secret elsewhere.
func TestIgnoresEnvironment(t *testing.T) {
	srv, ts := startServer(t)
	srv.Put("db-password", "pw")
	t.Setenv("AZURE_TENANT_ID", tenant)
	t.Setenv("AZURE_CLIENT_ID", clientID)
	t.Setenv("AZURE_CLIENT_SECRET", clientSecret)
	t.Setenv("AZURE_AUTHORITY_HOST", "https://127.0.0.1:1/")
	kv := openKV(t, ts, creds{}, nil)
	if _, err := kv.Fetch(context.Background(), src("azure-kv://myvault/db-password")); err == nil || !strings.Contains(err.Error(), "AZURE_TENANT_ID not found") {
		t.Fatalf("with the principal only in the environment: %v", err)
	}
	kv = openKV(t, ts, goodCreds(), nil)
	if res, err := kv.Fetch(context.Background(), src("azure-kv://myvault/db-password")); err != nil || string(res.Value) != "pw" {
		t.Fatalf("with AZURE_AUTHORITY_HOST set: %q, %v", res.Value, err)
	}
}
