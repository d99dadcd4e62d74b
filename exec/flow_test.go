package exec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wsxdev/wsx/internal/hint"
	"github.com/wsxdev/wsx/internal/mask"
	"github.com/wsxdev/wsx/internal/release"
	"github.com/wsxdev/wsx/store"
)

// lister is a Source that lists the metadata it holds and hands out the
// values of what it lists, as an agent (honest or not) could.
type lister struct {
	metas   []store.Meta
	listErr error // List's error, returned with metas
	used    []string
	recs    []release.Record
}

func (l *lister) List() ([]store.Meta, error) { return l.metas, l.listErr }

func (l *lister) Use(_ context.Context, names []string, rec release.Record) ([]store.Secret, error) {
	l.used = append(l.used, names...)
	l.recs = append(l.recs, rec)
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

var flowMetas = []store.Meta{
	{Name: "API_TOKEN", Type: store.TypeToken},
	{Name: "DEPLOY_KEY", Type: store.TypeKey},
	{Name: "LD_PRELOAD", Type: store.TypeToken},
	{Name: "CERT_FILE", Type: store.TypeFile},
}

func chooseWith(metas []store.Meta, spec Spec) ([]string, string, error) {
	var errb bytes.Buffer
	spec.Source, spec.Stderr = &lister{metas: metas}, &errb
	names, _, err := choose(spec)
	return names, errb.String(), err
}

// SECURITY.md 75: SSH keys go into a child's environment only when named.
// SECURITY.md 72 (exec side): a name that could change what the command
// runs is refused, or left out, whoever listed it (a store or an agent),
// unless --allow-dangerous-name; an invalid listed name is refused as the
// store refuses it.
func TestChoose(t *testing.T) {
	names, stderr, err := chooseWith(flowMetas, Spec{})
	if err != nil || !slices.Equal(names, []string{"API_TOKEN", "CERT_FILE"}) {
		t.Errorf("default: %v, %v; want the token and the file, no key, no LD_PRELOAD", names, err)
	}
	if !strings.Contains(stderr, "LD_PRELOAD is left out") {
		t.Errorf("stderr %q: want a warning naming LD_PRELOAD", stderr)
	}
	if names, _, err := chooseWith(flowMetas, Spec{Only: []string{"DEPLOY_KEY"}}); err != nil || !slices.Equal(names, []string{"DEPLOY_KEY"}) {
		t.Errorf("--only DEPLOY_KEY: %v, %v", names, err)
	}
	if names, _, err := chooseWith(flowMetas, Spec{Project: &project{names: []string{"DEPLOY_KEY"}}}); err != nil || !slices.Equal(names, []string{"DEPLOY_KEY"}) {
		t.Errorf("wsx.toml naming DEPLOY_KEY: %v, %v", names, err)
	}
	if _, _, err := chooseWith(flowMetas, Spec{Only: []string{"LD_PRELOAD"}}); !errors.Is(err, store.ErrDangerousName) {
		t.Errorf("--only LD_PRELOAD: %v, want ErrDangerousName", err)
	}
	if names, _, err := chooseWith(flowMetas, Spec{Only: []string{"LD_PRELOAD"}, AllowDangerous: true}); err != nil || !slices.Equal(names, []string{"LD_PRELOAD"}) {
		t.Errorf("--only LD_PRELOAD --allow-dangerous-name: %v, %v", names, err)
	}
	var unknown *UnknownNameError
	if _, _, err := chooseWith(flowMetas, Spec{Only: []string{"API_TOKEM"}}); !errors.As(err, &unknown) || !errors.Is(err, store.ErrNotFound) || len(unknown.Avail) != 4 {
		t.Errorf("--only of a missing name: %v", err)
	}
	bad := append(slices.Clone(flowMetas), store.Meta{Name: "../evil", Type: store.TypeToken})
	if _, _, err := chooseWith(bad, Spec{}); !errors.Is(err, store.ErrInvalidName) {
		t.Errorf("an invalid listed name: %v, want ErrInvalidName", err)
	}
}

// SECURITY.md 77: a damaged item does not stop exec of the others. It is
// refused only when named (--only, wsx.toml); otherwise a warning names it
// with the fix. Any other List error still stops exec.
func TestChooseDamaged(t *testing.T) {
	dmg := &store.DamagedError{Names: []string{"BROKEN_TOKEN"},
		Errs: []error{fmt.Errorf("secret BROKEN_TOKEN: %w", store.ErrIntegrity)}}
	choose1 := func(spec Spec, listErr error) ([]string, string, error) {
		var errb bytes.Buffer
		spec.Source, spec.Stderr = &lister{metas: flowMetas, listErr: listErr}, &errb
		names, _, err := choose(spec)
		return names, errb.String(), err
	}
	names, stderr, err := choose1(Spec{}, dmg)
	if err != nil || !slices.Equal(names, []string{"API_TOKEN", "CERT_FILE"}) {
		t.Errorf("default with a damaged item: %v, %v; want the others", names, err)
	}
	if !strings.Contains(stderr, "BROKEN_TOKEN cannot be read") || !strings.Contains(stderr, "wsx rm BROKEN_TOKEN") {
		t.Errorf("stderr %q: want a warning naming BROKEN_TOKEN and the fix", stderr)
	}
	if names, _, err := choose1(Spec{Only: []string{"API_TOKEN"}}, dmg); err != nil || !slices.Equal(names, []string{"API_TOKEN"}) {
		t.Errorf("--only API_TOKEN with another item damaged: %v, %v", names, err)
	}
	for _, spec := range []Spec{
		{Only: []string{"API_TOKEN", "BROKEN_TOKEN"}},
		{Project: &project{names: []string{"API_TOKEN", "BROKEN_TOKEN"}}},
		{Rename: map[string]string{"BROKEN_TOKEN": "GH_TOKEN"}},
	} {
		names, _, err := choose1(spec, dmg)
		if !errors.Is(err, store.ErrIntegrity) || !strings.Contains(fmt.Sprint(err), "BROKEN_TOKEN") || names != nil {
			t.Errorf("%+v naming the damaged item: %v, %v; want ErrIntegrity naming it", spec, names, err)
		}
	}
	if names, _, err := choose1(Spec{Project: &project{names: []string{"API_TOKEN"}}}, dmg); err != nil || !slices.Equal(names, []string{"API_TOKEN"}) {
		t.Errorf("wsx.toml without the damaged item: %v, %v", names, err)
	}
	if _, _, err := choose1(Spec{}, store.ErrLocked); !errors.Is(err, store.ErrLocked) {
		t.Errorf("List failing: %v, want its error", err)
	}
}

// What the source hands out is checked again before it reaches the
// environment: a dangerous name it returns is refused.
func TestUseRefusesDangerousAnswer(t *testing.T) {
	l := &lister{metas: []store.Meta{{Name: "LD_PRELOAD", Type: store.TypeToken}}}
	spec := Spec{Argv: []string{"true"}, Source: l}
	secs, err := use(context.Background(), spec, []string{"LD_PRELOAD"}, release.Record{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := byType(spec, secs); !errors.Is(err, store.ErrDangerousName) {
		t.Errorf("use of LD_PRELOAD: %v, want ErrDangerousName", err)
	}
}

// The flow records before the child runs, closes the store first, and a
// command that cannot be found is reported before any use.
func TestRunFlow(t *testing.T) {
	l := &lister{metas: flowMetas[:1]}
	var out bytes.Buffer
	closed := false
	code, err := Run(context.Background(), Spec{
		Argv: []string{"sh", "-c", `test "$API_TOKEN" = value-of-API_TOKEN && echo "$API_TOKEN"`}, Source: l,
		Close: func() { closed = true }, Parent: []string{"PATH=/usr/bin:/bin"},
		Stdin: strings.NewReader(""), Stdout: &out, Stderr: &out, PTY: PTYNever,
	})
	if err != nil || code != 0 || !closed || strings.TrimSpace(out.String()) != mask.Marker {
		t.Fatalf("Run = %d, %v; closed %v; output %q", code, err, closed, out.String())
	}
	if len(l.recs) != 1 || !strings.HasPrefix(l.recs[0].Context.Command, "sh -c ") || l.recs[0].Via != "exec" {
		t.Errorf("records %+v", l.recs)
	}
	l = &lister{metas: flowMetas[:1]}
	if _, err := Run(context.Background(), Spec{Argv: []string{"no-such-command-wsx"}, Source: l, Parent: []string{"PATH=/usr/bin:/bin"},
		Stdout: &out, Stderr: &out}); !errors.Is(err, ErrStart) || len(l.used) != 0 {
		t.Errorf("missing command: %v, uses %v", err, l.used)
	}
}

// --env NEW=OLD (and env = "NEW" in wsx.toml): OLD goes in as NEW. OLD is
// named by it (a key goes in); NEW is checked like any name.
func TestChooseRename(t *testing.T) {
	metas := append(slices.Clone(flowMetas), store.Meta{Name: "GITHUB_TOKEN", Type: store.TypeToken}, store.Meta{Name: "GH_TOKEN", Type: store.TypeToken})
	rename := map[string]string{"GITHUB_TOKEN": "GH_TOKEN"}
	names, stderr, err := chooseWith(metas, Spec{Rename: rename})
	if err != nil || !slices.Equal(names, []string{"API_TOKEN", "CERT_FILE", "GITHUB_TOKEN"}) {
		t.Errorf("default with a rename: %v, %v; want GITHUB_TOKEN, and not the secret GH_TOKEN it shadows", names, err)
	}
	if !strings.Contains(stderr, "GH_TOKEN is left out") {
		t.Errorf("stderr %q: want a warning that the secret GH_TOKEN is left out", stderr)
	}
	if _, _, err := chooseWith(metas, Spec{Rename: rename, Only: []string{"GH_TOKEN", "GITHUB_TOKEN"}}); err == nil || !strings.Contains(err.Error(), "GH_TOKEN") {
		t.Errorf("--only GH_TOKEN with GITHUB_TOKEN renamed to it: %v, want an error", err)
	}
	if names, _, err := chooseWith(metas, Spec{Rename: map[string]string{"DEPLOY_KEY": "SSH_KEY_PEM"}, Only: []string{"API_TOKEN"}}); err != nil || !slices.Equal(names, []string{"API_TOKEN", "DEPLOY_KEY"}) {
		t.Errorf("--only API_TOKEN --env SSH_KEY_PEM=DEPLOY_KEY: %v, %v; the renamed key is named", names, err)
	}
	var unknown *UnknownNameError
	if _, _, err := chooseWith(metas, Spec{Rename: map[string]string{"NOPE_TOKEN": "X_TOKEN"}}); !errors.As(err, &unknown) || unknown.Name != "NOPE_TOKEN" || !strings.Contains(err.Error(), "--env X_TOKEN=NOPE_TOKEN") {
		t.Errorf("--env of a missing secret: %v", err)
	}
	for _, v := range []string{"LD_PRELOAD", "BASH_ENV", "WSX_EXEC"} {
		if _, _, err := chooseWith(metas, Spec{Rename: map[string]string{"API_TOKEN": v}}); !errors.Is(err, store.ErrDangerousName) || !strings.Contains(err.Error(), v) {
			t.Errorf("--env %s=API_TOKEN: %v, want ErrDangerousName", v, err)
		}
	}
	if names, _, err := chooseWith(metas, Spec{Rename: map[string]string{"API_TOKEN": "LD_PRELOAD"}, AllowDangerous: true}); err != nil || !slices.Contains(names, "API_TOKEN") {
		t.Errorf("--env LD_PRELOAD=API_TOKEN --allow-dangerous-name: %v, %v", names, err)
	}
	if _, _, err := chooseWith(metas, Spec{Rename: map[string]string{"API_TOKEN": "9X"}}); !errors.Is(err, store.ErrInvalidName) {
		t.Errorf("--env 9X=API_TOKEN: %v, want ErrInvalidName", err)
	}
	if _, _, err := chooseWith(metas, Spec{Rename: map[string]string{"API_TOKEN": "SAME_TOKEN", "GITHUB_TOKEN": "SAME_TOKEN"}}); err == nil || !strings.Contains(err.Error(), "SAME_TOKEN") {
		t.Errorf("two secrets renamed to one variable: %v, want an error", err)
	}
	// A secret whose own name is dangerous may go in under a harmless one.
	if names, _, err := chooseWith(metas, Spec{Rename: map[string]string{"LD_PRELOAD": "PRELOAD_TOKEN"}, Only: []string{"API_TOKEN"}}); err != nil || !slices.Equal(names, []string{"API_TOKEN", "LD_PRELOAD"}) {
		t.Errorf("--env PRELOAD_TOKEN=LD_PRELOAD: %v, %v", names, err)
	}
}

// The child sees the value under the new name only; the record names the
// secret and the script line that names the variable; masking holds.
func TestRunRename(t *testing.T) {
	dir := t.TempDir()
	script := "#!/bin/sh\n# deploy\ntest -z \"${GITHUB_TOKEN+set}\" || exit 3\necho \"$GH_TOKEN\"\n"
	if err := os.WriteFile(filepath.Join(dir, "deploy.sh"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	l := &lister{metas: []store.Meta{{Name: "GITHUB_TOKEN", Type: store.TypeToken}}}
	var out bytes.Buffer
	code, err := Run(context.Background(), Spec{
		Argv: []string{filepath.Join(dir, "deploy.sh")}, Cwd: dir, Source: l, Rename: map[string]string{"GITHUB_TOKEN": "GH_TOKEN"},
		Parent: []string{"PATH=/usr/bin:/bin"}, Stdin: strings.NewReader(""), Stdout: &out, Stderr: &out, PTY: PTYNever,
	})
	if err != nil || code != 0 || strings.TrimSpace(out.String()) != mask.Marker {
		t.Fatalf("Run = %d, %v; output %q", code, err, out.String())
	}
	if !slices.Equal(l.used, []string{"GITHUB_TOKEN"}) || len(l.recs) != 1 || l.recs[0].Places["GITHUB_TOKEN"].Line != 4 {
		t.Errorf("used %v, records %+v: want GITHUB_TOKEN, at deploy.sh:4", l.used, l.recs)
	}
}

// choose is the choice Run makes from spec with a Source that lists.
func choose(spec Spec) ([]string, release.Choice, error) {
	spec = spec.governed()
	c, _, err := useSelected(context.Background(), spec, spec.selection(nil), release.Record{}, false)
	return c.Names, c, err
}

// selector is a Source that chooses itself, as the agent does: one
// UseSelected per run, or ErrChooseHere when refuse is set.
type selector struct {
	lister
	refuse bool
	asked  int
	lists  int
}

func (s *selector) List() ([]store.Meta, error) { s.lists++; return s.lister.List() }

func (s *selector) UseSelected(ctx context.Context, sel release.Selection, rec release.Record) (release.Choice, []store.Secret, error) {
	s.asked++
	if s.refuse {
		return release.Choice{}, nil, release.ErrChooseHere
	}
	c, err := Choose(s.metas, s.listErr, sel, nil)
	if err != nil {
		return c, nil, release.ErrChooseHere
	}
	secs, err := s.Use(ctx, c.Names, rec)
	return c, secs, err
}

// With a Source that chooses (the agent), Run makes one request and no
// list: the notes and reminders it answers with are printed in order. A
// refusal is chosen here, from the list, as before; so is a command that
// cannot be found, reported before any use.
func TestRunSelected(t *testing.T) {
	run := func(s *selector, argv ...string) (int, string, []store.Meta, error) {
		var out bytes.Buffer
		var reminded []store.Meta
		code, err := Run(context.Background(), Spec{
			Argv: argv, Source: s, Parent: []string{"PATH=/usr/bin:/bin"}, Stdin: strings.NewReader(""), Stdout: &out, Stderr: &out, PTY: PTYNever,
			Chosen: func(m []store.Meta) { reminded = append(reminded, m...) },
		})
		return code, out.String(), reminded, err
	}
	s := &selector{lister: lister{metas: flowMetas}}
	code, out, reminded, err := run(s, "sh", "-c", `test "$API_TOKEN" = value-of-API_TOKEN && test -z "$LD_PRELOAD"`)
	if err != nil || code != 0 || s.asked != 1 || s.lists != 0 || !slices.Equal(s.used, []string{"API_TOKEN", "CERT_FILE"}) {
		t.Fatalf("Run = %d, %v; asked %d, listed %d, used %v; output %q", code, err, s.asked, s.lists, s.used, out)
	}
	if !strings.Contains(out, "wsx: warning: LD_PRELOAD is left out") || len(reminded) != 3 {
		t.Errorf("output %q, reminded of %d", out, len(reminded))
	}
	s = &selector{lister: lister{metas: flowMetas}, refuse: true}
	if code, _, _, err := run(s, "true"); err != nil || code != 0 || s.asked != 1 || s.lists != 1 || len(s.used) != 2 {
		t.Errorf("refused: %d, %v; asked %d, listed %d, used %v", code, err, s.asked, s.lists, s.used)
	}
	s = &selector{lister: lister{metas: flowMetas}}
	if _, _, _, err := run(s, "no-such-command-wsx"); !errors.Is(err, ErrStart) || s.asked != 0 || len(s.used) != 0 {
		t.Errorf("missing command: %v, asked %d, used %v", err, s.asked, s.used)
	}
}

func TestCheckModes(t *testing.T) {
	for _, c := range []struct {
		pty, inject string
		ok          bool
	}{{PTYAuto, "", true}, {PTYNever, InjectProxy, true}, {"sometimes", "", false}, {PTYAlways, "file", false}} {
		err := CheckModes(c.pty, c.inject)
		var u hint.Usage
		if (err == nil) != c.ok || err != nil && !errors.As(err, &u) {
			t.Errorf("CheckModes(%q, %q) = %v", c.pty, c.inject, err)
		}
	}
}
