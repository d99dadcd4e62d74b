package exec

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/wsxdev/wsx/store"
)

// project is a wsx.toml as Run sees it.
type project struct {
	names, required []string
	renames         map[string]string
	proxied         []string
	noAccessAudit   bool
}

func (p *project) Declared() (names, required []string) { return p.names, p.required }
func (p *project) Renames() map[string]string           { return p.renames }
func (p *project) Proxied() []string                    { return p.proxied }
func (p *project) AccessAudit() bool                    { return !p.noAccessAudit }
func (p *project) MissingNames(names []string) error {
	return fmt.Errorf("wsx.toml requires %s: add it with `wsx add %s`: %w", strings.Join(names, ", "), names[0], store.ErrNotFound)
}

// What a wsx.toml decides, and what --only, --all and --no-access-audit
// take from it: the project chooses the secrets only when nothing else
// names them; provider credentials are left out only when nothing names
// the secrets; its proxied secrets and its access_audit = false hold
// whatever the flags.
func TestGoverned(t *testing.T) {
	p := &project{
		names: []string{"API_TOKEN", "DB_PASSWORD"}, required: []string{"API_TOKEN"},
		renames: map[string]string{"API_TOKEN": "TOKEN", "DB_PASSWORD": "PGPASSWORD"},
		proxied: []string{"API_TOKEN"},
	}
	creds := []string{"VAULT_TOKEN"}
	flags := map[string]string{"DB_PASSWORD": "DATABASE_PASSWORD"}
	for _, tc := range []struct {
		name      string
		spec      Spec
		governed  bool
		exclude   []string
		rename    map[string]string
		proxied   []string
		keepLog   bool // Access kept, and closed with KeepLog
		closeWith string
	}{
		{name: "project", spec: Spec{Project: p, Rename: flags},
			governed: true, rename: map[string]string{"API_TOKEN": "TOKEN", "DB_PASSWORD": "DATABASE_PASSWORD"}, proxied: p.proxied, keepLog: true},
		{name: "--all", spec: Spec{Project: p, All: true, Rename: flags},
			exclude: creds, rename: flags, proxied: p.proxied, keepLog: true},
		{name: "--only", spec: Spec{Project: p, Only: []string{"DB_PASSWORD"}},
			proxied: p.proxied, keepLog: true},
		{name: "no project", spec: Spec{}, exclude: creds, keepLog: true},
		{name: "--no-access-audit", spec: Spec{Project: p, NoAccessAudit: true}, governed: true, rename: p.renames, proxied: p.proxied},
		{name: "access_audit = false", spec: Spec{Project: &project{noAccessAudit: true}}, governed: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			closed, kept := false, false
			spec := tc.spec
			spec.ProviderCredentials = func() []string { return creds }
			spec.Access = &fakeRecorder{}
			spec.Close, spec.KeepLog = func() { closed = true }, func() { kept = true }
			before := maps.Clone(spec.Rename)
			g := spec.governed()
			sel := g.selection(nil)
			if sel.Governed != tc.governed || !slices.Equal(sel.Exclude, tc.exclude) {
				t.Errorf("governed %v, exclude %v; want %v, %v", sel.Governed, sel.Exclude, tc.governed, tc.exclude)
			}
			if tc.governed {
				want, req := tc.spec.Project.Declared()
				if !slices.Equal(sel.Manifest, want) || !slices.Equal(sel.Required, req) {
					t.Errorf("manifest %v, required %v; want %v, %v", sel.Manifest, sel.Required, want, req)
				}
			}
			if !maps.Equal(sel.Rename, tc.rename) || !slices.Equal(sel.ProxyNames, tc.proxied) {
				t.Errorf("rename %v, proxy names %v; want %v, %v", sel.Rename, sel.ProxyNames, tc.rename, tc.proxied)
			}
			if !maps.Equal(tc.spec.Rename, before) {
				t.Errorf("the caller's renames changed: %v", tc.spec.Rename)
			}
			if (g.Access != nil) != tc.keepLog {
				t.Errorf("access records %v, want %v", g.Access != nil, tc.keepLog)
			}
			g.Close()
			if kept != tc.keepLog || closed == tc.keepLog {
				t.Errorf("Close locked the store keeping the log %v, closing all %v; want the log kept %v", kept, closed, tc.keepLog)
			}
			if g.Inject != InjectEnv {
				t.Errorf("inject %q, want the default", g.Inject)
			}
		})
	}
}

// A required secret the store lacks stops the run before any use, with
// the project's error: it names the command that adds the secret.
func TestRunMissingRequired(t *testing.T) {
	l := &lister{metas: flowMetas[:1]}
	var out strings.Builder
	code, err := Run(context.Background(), Spec{
		Argv: []string{"true"}, Source: l, Parent: []string{"PATH=/usr/bin:/bin"},
		Project: &project{names: []string{"API_TOKEN", "DB_PASSWORD"}, required: []string{"DB_PASSWORD"}},
		Stdout:  &out, Stderr: &out, PTY: PTYNever,
	})
	var missing *MissingError
	if code != 1 || !errors.As(err, &missing) || !slices.Equal(missing.Names, []string{"DB_PASSWORD"}) ||
		!errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), "wsx add DB_PASSWORD") {
		t.Fatalf("Run = %d, %v; want a MissingError naming DB_PASSWORD and its fix", code, err)
	}
	if len(l.used) != 0 {
		t.Errorf("used %v before refusing", l.used)
	}
	l = &lister{metas: flowMetas[:1]}
	if code, err := Run(context.Background(), Spec{
		Argv: []string{"true"}, Source: l, Parent: []string{"PATH=/usr/bin:/bin"}, All: true,
		Project: &project{names: []string{"DB_PASSWORD"}, required: []string{"DB_PASSWORD"}},
		Stdout:  &out, Stderr: &out, PTY: PTYNever,
	}); err != nil || code != 0 || !slices.Equal(l.used, []string{"API_TOKEN"}) {
		t.Errorf("--all with a required secret missing: %d, %v, used %v; want every secret there", code, err, l.used)
	}
}
