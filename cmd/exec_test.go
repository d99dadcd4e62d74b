package cmd

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
	"github.com/wsxdev/wsx/internal/release"
	"github.com/wsxdev/wsx/store"
)

// lister is a secretStore that lists the metadata it holds and hands
// out the values of what it lists, as an agent (honest or not) could.
type lister struct {
	secretStore
	metas []store.Meta
	used  []string
}

func (l *lister) List() ([]store.Meta, error) { return l.metas, nil }

func (l *lister) Use(_ context.Context, names []string, _ release.Record) ([]store.Secret, error) {
	l.used = append(l.used, names...)
	var out []store.Secret
	for _, n := range names {
		for _, m := range l.metas {
			if m.Name == n {
				out = append(out, store.Secret{Meta: m, Value: store.NewValue([]byte("value-of-" + n))})
			}
		}
	}
	return out, nil
}

func chooseWith(t *testing.T, metas []store.Meta, o execOptions) ([]string, string, error) {
	t.Helper()
	env, _, errb := testEnv(t)
	s, err := newSession(&env, cli.NewContext(newApp(&env), nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	names, err := s.choose(&lister{metas: metas}, o)
	return names, errb.String(), err
}

// SECURITY.md 75: SSH keys go into a child's environment only when named.
// SECURITY.md 72 (exec side): a name that could change what the command
// runs is refused, or left out, whoever listed it (a store or an agent),
// unless wsx exec is given --allow-dangerous-name; an invalid name from an
// agent is refused as the store refuses it.
func TestChoose(t *testing.T) {
	metas := []store.Meta{
		{Name: "API_TOKEN", Type: store.TypeToken},
		{Name: "DEPLOY_KEY", Type: store.TypeKey},
		{Name: "LD_PRELOAD", Type: store.TypeToken},
		{Name: "CERT_FILE", Type: store.TypeFile},
	}
	names, stderr, err := chooseWith(t, metas, execOptions{})
	if err != nil || !slices.Equal(names, []string{"API_TOKEN", "CERT_FILE"}) {
		t.Errorf("default: %v, %v; want the token and the file, no key, no LD_PRELOAD", names, err)
	}
	if !strings.Contains(stderr, "LD_PRELOAD is left out") {
		t.Errorf("stderr %q: want a warning naming LD_PRELOAD", stderr)
	}
	if names, _, err := chooseWith(t, metas, execOptions{Only: []string{"DEPLOY_KEY"}}); err != nil || !slices.Equal(names, []string{"DEPLOY_KEY"}) {
		t.Errorf("--only DEPLOY_KEY: %v, %v", names, err)
	}
	if names, _, err := chooseWith(t, metas, execOptions{manifest: []string{"DEPLOY_KEY"}, governed: true}); err != nil || !slices.Equal(names, []string{"DEPLOY_KEY"}) {
		t.Errorf("wsx.toml naming DEPLOY_KEY: %v, %v", names, err)
	}
	if _, _, err := chooseWith(t, metas, execOptions{Only: []string{"LD_PRELOAD"}}); !errors.Is(err, store.ErrDangerousName) {
		t.Errorf("--only LD_PRELOAD: %v, want ErrDangerousName", err)
	}
	if names, _, err := chooseWith(t, metas, execOptions{Only: []string{"LD_PRELOAD"}, AllowDangerous: true}); err != nil || !slices.Equal(names, []string{"LD_PRELOAD"}) {
		t.Errorf("--only LD_PRELOAD --allow-dangerous-name: %v, %v", names, err)
	}
	bad := append(slices.Clone(metas), store.Meta{Name: "../evil", Type: store.TypeToken})
	if _, _, err := chooseWith(t, bad, execOptions{}); !errors.Is(err, store.ErrInvalidName) {
		t.Errorf("an invalid listed name: %v, want ErrInvalidName", err)
	}
}

// What the agent hands out is checked again before it reaches the
// environment: a dangerous name it returns is refused.
func TestReleaseRefusesDangerousAnswer(t *testing.T) {
	env, _, _ := testEnv(t)
	s, err := newSession(&env, cli.NewContext(newApp(&env), nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	l := &lister{metas: []store.Meta{{Name: "LD_PRELOAD", Type: store.TypeToken}}}
	if _, err := s.release(l, execOptions{Argv: []string{"true"}}, []string{"LD_PRELOAD"}, ""); !errors.Is(err, store.ErrDangerousName) {
		t.Errorf("release of LD_PRELOAD: %v, want ErrDangerousName", err)
	}
}
