package daemon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wsxdev/wsx/audit"
	"github.com/wsxdev/wsx/internal/release"
	"github.com/wsxdev/wsx/store"
)

// A use by selection is `wsx exec` in one request: the agent chooses as
// the command would, records one use per secret chosen (with the script
// line that names its variable), then answers with the values; a
// selection it refuses is left to the client (ErrChooseHere), with
// nothing recorded or released.
func TestUseSelected(t *testing.T) {
	st := newTestStore(t)
	_, c := startDaemon(t, st, nil)
	for _, sec := range []store.Secret{
		{Meta: store.Meta{Name: "API_TOKEN", Type: store.TypeToken}, Value: store.NewValue([]byte("tok-0123456789"))},
		{Meta: store.Meta{Name: "DEPLOY_KEY", Type: store.TypeKey}, Value: store.NewValue([]byte("0123456789abcdef0123456789abcdef"))},
		{Meta: store.Meta{Name: "LD_PRELOAD", Type: store.TypeToken}, Value: store.NewValue([]byte("/tmp/evil.so"))},
		{Meta: store.Meta{Name: "OTHER_TOKEN", Type: store.TypeToken}, Value: store.NewValue([]byte("other-0123456789"))},
	} {
		if _, err := c.Add(sec, store.AddOptions{AllowDangerousName: true}); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	auditPath := filepath.Join(st.Home(), "audit.log")
	rec := release.Record{Via: audit.ViaExec, Context: audit.Context{Command: "sh deploy.sh"}}
	sel := release.Selection{Inject: "env", Rename: map[string]string{"OTHER_TOKEN": "GH_TOKEN"},
		Script: &release.Script{File: "deploy.sh", Lines: map[string]int{"GH_TOKEN": 4, "API_TOKEN": 2}}}
	choice, secs, err := c.UseSelected(ctx, sel, rec)
	if err != nil {
		t.Fatal(err)
	}
	// Every token, no key (not named), no dangerous name (a note says so).
	if !slices.Equal(choice.Names, []string{"API_TOKEN", "OTHER_TOKEN"}) || len(secs) != 2 ||
		string(secs[0].Value.Bytes()) != "tok-0123456789" || secs[1].Name != "OTHER_TOKEN" {
		t.Fatalf("choice %+v, %d secrets", choice, len(secs))
	}
	if len(choice.Notes) != 1 || !strings.Contains(choice.Notes[0], "LD_PRELOAD is left out") {
		t.Errorf("notes %q", choice.Notes)
	}
	recs := readLog(t, st, auditPath)
	used := map[string]audit.Record{}
	for _, r := range recs {
		if r.Event == audit.EventUsed {
			used[r.Secret] = r
		}
	}
	if len(used) != 2 || used["API_TOKEN"].Context == nil || used["API_TOKEN"].Context.File != "deploy.sh" ||
		used["API_TOKEN"].Context.Line != 2 || used["OTHER_TOKEN"].Context.Line != 4 || used["OTHER_TOKEN"].Via != audit.ViaExec {
		t.Errorf("used records: %+v", used)
	}

	// Refused: the client chooses, and says why; nothing is recorded.
	for _, bad := range []release.Selection{
		{Only: []string{"NO_SUCH"}},
		{Only: []string{"LD_PRELOAD"}},
		{Inject: "env", ProxyNames: []string{"API_TOKEN"}},
	} {
		n := len(readLog(t, st, auditPath))
		if _, secs, err := c.UseSelected(ctx, bad, rec); !errors.Is(err, release.ErrChooseHere) || secs != nil {
			t.Errorf("%+v: %v, %d secrets; want ErrChooseHere and none", bad, err, len(secs))
		}
		if m := len(readLog(t, st, auditPath)); m != n {
			t.Errorf("%+v: %d records written", bad, m-n)
		}
	}

	// No value leaves when the use cannot be recorded.
	if err := os.Rename(auditPath, auditPath+".saved"); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(auditPath, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, secs, err := c.UseSelected(ctx, release.Selection{Only: []string{"API_TOKEN"}}, rec); !errors.Is(err, audit.ErrUnavailable) || secs != nil {
		t.Errorf("with the log unwritable: %v, %d secrets", err, len(secs))
	}
}

// BenchmarkUseSelected is what `wsx exec` asks the agent for 20 secrets
// now: one request that chooses, records and releases (BenchmarkUse is
// the list and the use it replaces).
func BenchmarkUseSelected(b *testing.B) {
	st := newTestStore(b)
	_, c := startDaemon(b, st, nil)
	for i := range 20 {
		sec := store.Secret{Meta: store.Meta{Name: fmt.Sprintf("TOKEN_%d", i), Type: store.TypeToken}, Value: store.NewValue(fmt.Appendf(nil, "value-%d-abcdefghijkl", i))}
		if _, err := c.Add(sec); err != nil {
			b.Fatal(err)
		}
	}
	ctx := context.Background()
	rec := release.Record{Via: audit.ViaExec, Context: audit.Context{Command: "true"}}
	for b.Loop() {
		if _, secs, err := c.UseSelected(ctx, release.Selection{Inject: "env"}, rec); err != nil || len(secs) != 20 {
			b.Fatal(len(secs), err)
		}
	}
}
