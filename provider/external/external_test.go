package external

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wsxdev/wsx/provider"
)

// childArg makes the test binary the child: TestMain serves the fake
// providers on stdin and stdout.
const childArg = "external-test-child"

func TestMain(m *testing.M) {
	if len(os.Args) == 2 && os.Args[1] == childArg {
		if err := Serve(context.Background(), os.Stdin, os.Stdout, map[string]provider.Opener{"fake": openFake}); err != nil {
			fmt.Fprintln(os.Stderr, "serve:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// fake is a provider whose answers depend on the source's location.
type fake struct {
	s     provider.Settings
	creds provider.Creds
}

func openFake(s provider.Settings, creds provider.Creds) (provider.Provider, error) {
	if _, ok := s["refuse"]; ok {
		return nil, errors.New("[provider.fake]: unknown setting \"refuse\"")
	}
	return &fake{s, creds}, nil
}

func (f *fake) Fetch(ctx context.Context, src provider.Source) (provider.Result, error) {
	name := "fake " + src.Location
	switch strings.TrimPrefix(src.Location, "app/") {
	case "missing":
		return provider.Result{}, fmt.Errorf("%s: no such secret: %w", name, provider.ErrNotFound)
	case "denied":
		return provider.Result{}, fmt.Errorf("%s: the service refused TOKEN: %w", name, provider.ErrAuth)
	case "down":
		return provider.Result{}, fmt.Errorf("%s: %w (connection refused)", name, provider.ErrUnavailable)
	case "plain":
		return provider.Result{}, fmt.Errorf("%s: the answer is not JSON", name)
	case "slow":
		<-ctx.Done()
		return provider.Result{}, fmt.Errorf("%s: no answer within the timeout: %w", name, provider.ErrUnavailable)
	case "hang":
		time.Sleep(time.Hour)
	case "crash":
		fmt.Fprintln(os.Stderr, "panic: the fake provider broke")
		os.Exit(2)
	case "env":
		return provider.Result{Value: []byte(strings.Join(os.Environ(), "\n"))}, nil
	case "settings":
		return provider.Result{Value: fmt.Appendf(nil, "%T %v %T", f.s["retries"], f.s["retries"], f.s["ratio"])}, nil
	}
	tok, err := f.creds.Secret(ctx, "TOKEN")
	if err != nil {
		return provider.Result{}, fmt.Errorf("%s: read the token: %w", name, err)
	}
	v := "value of " + src.Location + " with " + string(tok) + "\nand a second line"
	return provider.Result{Value: []byte(v), Version: "7", Detail: name + " v7"}, nil
}

// creds answers credential requests from a map, counting them.
type creds struct {
	vals  map[string]string
	err   error
	asked []string
}

func (c *creds) Secret(_ context.Context, name string) ([]byte, error) {
	c.asked = append(c.asked, name)
	if c.err != nil {
		return nil, c.err
	}
	v, ok := c.vals[name]
	if !ok {
		return nil, fmt.Errorf("secret %s: not in the store", name)
	}
	return []byte(v), nil
}

// start returns a provider served by this test binary as its child.
func start(t *testing.T, s provider.Settings, c *creds) *Provider {
	t.Helper()
	if s == nil {
		s = provider.Settings{}
	}
	p := &Provider{scheme: "fake", settings: s, creds: c, path: os.Args[0], args: []string{childArg}}
	t.Cleanup(func() { p.Close() })
	return p
}

func src(t *testing.T, raw string) provider.Source {
	t.Helper()
	s, err := provider.ParseSource(raw)
	if err != nil {
		t.Fatal(err)
	}
	s.Scheme = "fake"
	return s
}

// sources are parsed as vault ones, the scheme then set to the fake's.
func fetch(t *testing.T, p *Provider, ctx context.Context, loc string) (provider.Result, error) {
	t.Helper()
	return p.Fetch(ctx, src(t, "vault://"+loc))
}

func TestFetchAnswersCredentials(t *testing.T) {
	c := &creds{vals: map[string]string{"TOKEN": "tok-123"}}
	p := start(t, nil, c)
	for _, loc := range []string{"app/one", "app/two"} {
		res, err := fetch(t, p, context.Background(), loc)
		if err != nil {
			t.Fatal(err)
		}
		if want := "value of " + loc + " with tok-123\nand a second line"; string(res.Value) != want {
			t.Errorf("value %q, want %q", res.Value, want)
		}
		if res.Version != "7" || res.Detail != "fake "+loc+" v7" {
			t.Errorf("version %q detail %q", res.Version, res.Detail)
		}
	}
	// One child for both fetches; each read of the credential is asked of
	// wsx (whose fetch keeps them for the run).
	if !slices.Equal(c.asked, []string{"TOKEN", "TOKEN"}) {
		t.Errorf("asked %v", c.asked)
	}
}

func TestErrorsKeepTheirKind(t *testing.T) {
	p := start(t, nil, &creds{})
	for loc, want := range map[string]error{
		"app/missing": provider.ErrNotFound,
		"app/denied":  provider.ErrAuth,
		"app/down":    provider.ErrUnavailable,
	} {
		_, err := fetch(t, p, context.Background(), loc)
		if !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", loc, err, want)
		}
		if !strings.HasPrefix(err.Error(), "fake "+loc+": ") {
			t.Errorf("%s: message %q lost the provider's", loc, err)
		}
	}
	_, err := fetch(t, p, context.Background(), "app/plain")
	if err == nil || err.Error() != "fake app/plain: the answer is not JSON" {
		t.Errorf("plain: %v", err)
	}
	for _, e := range []error{provider.ErrNotFound, provider.ErrAuth, provider.ErrUnavailable} {
		if errors.Is(err, e) {
			t.Errorf("plain error is %v", e)
		}
	}
}

// The error wsx met reading a credential comes back as itself, inside
// the provider's message, so its exit code is the store's.
func TestCredentialErrorIsWSXs(t *testing.T) {
	errLocked := errors.New("store is locked")
	p := start(t, nil, &creds{err: fmt.Errorf("read TOKEN: %w", errLocked)})
	_, err := fetch(t, p, context.Background(), "app/one")
	if !errors.Is(err, errLocked) {
		t.Fatalf("%v: not the credential's error", err)
	}
	if want := "fake app/one: read the token: read TOKEN: store is locked"; err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}
}

func TestTimeouts(t *testing.T) {
	p := start(t, nil, &creds{vals: map[string]string{"TOKEN": "t"}})
	// A provider that honours its deadline says so itself.
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	_, err := fetch(t, p, ctx, "app/slow")
	if !errors.Is(err, provider.ErrUnavailable) || !strings.Contains(err.Error(), "fake app/slow: no answer within the timeout") {
		t.Errorf("slow: %v", err)
	}
	// One that does not is killed at wsx's deadline.
	ctx, cancel = context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	began := time.Now()
	_, err = fetch(t, p, ctx, "app/hang")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("hang: %v", err)
	}
	if d := time.Since(began); d > 3*time.Second {
		t.Errorf("hang took %v with a 400ms deadline", d)
	}
	if p.ch != nil {
		t.Error("the hanging child is still there")
	}
	// The next fetch starts another child.
	if _, err := fetch(t, p, context.Background(), "app/one"); err != nil {
		t.Errorf("after a kill: %v", err)
	}
}

func TestCrashNamesStderr(t *testing.T) {
	p := start(t, nil, &creds{vals: map[string]string{"TOKEN": "t"}})
	_, err := fetch(t, p, context.Background(), "app/crash")
	if err == nil || !strings.Contains(err.Error(), "stopped answering") || !strings.Contains(err.Error(), "panic: the fake provider broke") {
		t.Errorf("crash: %v", err)
	}
	if errors.Is(err, provider.ErrUnavailable) {
		t.Error("a crash is not an unreachable service: it would be tried again and hide the bug")
	}
	if _, err := fetch(t, p, context.Background(), "app/one"); err != nil {
		t.Errorf("after a crash: %v", err)
	}
}

func TestChildEnvironment(t *testing.T) {
	t.Setenv("HTTPS_PROXY", "http://proxy.test:3128")
	t.Setenv("NO_PROXY", "127.0.0.1")
	t.Setenv("VAULT_TOKEN", "hvs.not-for-the-child")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "not-for-the-child")
	t.Setenv("WSX_PASSPHRASE_FILE", "/not/for/the/child")
	p := start(t, nil, &creds{})
	res, err := fetch(t, p, context.Background(), "app/env")
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(string(res.Value), "\n")
	slices.Sort(got)
	want := []string{"HTTPS_PROXY=http://proxy.test:3128", "NO_PROXY=127.0.0.1"}
	for _, k := range []string{"SSL_CERT_DIR", "SSL_CERT_FILE", "http_proxy", "https_proxy", "HTTP_PROXY", "no_proxy"} {
		if v, ok := os.LookupEnv(k); ok {
			want = append(want, k+"="+v)
		}
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("child environment %q, want %q", got, want)
	}
}

func TestSettingsKeepTheirTypes(t *testing.T) {
	p := start(t, provider.Settings{"retries": int64(3), "ratio": 0.5, "address": "https://x"}, &creds{})
	res, err := fetch(t, p, context.Background(), "app/settings")
	if err != nil {
		t.Fatal(err)
	}
	if string(res.Value) != "int64 3 float64" {
		t.Errorf("settings arrived as %q", res.Value)
	}
}

func TestOpenRefused(t *testing.T) {
	p := start(t, provider.Settings{"refuse": "yes"}, &creds{})
	for range 2 {
		_, err := fetch(t, p, context.Background(), "app/one")
		if err == nil || err.Error() != `[provider.fake]: unknown setting "refuse"` {
			t.Errorf("open: %v", err)
		}
		if p.ch != nil {
			t.Error("a child is left running after open was refused")
		}
	}
}

func TestCloseEndsChild(t *testing.T) {
	p := start(t, nil, &creds{vals: map[string]string{"TOKEN": "t"}})
	if _, err := fetch(t, p, context.Background(), "app/one"); err != nil {
		t.Fatal(err)
	}
	pid := p.ch.cmd.Process.Pid
	began := time.Now()
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(began); d >= closeWait && !raceEnabled {
		t.Errorf("Close took %v: the child did not end with its stdin", d)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("child %d still exists after Close (%v)", pid, err)
	}
}

func TestMissingExecutable(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	p := &Provider{scheme: "vault", settings: provider.Settings{}, creds: &creds{}}
	_, err := p.Fetch(context.Background(), src(t, "vault://secret/app"))
	if !errors.Is(err, ErrMissing) {
		t.Fatalf("%v, want ErrMissing", err)
	}
	for _, want := range []string{"the vault provider runs in wsx-provider: wsx-provider is not installed (looked at ", "/wsx-provider or on PATH)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not say %q", err, want)
		}
	}
}

func TestServeProtocolErrors(t *testing.T) {
	openers := map[string]provider.Opener{"fake": openFake}
	var out bytes.Buffer
	if err := Serve(context.Background(), strings.NewReader(""), &out, openers); err != nil || out.Len() != 0 {
		t.Errorf("no request: %v, wrote %q", err, out.String())
	}
	if err := Serve(context.Background(), strings.NewReader(`{"fetch":{"source":"vault://a/b"}}`+"\n"), &out, openers); err == nil {
		t.Error("a fetch before open was served")
	}
	out.Reset()
	if err := Serve(context.Background(), strings.NewReader(`{"open":{"provider":"nope"}}`+"\n"), &out, openers); err != nil || !strings.Contains(out.String(), "wsx-provider has no nope provider") {
		t.Errorf("unknown provider: %v, %q", err, out.String())
	}
	long := `{"open":{"provider":"fake","settings":{"x":"` + strings.Repeat("a", maxLine) + `"}}}` + "\n"
	if err := Serve(context.Background(), strings.NewReader(long), io.Discard, openers); err == nil || !strings.Contains(err.Error(), "longer than") {
		t.Errorf("a message over %d bytes: %v", maxLine, err)
	}
}

func FuzzRead(f *testing.F) {
	f.Add([]byte(`{"open":{"provider":"vault","settings":{"address":"https://v","retries":2}}}` + "\n"))
	f.Add([]byte(`{"need":"VAULT_TOKEN"}` + "\n"))
	f.Add([]byte(`{"result":{"value":"dmFsdWU=","version":"3"}}` + "\n"))
	f.Add([]byte(`{"error":{"kind":"auth","message":"refused"}}` + "\n"))
	f.Add([]byte(`{"cred":{"name":"T","value":"!!"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c := newConn(bytes.NewReader(b), io.Discard)
		for range 4 {
			m, err := c.read()
			if err != nil {
				return
			}
			if m.Open != nil {
				settings(m.Open.Settings)
			}
			if m.Error != nil {
				_ = fromWire(m.Error, nil).Error()
			}
		}
	})
}
