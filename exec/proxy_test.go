package exec

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wsxdev/wsx/audit"
	"github.com/wsxdev/wsx/internal/proxy"
	"github.com/wsxdev/wsx/internal/release"
	"github.com/wsxdev/wsx/store"
)

// recLister is a lister that also takes records, as the proxy needs.
type recLister struct {
	lister
	records []audit.Record
}

func (l *recLister) Record(rs ...audit.Record) error {
	l.records = append(l.records, rs...)
	return nil
}

var proxyMetas = []store.Meta{
	{Name: "API_TOKEN", Type: store.TypeToken, Hosts: []string{"api.example.com"}, Username: "bot"},
	{Name: "NO_HOST_TOKEN", Type: store.TypeToken},
	{Name: "CERT_FILE", Type: store.TypeFile, Hosts: []string{"api.example.com"}},
}

func TestRunProxyGivesPlaceholders(t *testing.T) {
	src := &recLister{lister: lister{metas: proxyMetas}}
	var out, errb bytes.Buffer
	script := `printf '%s\n%s\n%s\n' "$API_TOKEN" "$HTTPS_PROXY" "${NO_HOST_TOKEN-unset}"; grep -c 'BEGIN CERTIFICATE' "$SSL_CERT_FILE"; test "$GIT_SSL_CAINFO" = "$SSL_CERT_FILE" && echo same`
	code, err := Run(context.Background(), Spec{
		Argv: []string{"sh", "-c", script}, Source: src, Inject: InjectProxy,
		Parent: []string{"PATH=" + os.Getenv("PATH")}, Stdout: &out, Stderr: &errb, PTY: PTYNever,
	})
	if err != nil || code != 0 {
		t.Fatalf("Run: %d %v\n%s", code, err, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 5 {
		t.Fatalf("output %q", out.String())
	}
	if !proxy.IsPlaceholder(lines[0]) {
		t.Errorf("API_TOKEN holds %q, not a placeholder", lines[0])
	}
	if !strings.HasPrefix(lines[1], "http://127.0.0.1:") || lines[2] != "unset" || lines[3] == "0" || lines[4] != "same" {
		t.Errorf("output %q", lines)
	}
	if len(src.used) != 0 {
		t.Errorf("values released before any request: %v", src.used)
	}
	for _, w := range []string{"NO_HOST_TOKEN is left out", "CERT_FILE is left out"} {
		if !strings.Contains(errb.String(), w) {
			t.Errorf("stderr lacks %q: %s", w, errb.String())
		}
	}
}

func TestRunProxyNamedMustQualify(t *testing.T) {
	src := &recLister{lister: lister{metas: proxyMetas}}
	var errb bytes.Buffer
	_, err := Run(context.Background(), Spec{
		Argv: []string{"true"}, Source: src, ProxyNames: []string{"NO_HOST_TOKEN"},
		Parent: []string{"PATH=" + os.Getenv("PATH")}, Stdout: &errb, Stderr: &errb,
	})
	if !errors.Is(err, ErrNotProxied) || !strings.Contains(err.Error(), "NO_HOST_TOKEN") || !strings.Contains(err.Error(), "--host") {
		t.Errorf("err = %v", err)
	}
	if len(src.used) != 0 {
		t.Errorf("used %v", src.used)
	}
}

// A secret named for the proxy goes through it, the others as values.
func TestSplitProxied(t *testing.T) {
	var notes []string
	direct, proxied, err := splitProxied(release.Selection{ProxyNames: []string{"API_TOKEN"}}, []string{"API_TOKEN", "NO_HOST_TOKEN"}, proxyMetas, &notes)
	if err != nil || len(direct) != 1 || direct[0] != "NO_HOST_TOKEN" || len(proxied) != 1 || proxied[0] != "API_TOKEN" {
		t.Errorf("direct %v proxied %v err %v", direct, proxied, err)
	}
}

func TestGitCredentials(t *testing.T) {
	metas := map[string]store.Meta{"API_TOKEN": proxyMetas[0]}
	secs := []proxy.Secret{{Name: "API_TOKEN", Hosts: []string{"api.example.com", "http://127.0.0.1:8080"}}}
	env := map[string]string{}
	for _, v := range gitCredentials([]string{"GIT_CONFIG_COUNT=2"}, secs, metas, map[string]string{"API_TOKEN": "GH_TOKEN"}) {
		env[v.Name] = string(v.Value)
	}
	want := map[string]string{
		"GIT_CONFIG_COUNT": "6",
		"GIT_CONFIG_KEY_2": "credential.https://api.example.com.helper", "GIT_CONFIG_VALUE_2": "",
		"GIT_CONFIG_KEY_3": "credential.https://api.example.com.helper",
		"GIT_CONFIG_KEY_4": "credential.http://127.0.0.1:8080.helper", "GIT_CONFIG_VALUE_4": "",
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s = %q, want %q", k, env[k], v)
		}
	}
	if h := env["GIT_CONFIG_VALUE_3"]; !strings.Contains(h, "username=%s") || !strings.Contains(h, `'bot'`) || !strings.Contains(h, `"$GH_TOKEN"`) {
		t.Errorf("helper %q", h)
	}
}

func TestCABundle(t *testing.T) {
	dir := t.TempDir()
	own := filepath.Join(dir, "own.pem")
	if err := os.WriteFile(own, []byte("-----BEGIN CERTIFICATE-----\nOWN\n-----END CERTIFICATE-----"), 0o600); err != nil {
		t.Fatal(err)
	}
	b := caBundle([]string{"SSL_CERT_FILE=" + own, "CURL_CA_BUNDLE=" + filepath.Join(dir, "missing")}, []byte("RUN-CA\n"))
	if !bytes.Contains(b, []byte("OWN\n-----END CERTIFICATE-----\n")) || !bytes.HasSuffix(b, []byte("RUN-CA\n")) {
		t.Errorf("bundle %q", b)
	}
}

// A guest with the edit role gets placeholders unless it asks for the
// values (--inject env); the owner, an admin and no guest get the values.
func TestRunDefaultInjectByRole(t *testing.T) {
	for _, c := range []struct {
		role, inject string
		proxied      bool
	}{
		{"edit", "", true},
		{"edit", InjectEnv, false},
		{"", "", false},
		{"owner", "", false},
		{"admin", "", false},
		{"view", "", false},
		{"admin", InjectProxy, true},
	} {
		src := &recLister{lister: lister{metas: proxyMetas[:1]}}
		var out, errb bytes.Buffer
		code, err := Run(context.Background(), Spec{
			Argv: []string{"sh", "-c", `printf '%s\n' "$API_TOKEN"`}, Source: src, Role: c.role, Inject: c.inject,
			Parent: []string{"PATH=" + os.Getenv("PATH")}, Stdout: &out, Stderr: &errb, PTY: PTYNever,
		})
		if err != nil || code != 0 {
			t.Fatalf("role %q inject %q: Run: %d %v\n%s", c.role, c.inject, code, err, errb.String())
		}
		// The value, released at the start, is masked in the output.
		got := strings.TrimSpace(out.String())
		if proxy.IsPlaceholder(got) != c.proxied || !c.proxied && got != "***" {
			t.Errorf("role %q inject %q: API_TOKEN=%q, proxied want %v", c.role, c.inject, got, c.proxied)
		}
		if released := len(src.used) != 0; released == c.proxied {
			t.Errorf("role %q inject %q: released %v at the start, want none only with the proxy", c.role, c.inject, src.used)
		}
	}
}
