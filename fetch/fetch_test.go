package fetch

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wsxdev/wsx/audit"
	"github.com/wsxdev/wsx/internal/release"
	"github.com/wsxdev/wsx/manifest"
	"github.com/wsxdev/wsx/provider"
	"github.com/wsxdev/wsx/store"
)

// fakeStore keeps secrets in memory; values are checked by store.Edit's
// own Apply, as the store checks them.
type fakeStore struct {
	secs    map[string]*store.Secret
	records []audit.Record
	used    []string
}

func newFakeStore() *fakeStore { return &fakeStore{secs: map[string]*store.Secret{}} }

func (f *fakeStore) Use(_ context.Context, names []string, rec release.Record) ([]store.Secret, error) {
	var out []store.Secret
	for _, n := range names {
		sec, ok := f.secs[n]
		if !ok {
			return nil, fmt.Errorf("secret %s: %w", n, store.ErrNotFound)
		}
		f.used = append(f.used, n+" "+rec.Context.Command)
		out = append(out, *sec)
	}
	return out, nil
}

func (f *fakeStore) Stat(name string) (store.Meta, int, error) {
	sec, ok := f.secs[name]
	if !ok {
		return store.Meta{}, 0, fmt.Errorf("secret %s: %w", name, store.ErrNotFound)
	}
	return sec.Meta, sec.Value.Len(), nil
}

func (f *fakeStore) Add(sec store.Secret, _ ...store.AddOptions) (store.Meta, error) {
	n := &store.Secret{Meta: store.Meta{Name: sec.Name, Type: sec.Type}}
	if err := (store.Edit{Value: sec.Value, SetValue: true}).Apply(n); err != nil {
		return store.Meta{}, err
	}
	f.secs[sec.Name] = n
	return n.Meta, nil
}

func (f *fakeStore) Edit(name string, e store.Edit) (store.Meta, error) {
	sec, ok := f.secs[name]
	if !ok {
		return store.Meta{}, store.ErrNotFound
	}
	cp := *sec
	if err := e.Apply(&cp); err != nil {
		return store.Meta{}, err
	}
	*sec = cp
	return sec.Meta, nil
}

func (f *fakeStore) Record(rs ...audit.Record) error {
	f.records = append(f.records, rs...)
	return nil
}

// fakeProvider answers from values; slow makes each fetch wait for its
// context; down answers ErrUnavailable.
type fakeProvider struct {
	values map[string]string
	slow   bool
	down   bool
	calls  int
	creds  provider.Creds
	token  string
	closed int
}

// Close is what a provider in another process has: the run ends it.
func (p *fakeProvider) Close() error {
	p.closed++
	return nil
}

func (p *fakeProvider) Fetch(ctx context.Context, src provider.Source) (provider.Result, error) {
	p.calls++
	tok, err := p.creds.Secret(ctx, "FAKE_TOKEN")
	if err != nil {
		return provider.Result{}, err
	}
	if string(tok) != p.token {
		return provider.Result{}, fmt.Errorf("fake: %w", provider.ErrAuth)
	}
	if p.slow {
		<-ctx.Done()
		return provider.Result{}, ctx.Err()
	}
	if p.down {
		return provider.Result{}, fmt.Errorf("fake: %w", provider.ErrUnavailable)
	}
	v, ok := p.values[src.Location+"#"+src.Key+"@"+src.Version]
	if !ok {
		return provider.Result{}, fmt.Errorf("fake %s: %w", src.Location, provider.ErrNotFound)
	}
	return provider.Result{Value: []byte(v), Version: "3", Detail: "fake " + src.Location + " v3"}, nil
}

func setup(t *testing.T, toml string) (*fakeStore, *fakeProvider, Options) {
	t.Helper()
	m, err := manifest.Parse("wsx.toml", []byte(toml))
	if err != nil {
		t.Fatal(err)
	}
	st := newFakeStore()
	st.secs["FAKE_TOKEN"] = &store.Secret{Meta: store.Meta{Name: "FAKE_TOKEN", Type: store.TypeToken}, Value: store.NewValue([]byte("good-token"))}
	p := &fakeProvider{values: map[string]string{"secret/app#db_url@": "postgres://new", "secret/app#db_url@2": "postgres://v2", "secret/app#bad@": "line1\nline2", "secret/app#nul@": "a\x00b"}, token: "good-token"}
	o := Options{
		Manifest: m, Via: audit.ViaCLI, Home: t.TempDir(), All: true,
		Openers: map[string]provider.Opener{"vault": func(_ provider.Settings, c provider.Creds) (provider.Provider, error) {
			p.creds = c
			return p, nil
		}},
		Sleep: func(context.Context, time.Duration) error { return nil },
	}
	return st, p, o
}

const base = `
[provider.vault]
address = "http://127.0.0.1:1"
retries = 2
timeout = "2s"

[[secret]]
name = "DATABASE_URL"
source = "vault://secret/app#db_url"
`

func TestFetchStoresAndKeepsPrevious(t *testing.T) {
	st, p, o := setup(t, base)
	st.secs["DATABASE_URL"] = &store.Secret{Meta: store.Meta{Name: "DATABASE_URL", Type: store.TypeToken}, Value: store.NewValue([]byte("postgres://old"))}
	res, err := Run(context.Background(), st, o)
	if err != nil || len(res) != 1 || res[0].Status != StatusFetched {
		t.Fatalf("%+v %v", res, err)
	}
	sec := st.secs["DATABASE_URL"]
	if string(sec.Value.Bytes()) != "postgres://new" || string(sec.PreviousValue.Bytes()) != "postgres://old" {
		t.Fatalf("value %q previous %q", sec.Value.Bytes(), sec.PreviousValue.Bytes())
	}
	if len(st.records) != 1 || st.records[0].Event != audit.EventFetched || st.records[0].Detail != "fake secret/app v3" || st.records[0].Result != audit.ResultOK {
		t.Fatalf("records %+v", st.records)
	}
	if got := st.records[0].String(); !strings.HasSuffix(got, "Secret fetched: DATABASE_URL (fake secret/app v3)") {
		t.Errorf("line %q", got)
	}
	if len(st.used) != 1 || st.used[0] != "FAKE_TOKEN fetch vault secret/app" {
		t.Errorf("credential uses %v", st.used)
	}
	if c := Credentials(o.Home); len(c) != 1 || c[0] != "FAKE_TOKEN" {
		t.Errorf("credentials kept: %v", c)
	}
	if p.closed != 1 {
		t.Errorf("provider closed %d times by the run, want 1", p.closed)
	}
	// Again: unchanged, nothing written.
	res, err = Run(context.Background(), st, o)
	if err != nil || res[0].Status != StatusUnchanged {
		t.Fatalf("%+v %v", res, err)
	}
	// A new value while the last is still kept: the older previous goes.
	o.Manifest.Secrets[0].Source = "vault://secret/app?version=2#db_url"
	res, err = Run(context.Background(), st, o)
	if err != nil || res[0].Status != StatusFetched {
		t.Fatalf("%+v %v", res, err)
	}
	if string(sec.Value.Bytes()) != "postgres://v2" || string(sec.PreviousValue.Bytes()) != "postgres://new" {
		t.Fatalf("value %q previous %q", sec.Value.Bytes(), sec.PreviousValue.Bytes())
	}
}

func TestFetchErrors(t *testing.T) {
	for _, tc := range []struct {
		name, key string
		setup     func(*fakeStore, *fakeProvider)
		want      error
	}{
		{"missing", "nope", nil, provider.ErrNotFound},
		{"bad credentials", "db_url", func(_ *fakeStore, p *fakeProvider) { p.token = "other" }, provider.ErrAuth},
		{"no credential secret", "db_url", func(s *fakeStore, _ *fakeProvider) { delete(s.secs, "FAKE_TOKEN") }, store.ErrNotFound},
		{"newline", "bad", nil, store.ErrInvalidValue},
		{"NUL", "nul", nil, store.ErrInvalidValue},
		{"down, nothing stored", "db_url", func(_ *fakeStore, p *fakeProvider) { p.down = true }, provider.ErrUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, p, o := setup(t, strings.Replace(base, "#db_url", "#"+tc.key, 1))
			if tc.setup != nil {
				tc.setup(st, p)
			}
			res, err := Run(context.Background(), st, o)
			if !errors.Is(err, tc.want) || res[0].Status != StatusFailed {
				t.Fatalf("got %+v, %v; want %v", res, err, tc.want)
			}
			if !strings.Contains(err.Error(), "DATABASE_URL") {
				t.Errorf("error does not name the secret: %v", err)
			}
			if _, ok := st.secs["DATABASE_URL"]; ok {
				t.Error("a value was stored")
			}
			last := st.records[len(st.records)-1]
			if last.Event != audit.EventFetched || last.Result != audit.ResultError {
				t.Errorf("failure not recorded: %+v", last)
			}
			if strings.Contains(err.Error(), "line1") || strings.Contains(last.Detail, "line1") {
				t.Errorf("value in error or record")
			}
		})
	}
}

func TestDownUsesCachedUnlessRequiredFresh(t *testing.T) {
	for _, fresh := range []bool{false, true} {
		toml := base
		if fresh {
			toml += "required_fresh = true\n"
		}
		st, p, o := setup(t, toml)
		st.secs["DATABASE_URL"] = &store.Secret{Meta: store.Meta{Name: "DATABASE_URL", Type: store.TypeToken}, Value: store.NewValue([]byte("postgres://old"))}
		p.down = true
		var warned string
		o.Warn = func(f string, a ...any) { warned = fmt.Sprintf(f, a...) }
		res, err := Run(context.Background(), st, o)
		if p.calls != 3 {
			t.Errorf("fresh=%v: %d tries, want 1 + 2 retries", fresh, p.calls)
		}
		if fresh {
			if !errors.Is(err, provider.ErrUnavailable) || res[0].Status != StatusFailed || !strings.Contains(err.Error(), "required_fresh") {
				t.Errorf("required_fresh: %+v %v", res, err)
			}
			continue
		}
		if err != nil || res[0].Status != StatusCached || !strings.Contains(warned, "DATABASE_URL: vault secret/app is unreachable") {
			t.Errorf("cached: %+v %v %q", res, err, warned)
		}
	}
}

// TestSlowProviderTimesOut: a provider that never answers is cut at the
// table's timeout, each try, and the whole fetch ends after the retries.
func TestSlowProviderTimesOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st, p, o := setup(t, base)
		p.slow = true
		o.Sleep = nil // real timers, in the bubble
		start := time.Now()
		_, err := Run(context.Background(), st, o)
		took := time.Since(start)
		if !errors.Is(err, provider.ErrUnavailable) {
			t.Fatalf("err %v", err)
		}
		// 3 tries of 2s, and waits of 250ms and 500ms.
		if took != 6*time.Second+750*time.Millisecond {
			t.Errorf("took %v", took)
		}
	})
}

func TestStale(t *testing.T) {
	st, _, o := setup(t, base+`ttl = "1h"`+"\n")
	now := time.Date(2026, 12, 4, 3, 0, 0, 0, time.UTC)
	o.Now = func() time.Time { return now }
	if !Stale(o.Manifest, o.Home, nil, nil, now) {
		t.Fatal("a missing value is not stale")
	}
	if _, err := Run(context.Background(), st, o); err != nil {
		t.Fatal(err)
	}
	have := []string{"DATABASE_URL", "FAKE_TOKEN"}
	if Stale(o.Manifest, o.Home, have, nil, now.Add(59*time.Minute)) {
		t.Error("stale before its ttl")
	}
	if !Stale(o.Manifest, o.Home, have, nil, now.Add(time.Hour)) {
		t.Error("fresh after its ttl")
	}
	o.All = false
	o.Now = func() time.Time { return now.Add(time.Minute) }
	res, err := Run(context.Background(), st, o)
	if err != nil || res[0].Status != StatusFresh {
		t.Errorf("%+v %v", res, err)
	}
}

// TestOptionalWarn: with OptionalWarn, a secret that is not required
// fails with a warning, and the required one's failure is the error.
func TestOptionalWarn(t *testing.T) {
	st, _, o := setup(t, base+`
[[secret]]
name = "EXTRA"
source = "vault://secret/app#nope"
required = false
`)
	o.OptionalWarn = true
	var warned []string
	o.Warn = func(f string, a ...any) { warned = append(warned, fmt.Sprintf(f, a...)) }
	res, err := Run(context.Background(), st, o)
	if err != nil || res[1].Status != StatusFailed || len(warned) != 1 || !strings.Contains(warned[0], "EXTRA") {
		t.Fatalf("%+v %v %q", res, err, warned)
	}
	o.OptionalWarn = false
	if _, err := Run(context.Background(), st, o); !errors.Is(err, provider.ErrNotFound) {
		t.Fatalf("without OptionalWarn: %v", err)
	}
}
