package daemon

import (
	"context"
	"testing"

	"github.com/wsxdev/wsx/audit"
	"github.com/wsxdev/wsx/internal/release"
	"github.com/wsxdev/wsx/store"
)

// BenchmarkUseRequest times one use of one secret through the API, as
// the exec proxy makes for each request that carries a placeholder.
func BenchmarkUseRequest(b *testing.B) {
	st := newTestStore(b)
	if _, err := st.Add(store.Secret{Meta: store.Meta{Name: "API_TOKEN", Type: store.TypeToken},
		Value: store.NewValue([]byte("value-0123456789abcdef"))}); err != nil {
		b.Fatal(err)
	}
	_, c := startDaemon(b, st, func(o *Options) { o.Logf = nil })
	rec := release.Record{Via: audit.ViaProxy, Context: audit.Context{Command: "proxy: api.example.com GET /user, by curl", Host: "api.example.com"}}
	for b.Loop() {
		if _, err := c.Use(context.Background(), []string{"API_TOKEN"}, rec); err != nil {
			b.Fatal(err)
		}
	}
}
