package daemon

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/wsxdev/wsx/audit"
	"github.com/wsxdev/wsx/internal/release"
	"github.com/wsxdev/wsx/store"
)

// TestUseFactsPerConnection: the process facts of a use through the API
// are read once per connection: a change of the process (here its working
// directory, as an exec would change its command line) is not seen on
// the kept connection, and is on the next one, the closed one forgotten.
// The actor and the claim are the request's all the same.
func TestUseFactsPerConnection(t *testing.T) {
	dirA, dirB := t.TempDir(), t.TempDir()
	for _, d := range []*string{&dirA, &dirB} {
		var err error
		if *d, err = filepath.EvalSymlinks(*d); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(dirA)
	st := newTestStore(t)
	if _, err := st.Add(store.Secret{Meta: store.Meta{Name: "API_TOKEN", Type: store.TypeToken},
		Value: store.NewValue([]byte("value-0123456789abcdef"))}); err != nil {
		t.Fatal(err)
	}
	_, c := startDaemon(t, st, nil)
	auditPath := filepath.Join(st.Home(), "audit.log")
	use := func(host string) audit.Record {
		t.Helper()
		rec := release.Record{Via: audit.ViaProxy, Context: audit.Context{Command: "proxy: GET /", Host: host}}
		if _, err := c.Use(context.Background(), []string{"API_TOKEN"}, rec); err != nil {
			t.Fatal(err)
		}
		r := lastRecord(t, st, auditPath)
		if r.Process == nil || r.Process.PID != os.Getpid() || r.Context == nil || r.Context.Host != host {
			t.Fatalf("record %+v: want this process and the host claimed", r)
		}
		return r
	}
	if r := use("a.example.test"); r.Process.Cwd != dirA {
		t.Fatalf("first use: cwd %q, want %q", r.Process.Cwd, dirA)
	}
	t.Chdir(dirB)
	if r := use("b.example.test"); r.Process.Cwd != dirA {
		t.Errorf("kept connection: cwd %q, want the first request's %q", r.Process.Cwd, dirA)
	}
	c.Close()
	if r := use("c.example.test"); r.Process.Cwd != dirB {
		t.Errorf("new connection: cwd %q, want %q (read again)", r.Process.Cwd, dirB)
	}
}
