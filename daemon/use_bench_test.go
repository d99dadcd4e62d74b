package daemon

import (
	"context"
	"fmt"
	"testing"

	"github.com/wsxdev/wsx/audit"
	"github.com/wsxdev/wsx/internal/release"
	"github.com/wsxdev/wsx/store"
)

// BenchmarkUse is what `wsx exec` asks the agent for 20 secrets: the list,
// then one use of them all (20 records).
func BenchmarkUse(b *testing.B) {
	st := newTestStore(b)
	_, c := startDaemon(b, st, nil)
	names := make([]string, 20)
	for i := range names {
		names[i] = fmt.Sprintf("TOKEN_%d", i)
		sec := store.Secret{Meta: store.Meta{Name: names[i], Type: store.TypeToken}, Value: store.NewValue(fmt.Appendf(nil, "value-%d-abcdefghijkl", i))}
		if _, err := c.Add(sec); err != nil {
			b.Fatal(err)
		}
	}
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.List(); err != nil {
			b.Fatal(err)
		}
		if _, err := c.Use(ctx, names, release.Record{Via: audit.ViaExec, Context: audit.Context{Command: "true"}}); err != nil {
			b.Fatal(err)
		}
	}
}
