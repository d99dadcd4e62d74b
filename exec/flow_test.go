package exec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

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
	names, err := choose(spec)
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
	if names, _, err := chooseWith(flowMetas, Spec{Manifest: []string{"DEPLOY_KEY"}, Governed: true}); err != nil || !slices.Equal(names, []string{"DEPLOY_KEY"}) {
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
		names, err := choose(spec)
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
		{Governed: true, Manifest: []string{"API_TOKEN", "BROKEN_TOKEN"}},
	} {
		names, _, err := choose1(spec, dmg)
		if !errors.Is(err, store.ErrIntegrity) || !strings.Contains(fmt.Sprint(err), "BROKEN_TOKEN") || names != nil {
			t.Errorf("%+v naming the damaged item: %v, %v; want ErrIntegrity naming it", spec, names, err)
		}
	}
	if names, _, err := choose1(Spec{Governed: true, Manifest: []string{"API_TOKEN"}}, dmg); err != nil || !slices.Equal(names, []string{"API_TOKEN"}) {
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
	if _, _, err := use(context.Background(), Spec{Argv: []string{"true"}, Source: l}, []string{"LD_PRELOAD"}); !errors.Is(err, store.ErrDangerousName) {
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
