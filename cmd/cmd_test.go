package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"
	"github.com/wsxdev/wsx/audit"
	"github.com/wsxdev/wsx/daemon"
	"github.com/wsxdev/wsx/internal/prompt"
	"github.com/wsxdev/wsx/manifest"
	"github.com/wsxdev/wsx/secrets"
	"github.com/wsxdev/wsx/store"
)

func TestInterspersed(t *testing.T) {
	app := newApp(&Env{})
	tests := []struct{ in, want string }{
		{"wsx add NAME --type key --from-file f", "wsx add --type key --from-file f NAME"},
		{"wsx add --type key NAME", "wsx add --type key NAME"},
		{"wsx --passphrase-file p add NAME --host a --host b", "wsx --passphrase-file p add --host a --host b NAME"},
		{"wsx add NAME --allow-dangerous-name --type=key", "wsx add --allow-dangerous-name --type=key NAME"},
		{"wsx audit verify --passphrase-file p", "wsx audit verify --passphrase-file p"},
		{"wsx info NAME -- --json", "wsx info NAME -- --json"},
		{"wsx nosuch a --b", "wsx nosuch a --b"},
	}
	for _, tt := range tests {
		got := strings.Join(interspersed(app, strings.Fields(tt.in)), " ")
		if got != tt.want {
			t.Errorf("interspersed(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestExitCodes(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{nil, ExitOK},
		{errors.New("x"), ExitError},
		{usagef("bad"), ExitUsage},
		{fmt.Errorf("secret X: %w", store.ErrNotFound), ExitNotFound},
		{withHint(fmt.Errorf("open: %w", store.ErrLocked), "h"), ExitLocked},
		{store.ErrWrongPassphrase, ExitLocked},
		{fmt.Errorf("role: %w", errPermission), ExitPermission},
		// SECURITY.md 74: the agent's refusal, as it comes over the API,
		// and a store file that is not safely the user's.
		{fmt.Errorf("list: %w", &daemon.RemoteError{Kind: "denied", Message: "uid 1001 (pid 7): permission denied"}), ExitPermission},
		{fmt.Errorf("open: %w", store.ErrUnsafePermission), ExitPermission},
		{fmt.Errorf("read: %w", prompt.ErrExposed), ExitPermission},
		{fmt.Errorf("3 wrong passphrases: %w", store.ErrWrongPassphrase), ExitLocked},
		{fmt.Errorf("wsx.toml: %w", manifest.ErrForeign), ExitPermission},
		{exitError{Code: 143}, 143},
		{fmt.Errorf("audit: %w", audit.ErrUnavailable), ExitError},
	}
	for _, tt := range tests {
		if got := exitCode(tt.err); got != tt.want {
			t.Errorf("exitCode(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}

// testEnv is an Env over buffers, with WSX_HOME in a temp dir and the
// passphrase in a file.
func testEnv(t testing.TB, args ...string) (Env, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	dir := t.TempDir()
	pass := filepath.Join(dir, "pass")
	if err := os.WriteFile(pass, []byte("test passphrase\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"WSX_HOME": filepath.Join(dir, "home"), "WSX_PASSPHRASE_FILE": pass}
	var out, errb bytes.Buffer
	return Env{
		Args:     append([]string{"wsx"}, args...),
		Stdin:    strings.NewReader(""),
		Stdout:   &out,
		Stderr:   &errb,
		Getenv:   func(k string) string { return vars[k] },
		Now:      time.Now,
		Terminal: func() (Terminal, error) { return nil, prompt.ErrNoTerminal },
		UID:      os.Getuid(),
		PID:      os.Getpid(),
		Dir:      dir,
		Environ:  os.Environ,
	}, &out, &errb
}

func TestMainNoTerminalNoPassphrase(t *testing.T) {
	env, out, errb := testEnv(t, "init")
	getenv := env.Getenv
	env.Getenv = func(k string) string {
		if k == "WSX_PASSPHRASE_FILE" {
			return ""
		}
		return getenv(k)
	}
	if code := Main(context.Background(), env); code != ExitError {
		t.Fatalf("exit %d, want %d; stderr: %s", code, ExitError, errb)
	}
	if out.Len() != 0 || !strings.Contains(errb.String(), "hint: write the passphrase to a file") {
		t.Fatalf("stdout %q, stderr %q", out, errb)
	}
}

func TestMainAddListJSON(t *testing.T) {
	env, _, errb := testEnv(t, "init", "--kdf-memory", "8", "--kdf-time", "1")
	if code := Main(context.Background(), env); code != 0 {
		t.Fatalf("init: exit %d: %s", code, errb)
	}
	const value = "canary-cmd-test-value-0123456789"
	env.Args = []string{"wsx", "add", "API_TOKEN", "--host", "example.com"}
	env.Stdin = strings.NewReader(value + "\n")
	if code := Main(context.Background(), env); code != 0 {
		t.Fatalf("add: exit %d: %s", code, errb)
	}
	var out bytes.Buffer
	env.Stdout = &out
	env.Args = []string{"wsx", "list", "--json"}
	if code := Main(context.Background(), env); code != 0 {
		t.Fatalf("list: exit %d: %s", code, errb)
	}
	if strings.Contains(out.String()+errb.String(), value) {
		t.Fatal("the value appeared in the output")
	}
	var got []secrets.JSONMeta
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("list --json: %v", err)
	}
	if len(got) != 1 || got[0].Name != "API_TOKEN" || !reflect.DeepEqual(got[0].Hosts, []string{"example.com"}) || got[0].RotateEvery != "90d" {
		t.Fatalf("list --json = %+v", got)
	}
}

// TestDaemonGoneFallsBack: an agent that stops between two requests (as
// `wsx agent CMD` does when CMD ends) leaves the command working on the
// store opened here.
func TestDaemonGoneFallsBack(t *testing.T) {
	env, _, errb := testEnv(t, "init", "--kdf-memory", "8", "--kdf-time", "1")
	if code := Main(context.Background(), env); code != 0 {
		t.Fatalf("init: %s", errb)
	}
	env.Args = []string{"wsx", "add", "API_TOKEN"}
	env.Stdin = strings.NewReader("value-0123456789\n")
	if code := Main(context.Background(), env); code != 0 {
		t.Fatalf("add: %s", errb)
	}
	app := newApp(&env)
	c := cli.NewContext(app, nil, nil)
	s, err := newSession(&env, c)
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	s.client = daemon.NewClient(filepath.Join(t.TempDir(), "api.sock"))
	ds := s.viaAgent(s.client)
	metas, err := ds.List()
	if err != nil {
		t.Fatalf("List after the agent went away: %v", err)
	}
	if len(metas) != 1 || metas[0].Name != "API_TOKEN" {
		t.Fatalf("List = %+v", metas)
	}
	if s.client != nil {
		t.Fatal("the session still uses the gone agent")
	}
	if err := s.record(audit.Record{Event: audit.EventAccessed, Secret: "API_TOKEN", Via: audit.ViaCLI, Result: "ok"}); err != nil {
		t.Fatalf("record after fallback: %v", err)
	}
}
