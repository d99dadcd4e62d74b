package cmd

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wsxdev/wsx/internal/clidoc"
)

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
