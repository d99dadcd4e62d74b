package secrets

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wsxdev/wsx/internal/hint"
	"github.com/wsxdev/wsx/internal/prompt"
	"github.com/wsxdev/wsx/manifest"
	"github.com/wsxdev/wsx/store"
)

// answers is a terminal that answers prompts from a list.
type answers struct {
	said    []string
	prompts []string
}

func (a *answers) ReadPassword(p string) ([]byte, error) {
	a.prompts = append(a.prompts, p)
	if len(a.said) == 0 {
		return nil, errors.New("no more input")
	}
	v := a.said[0]
	a.said = a.said[1:]
	return []byte(v), nil
}
func (a *answers) Printf(string, ...any) {}
func (a *answers) Close() error          { return nil }

func TestTemplateInit(t *testing.T) {
	dir := t.TempDir()
	m, err := manifest.Parse(filepath.Join(dir, manifest.Name), []byte(`
[[secret]]
name = "API_TOKEN"
description = "the API"
[[secret]]
name = "DEPLOY_KEY_FILE"
type = "file"
[[secret]]
name = "OPTIONAL_TOKEN"
required = false
`))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cfg"), []byte("file contents"), 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := store.Init(filepath.Join(dir, "home"), store.InitOptions{Passphrase: []byte("p"), KDF: store.KDFParams{Time: 1, MemoryKiB: 1 << 10, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Lock()
	opened := 0
	var errb bytes.Buffer
	o := TemplateIO{
		Terminal: func() (prompt.Terminal, error) { return nil, prompt.ErrNoTerminal },
		Flows: func() (*Flows, error) {
			opened++
			return &Flows{Store: &Local{St: st, AuditPath: filepath.Join(dir, "home", "audit.log")}, Stderr: &errb}, nil
		},
		Home: dir, Stderr: &errb,
	}

	err = TemplateInit(m, nil, o)
	var he hint.Error
	if !errors.As(err, &he) || !strings.Contains(he.Hint, "`wsx add API_TOKEN --type token") || opened != 0 {
		t.Fatalf("no terminal: %v (hint %q), store opened %d times", err, he.Hint, opened)
	}

	term := &answers{said: []string{"value-of-the-api-token", "~/cfg", ""}}
	o.Terminal = func() (prompt.Terminal, error) { return term, nil }
	if err := TemplateInit(m, []string{"OTHER"}, o); err != nil {
		t.Fatalf("init: %v\n%s", err, errb.String())
	}
	if len(term.prompts) != 3 || !strings.HasPrefix(term.prompts[1], "File holding DEPLOY_KEY_FILE") {
		t.Errorf("prompts %q", term.prompts)
	}
	names, err := st.Names()
	if err != nil || !slices.Contains(names, "API_TOKEN") || !slices.Contains(names, "DEPLOY_KEY_FILE") || slices.Contains(names, "OPTIONAL_TOKEN") {
		t.Errorf("names %v, %v", names, err)
	}

	errb.Reset()
	opened = 0
	if err := TemplateInit(m, []string{"API_TOKEN", "DEPLOY_KEY_FILE", "OPTIONAL_TOKEN"}, o); err != nil || opened != 0 ||
		!strings.Contains(errb.String(), "every secret of") {
		t.Errorf("nothing missing: %v, opened %d, said %q", err, opened, errb.String())
	}
}
