package daemon

import (
	"context"
	"errors"
	"testing"

	"github.com/wsxdev/wsx/internal/release"
	"github.com/wsxdev/wsx/store"
)

// A client that names its store on every request (NewClientFor) is told
// ErrNoDaemon by an agent serving another store, and nothing is released;
// one naming this store is served.
func TestHomeHeader(t *testing.T) {
	st := newTestStore(t)
	d, c := startDaemon(t, st, nil)
	tok := store.Secret{Meta: store.Meta{Name: "API_TOKEN", Type: store.TypeToken}, Value: store.NewValue([]byte("tok-0123456789"))}
	if _, err := c.Add(tok); err != nil {
		t.Fatal(err)
	}
	other := NewClientFor(d.APISocket(), t.TempDir())
	defer other.Close()
	if _, err := other.List(); !errors.Is(err, ErrNoDaemon) {
		t.Errorf("List for another store: %v, want ErrNoDaemon", err)
	}
	secs, err := other.Use(context.Background(), []string{"API_TOKEN"}, release.Record{})
	if !errors.Is(err, ErrNoDaemon) || len(secs) != 0 {
		t.Errorf("Use for another store: %d values, %v; want none, ErrNoDaemon", len(secs), err)
	}
	same := NewClientFor(d.APISocket(), st.Home()+"/")
	defer same.Close()
	if metas, err := same.List(); err != nil || len(metas) != 1 {
		t.Errorf("List for this store: %v, %v", metas, err)
	}
}
