package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
	"github.com/wsxdev/wsx/internal/clidoc"
	"github.com/wsxdev/wsx/store"
)

// fakeTerminal answers prompts from a list and records what was shown.
type fakeTerminal struct {
	answers []string
	prompts []string
	printed strings.Builder
}

func (f *fakeTerminal) ReadPassword(prompt string) ([]byte, error) {
	f.prompts = append(f.prompts, prompt)
	if len(f.answers) == 0 {
		return nil, errors.New("no more input")
	}
	a := f.answers[0]
	f.answers = f.answers[1:]
	return []byte(a), nil
}

func (f *fakeTerminal) Printf(format string, args ...any) {
	f.printed.WriteString(strings.TrimSpace(strings.ReplaceAll(format, "%", "")))
}
func (f *fakeTerminal) Close() error { return nil }

func TestUnlockWithTries(t *testing.T) {
	for _, tc := range []struct {
		answers   []string
		wantErr   error
		wantReads int
	}{
		{[]string{"right"}, nil, 1},
		{[]string{"no", "no", "right"}, nil, 3},
		{[]string{"no", "no", "no", "right"}, store.ErrWrongPassphrase, 3},
	} {
		env, _, _ := testEnv(t)
		getenv := env.Getenv
		env.Getenv = func(k string) string {
			if k == "WSX_PASSPHRASE_FILE" {
				return ""
			}
			return getenv(k)
		}
		ft := &fakeTerminal{answers: tc.answers}
		env.Terminal = func() (Terminal, error) { return ft, nil }
		app := newApp(&env)
		s := &session{env: &env, c: cli.NewContext(app, nil, nil)}
		err := s.unlockWith("Passphrase: ", func(p []byte) error {
			if string(p) != "right" {
				return store.ErrWrongPassphrase
			}
			return nil
		})
		if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
			t.Errorf("%v: err %v, want %v", tc.answers, err, tc.wantErr)
		}
		if len(ft.prompts) != tc.wantReads {
			t.Errorf("%v: %d prompts, want %d", tc.answers, len(ft.prompts), tc.wantReads)
		}
		if got, want := strings.Count(ft.printed.String(), "Sorry, try again."), tc.wantReads-1; got != want {
			t.Errorf("%v: %d apologies, want %d", tc.answers, got, want)
		}
		if tc.wantErr != nil && exitCode(err) != ExitLocked {
			t.Errorf("%v: exit code %d, want %d", tc.answers, exitCode(err), ExitLocked)
		}
	}
}

func TestReadPassphraseFileMode(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "pass")
	if err := os.WriteFile(p, []byte("a passphrase\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := readPassphraseFile(p)
	if exitCode(err) != ExitPermission {
		t.Fatalf("mode 0644: err %v, exit %d; want %d", err, exitCode(err), ExitPermission)
	}
	var he hintedError
	if !errors.As(err, &he) || !strings.Contains(he.Hint, "chmod 600 "+p) {
		t.Errorf("hint %q, want the chmod", he.Hint)
	}
	if err := os.Chmod(p, 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := readPassphraseFile(p)
	if err != nil || string(got) != "a passphrase" {
		t.Errorf("mode 0600: %q, %v", got, err)
	}
}

func TestWantsJSON(t *testing.T) {
	for in, want := range map[string]bool{
		"wsx list --json":                    true,
		"wsx info X --json=true":             true,
		"wsx list":                           false,
		"wsx exec -- echo --json":            false,
		"wsx --passphrase-file f list -json": true,
	} {
		if got := wantsJSON(strings.Fields(in)); got != want {
			t.Errorf("wantsJSON(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestMainJSONError(t *testing.T) {
	env, out, _ := testEnv(t, "init", "--kdf-memory", "8", "--kdf-time", "1")
	if code := Main(context.Background(), env); code != 0 {
		t.Fatalf("init: exit %d", code)
	}
	out.Reset()
	env.Args = []string{"wsx", "info", "NOPE", "--json"}
	code := Main(context.Background(), env)
	var j errorJSON
	if err := json.Unmarshal(out.Bytes(), &j); err != nil {
		t.Fatalf("stdout %q: %v", out, err)
	}
	if code != ExitNotFound || j.Code != code || !strings.Contains(j.Error, "NOPE") || j.Hint == "" {
		t.Errorf("exit %d, JSON %+v", code, j)
	}
}

func TestCompletions(t *testing.T) {
	env, _, _ := testEnv(t)
	items := filepath.Join(env.Getenv("WSX_HOME"), "items")
	if err := os.MkdirAll(items, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"GITHUB_TOKEN", "GITLAB_TOKEN", "NPM_TOKEN", "git-credential-x"} {
		if err := os.WriteFile(filepath.Join(items, n+".wsx"), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	app := newApp(&env)
	for _, tc := range []struct {
		line string // the words, the last one under the cursor
		want []string
	}{
		{"info G", []string{"GITHUB_TOKEN", "GITLAB_TOKEN"}},
		{"rm ", []string{"GITHUB_TOKEN", "GITLAB_TOKEN", "NPM_TOKEN"}},
		{"info GITHUB_TOKEN ", nil},
		{"exec --only NPM_TOKEN,G", []string{"NPM_TOKEN,GITHUB_TOKEN", "NPM_TOKEN,GITLAB_TOKEN"}},
		{"add X --type k", []string{"key"}},
		{"add X --from-file ", nil},
		{"audit ", []string{"verify"}},
		{"pass", []string{"passwd"}},
		{"rotate --f", []string{"--from-file", "--finish"}},
		{"exec -- ", nil},
	} {
		words := strings.Split(tc.line, " ")
		var got []string
		for _, c := range clidoc.Completions(app, words[:len(words)-1], words[len(words)-1], false, func() []string { return completeNames(&env) }) {
			if strings.HasPrefix(c, words[len(words)-1]) {
				got = append(got, c)
			}
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("complete %q = %q, want %q", tc.line, got, tc.want)
		}
	}
}
