package awssm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wsxdev/wsx/e2e/awssm"
	"github.com/wsxdev/wsx/provider"
)

// These tests run the provider, with the AWS SDK's real client, against
// e2e/awssm: a Secrets Manager server on 127.0.0.1 speaking the JSON 1.1
// protocol and checking every request's SigV4 signature with the keys
// below. It is not AWS: IAM, KMS and the other operations are absent.

const (
	keyID     = "AKIAWSXTEST000000001"
	secretKey = "wsxTestSecretKey/0000000000000000000000000"
	region    = "eu-west-1"
)

// creds is the store's side: wsx secrets by name.
type creds map[string]string

func (c creds) Secret(_ context.Context, name string) ([]byte, error) {
	v, ok := c[name]
	if !ok {
		return nil, fmt.Errorf("secret %s not found", name)
	}
	return []byte(v), nil
}

func goodCreds() creds {
	return creds{DefaultAccessKeyIDSecret: keyID, DefaultSecretAccessKeySecret: secretKey}
}

func startServer(t *testing.T) (*awssm.Server, string) {
	t.Helper()
	srv := awssm.New(region)
	srv.AddKey(awssm.Key{ID: keyID, Secret: secretKey})
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return srv, ts.URL
}

func openSM(t *testing.T, endpoint string, c provider.Creds, extra provider.Settings) provider.Provider {
	t.Helper()
	s := provider.Settings{"region": region, "endpoint": endpoint}
	for k, v := range extra {
		s[k] = v
	}
	p, err := Open(s, c)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// parse parses a source as wsx does; the sources here are all valid.
func parse(raw string) provider.Source {
	src, err := provider.ParseSource(raw)
	if err != nil {
		panic(err)
	}
	return src
}

func TestFetch(t *testing.T) {
	srv, url := startServer(t)
	srv.PutString("prod/db", `{"username":"app","password":"s3cr3t-pw","port":5432}`)
	srv.PutString("prod/token", "whole-string-token")
	srv.PutBinary("prod/blob", []byte{0, 1, 2, 0xff})
	p := openSM(t, url, goodCreds(), nil)
	ctx := context.Background()

	for _, tc := range []struct{ src, want string }{
		{"aws-sm://prod/db#password", "s3cr3t-pw"},
		{"aws-sm://prod/db#port", "5432"},
		{"aws-sm://prod/db", `{"username":"app","password":"s3cr3t-pw","port":5432}`},
		{"aws-sm://prod/token", "whole-string-token"},
		{"aws-sm://prod/blob", "\x00\x01\x02\xff"},
	} {
		res, err := p.Fetch(ctx, parse(tc.src))
		if err != nil {
			t.Fatalf("%s: %v", tc.src, err)
		}
		if string(res.Value) != tc.want {
			t.Errorf("%s = %q, want %q", tc.src, res.Value, tc.want)
		}
		if res.Version == "" || !strings.HasPrefix(res.Detail, "aws-sm "+parse(tc.src).Location+" ") {
			t.Errorf("%s: version %q, detail %q", tc.src, res.Version, res.Detail)
		}
	}
}

func TestFetchVersions(t *testing.T) {
	srv, url := startServer(t)
	v1 := srv.PutString("app/key", "first-value")
	v2 := srv.PutString("app/key", "second-value")
	srv.PutString("app/key", "pending-value", "AWSPENDING")
	p := openSM(t, url, goodCreds(), nil)
	ctx := context.Background()
	for _, tc := range []struct{ src, want, version string }{
		{"aws-sm://app/key", "second-value", v2},
		{"aws-sm://app/key?stage=AWSCURRENT", "second-value", v2},
		{"aws-sm://app/key?stage=AWSPREVIOUS", "first-value", v1},
		{"aws-sm://app/key?stage=AWSPENDING", "pending-value", ""},
		{"aws-sm://app/key?version=" + v1, "first-value", v1},
		{"aws-sm://app/key?version=" + v2 + "&stage=AWSCURRENT", "second-value", v2},
	} {
		res, err := p.Fetch(ctx, parse(tc.src))
		if err != nil {
			t.Fatalf("%s: %v", tc.src, err)
		}
		if string(res.Value) != tc.want || (tc.version != "" && res.Version != tc.version) {
			t.Errorf("%s = %q version %s, want %q version %s", tc.src, res.Value, res.Version, tc.want, tc.version)
		}
	}
	// A version id with a stage it does not have is not found.
	_, err := p.Fetch(ctx, parse("aws-sm://app/key?version="+v1+"&stage=AWSCURRENT"))
	if !errors.Is(err, provider.ErrNotFound) {
		t.Fatalf("v1 at AWSCURRENT: %v, want ErrNotFound", err)
	}
}

func TestFetchNotFound(t *testing.T) {
	srv, url := startServer(t)
	srv.PutString("prod/db", `{"password":"pw-value-1"}`)
	p := openSM(t, url, goodCreds(), nil)
	for _, src := range []string{
		"aws-sm://prod/missing",
		"aws-sm://prod/db#user",
		"aws-sm://prod/db?version=00000000-0000-4000-8000-000000000000",
		"aws-sm://prod/db?stage=AWSPREVIOUS",
	} {
		_, err := p.Fetch(context.Background(), parse(src))
		if !errors.Is(err, provider.ErrNotFound) {
			t.Errorf("%s: %v, want ErrNotFound", src, err)
			continue
		}
		checkMessage(t, err, "pw-value-1")
	}
	// A key of a value that is not JSON: a clear error, without the value.
	srv.PutString("plain", "plain-value-2")
	_, err := p.Fetch(context.Background(), parse("aws-sm://plain#password"))
	if err == nil || !strings.Contains(err.Error(), "drop #password") {
		t.Fatalf("key of a plain string: %v", err)
	}
	checkMessage(t, err, "plain-value-2")
}

func TestFetchBadCredentials(t *testing.T) {
	srv, url := startServer(t)
	srv.PutString("prod/token", "token-value-3")
	for name, c := range map[string]creds{
		"unknown key id":   {DefaultAccessKeyIDSecret: "AKIAWSXTEST999999999", DefaultSecretAccessKeySecret: secretKey},
		"wrong secret key": {DefaultAccessKeyIDSecret: keyID, DefaultSecretAccessKeySecret: secretKey[:len(secretKey)-1] + "X"},
	} {
		p := openSM(t, url, c, nil)
		_, err := p.Fetch(context.Background(), parse("aws-sm://prod/token"))
		if !errors.Is(err, provider.ErrAuth) {
			t.Errorf("%s: %v, want ErrAuth", name, err)
			continue
		}
		if !strings.Contains(err.Error(), "AWS_SECRET_ACCESS_KEY") {
			t.Errorf("%s: %v does not name the secrets holding the keys", name, err)
		}
		checkMessage(t, err, "token-value-3", secretKey)
	}
	// A missing key secret is the store's error, returned as it is.
	p := openSM(t, url, creds{DefaultAccessKeyIDSecret: keyID}, nil)
	if _, err := p.Fetch(context.Background(), parse("aws-sm://prod/token")); err == nil || !strings.Contains(err.Error(), "AWS_SECRET_ACCESS_KEY not found") {
		t.Fatalf("missing key secret: %v", err)
	}
}

func TestFetchSessionToken(t *testing.T) {
	srv := awssm.New(region)
	srv.AddKey(awssm.Key{ID: keyID, Secret: secretKey, Token: "session-token-4"})
	ts := httptest.NewServer(srv)
	defer ts.Close()
	srv.PutString("prod/token", "token-value")
	c := goodCreds()
	p := openSM(t, ts.URL, c, nil)
	if _, err := p.Fetch(context.Background(), parse("aws-sm://prod/token")); !errors.Is(err, provider.ErrAuth) {
		t.Fatalf("without the session token: %v, want ErrAuth", err)
	}
	c["AWS_SESSION_TOKEN"] = "session-token-4"
	p = openSM(t, ts.URL, c, provider.Settings{"session_token_secret": "AWS_SESSION_TOKEN"})
	res, err := p.Fetch(context.Background(), parse("aws-sm://prod/token"))
	if err != nil || string(res.Value) != "token-value" {
		t.Fatalf("with the session token: %q, %v", res.Value, err)
	}
}

func TestFetchServerDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String()
	l.Close() // nothing listens there now
	p := openSM(t, url, goodCreds(), nil)
	_, err = p.Fetch(context.Background(), parse("aws-sm://prod/token"))
	if !errors.Is(err, provider.ErrUnavailable) {
		t.Fatalf("server down: %v, want ErrUnavailable", err)
	}
	if !strings.Contains(err.Error(), "aws-sm prod/token") {
		t.Fatalf("%v does not name the secret", err)
	}
}

func TestFetchSlowServer(t *testing.T) {
	srv, url := startServer(t)
	srv.PutString("prod/token", "token-value")
	srv.SetDelay(time.Minute)

	// The provider's own timeout bounds a try.
	p := openSM(t, url, goodCreds(), provider.Settings{"timeout": "300ms"})
	start := time.Now()
	_, err := p.Fetch(context.Background(), parse("aws-sm://prod/token"))
	if !errors.Is(err, provider.ErrUnavailable) {
		t.Fatalf("slow server: %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %v with a 300ms timeout", d)
	}
	// So does the caller's deadline, when shorter, and one try is made.
	p = openSM(t, url, goodCreds(), nil)
	calls := srv.Calls()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start = time.Now()
	_, err = p.Fetch(ctx, parse("aws-sm://prod/token"))
	if !errors.Is(err, provider.ErrUnavailable) {
		t.Fatalf("slow server, caller's deadline: %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %v with a 300ms deadline", d)
	}
	if n := srv.Calls() - calls; n != 1 {
		t.Fatalf("%d requests for one Fetch; retrying is the caller's", n)
	}
}

func TestFetchBytesPassedThrough(t *testing.T) {
	srv, url := startServer(t)
	srv.PutString("odd", "line1\nline2\x00end")
	srv.PutString("odd-json", `{"v":"a\nb\u0000c"}`)
	p := openSM(t, url, goodCreds(), nil)
	for src, want := range map[string]string{
		"aws-sm://odd":        "line1\nline2\x00end",
		"aws-sm://odd-json#v": "a\nb\x00c",
	} {
		res, err := p.Fetch(context.Background(), parse(src))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(res.Value, []byte(want)) {
			t.Errorf("%s = %q, want %q", src, res.Value, want)
		}
	}
}

func TestOpenSettings(t *testing.T) {
	for _, tc := range []struct {
		s    provider.Settings
		want string
	}{
		{provider.Settings{}, "region is missing"},
		{provider.Settings{"region": "eu-west-1", "profile": "x"}, `unknown setting "profile"`},
		{provider.Settings{"region": "eu-west-1", "endpoint": "ftp://x"}, "want an https URL"},
		{provider.Settings{"region": "eu-west-1", "endpoint": "http://sm.example.com"}, "http only on loopback"},
		{provider.Settings{"region": 3}, "region must be a string"},
		{provider.Settings{"region": "eu-west-1", "timeout": "forever"}, "timeout"},
		{provider.Settings{"region": "eu-west-1", "access_key_id_secret": ""}, "access_key_id_secret"},
	} {
		_, err := Open(tc.s, creds{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Open(%v) = %v, want %q", tc.s, err, tc.want)
		}
	}
}

// Open reads nothing from the process's environment: AWS's variables are
// ignored, and the keys come only from the named wsx secrets.
func TestIgnoresEnvironment(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", keyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", secretKey)
	t.Setenv("AWS_REGION", region)
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
	srv, url := startServer(t)
	srv.PutString("prod/token", "token-value")
	p := openSM(t, url, creds{}, nil)
	if _, err := p.Fetch(context.Background(), parse("aws-sm://prod/token")); err == nil || !strings.Contains(err.Error(), "AWS_ACCESS_KEY_ID not found") {
		t.Fatalf("with keys only in the environment: %v", err)
	}
}

// checkMessage fails when err's text holds any of the values.
func checkMessage(t *testing.T, err error, values ...string) {
	t.Helper()
	for _, v := range values {
		if strings.Contains(err.Error(), v) {
			t.Errorf("error %q holds a value", err)
		}
	}
}
