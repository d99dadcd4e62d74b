package pass

import (
	"context"
	"errors"
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

// fakePass writes a pass program that prints out, writes errText to
// stderr and exits with code, and logs its environment.
func fakePass(t *testing.T, script string) (provider.Settings, string) {
	t.Helper()
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	os.MkdirAll(filepath.Join(store, "github"), 0o700)
	os.WriteFile(filepath.Join(store, "github", "token.gpg"), []byte("x"), 0o600)
	prog := filepath.Join(dir, "pass")
	os.WriteFile(prog, []byte("#!/bin/sh\nenv > "+filepath.Join(dir, "env")+"\n"+script), 0o700)
	return provider.Settings{"dir": store, "program": prog, "gnupghome": filepath.Join(dir, "g")}, dir
}

func fetch(t *testing.T, s provider.Settings, raw string) ([]byte, error) {
	t.Helper()
	p, err := Open(s, creds{})
	if err != nil {
		t.Fatal(err)
	}
	src, err := provider.ParseSource(raw)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := p.Fetch(ctx, src)
	return res.Value, err
}

func TestFetch(t *testing.T) {
	t.Setenv("WSX_SECRET_LIKE", "must-not-reach-pass")
	s, dir := fakePass(t, `printf 'tok-1\nuser: bot\nURL: https://x\n'`)
	for raw, want := range map[string]string{
		"pass://github/token":      "tok-1",
		"pass://github/token#user": "bot",
		"pass://github/token#url":  "https://x",
	} {
		v, err := fetch(t, s, raw)
		if err != nil || string(v) != want {
			t.Errorf("%s: %q %v, want %q", raw, v, err, want)
		}
	}
	env, _ := os.ReadFile(filepath.Join(dir, "env"))
	if strings.Contains(string(env), "must-not-reach-pass") || !strings.Contains(string(env), "PASSWORD_STORE_DIR=") || !strings.Contains(string(env), "GNUPGHOME=") {
		t.Errorf("pass's environment:\n%s", env)
	}
	if _, err := fetch(t, s, "pass://github/token#nope"); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("no such line: %v", err)
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		script, raw string
		want        error
	}{
		{"echo 'gpg: decryption failed: No secret key' >&2; exit 2", "pass://github/token", provider.ErrAuth},
		{"exit 0", "pass://github/nope", provider.ErrNotFound},
		{"echo 'Error: github/token is not in the password store.' >&2; exit 1", "pass://github/token", provider.ErrNotFound},
	} {
		s, _ := fakePass(t, tc.script)
		if _, err := fetch(t, s, tc.raw); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.script, err, tc.want)
		}
	}
	s, _ := fakePass(t, "exit 0")
	s["dir"] = "/nonexistent/store"
	if _, err := fetch(t, s, "pass://github/token"); !errors.Is(err, provider.ErrUnavailable) {
		t.Errorf("no store: %v", err)
	}
	s, _ = fakePass(t, "exit 0")
	if _, err := fetch(t, s, "pass://github/token?version=2"); err == nil {
		t.Error("a version was accepted")
	}
}

// TestSlow: a pass that does not answer is killed when the context ends.
func TestSlow(t *testing.T) {
	s, _ := fakePass(t, "exec sleep 30")
	p, _ := Open(s, creds{})
	src, _ := provider.ParseSource("pass://github/token")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := p.Fetch(ctx, src)
	if !errors.Is(err, provider.ErrUnavailable) || time.Since(start) > 5*time.Second {
		t.Errorf("slow: %v after %v", err, time.Since(start))
	}
}
