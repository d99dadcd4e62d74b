package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/wsxdev/wsx/store"
)

func TestScanFindsValuesInTheDaemon(t *testing.T) {
	st := newTestStore(t)
	const cur, old = "current-value-5a4b3c2d1e", "previous-value-9f8e7d6c5b"
	for name, v := range map[string]string{"API_TOKEN": old, "OTHER": "another-value-0123456789"} {
		if _, err := st.Add(store.Secret{Meta: store.Meta{Name: name, Type: store.TypeToken}, Value: store.NewValue([]byte(v))}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.Edit("API_TOKEN", store.Edit{Value: store.NewValue([]byte(cur)), Rotate: true}); err != nil {
		t.Fatal(err)
	}
	d, c := startDaemon(t, st, nil)

	// A buffer longer than one request, the value across the boundary
	// of its first piece; a short one with both values; a clean one.
	big := bytes.Repeat([]byte("x"), scanRequestBytes+100)
	at := scanRequestBytes - 10
	copy(big[at:], cur)
	bufs := [][]byte{big, []byte("a " + cur + " b " + old), []byte("nothing here")}
	got, err := c.ScanMatcher().Find(bufs)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || len(got[0]) != 1 || len(got[1]) != 2 || len(got[2]) != 0 {
		t.Fatalf("matches %+v", got)
	}
	if m := got[0][0]; m.Start != at || m.End != at+len(cur) || m.Secret != "API_TOKEN" || m.Previous {
		t.Errorf("across pieces: %+v", m)
	}
	if m := got[1][1]; m.Secret != "API_TOKEN" || !m.Previous || m.Start != 2+len(cur)+3 {
		t.Errorf("previous value: %+v", m)
	}

	// What goes over the socket names and places values, never holds one.
	var raw json.RawMessage
	if err := c.do(context.Background(), http.MethodPost, "/v1/scan", scanRequest{Buffers: bufs[1:]}, &raw); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), cur) || strings.Contains(string(raw), old) || !strings.Contains(string(raw), `"secret":"API_TOKEN"`) {
		t.Fatalf("answer %s", raw)
	}

	// A secret added through the API is looked for at once.
	const added = "added-value-77aa88bb99cc"
	if _, err := c.Add(store.Secret{Meta: store.Meta{Name: "ADDED", Type: store.TypeToken}, Value: store.NewValue([]byte(added))}); err != nil {
		t.Fatal(err)
	}
	got, err = c.ScanMatcher().Find([][]byte{[]byte(added)})
	if err != nil || len(got[0]) != 1 || got[0][0].Secret != "ADDED" {
		t.Fatalf("after an add: %+v, %v", got, err)
	}

	if err := d.Lock("test"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ScanMatcher().Find(bufs[1:2]); !errors.Is(err, store.ErrLocked) {
		t.Fatalf("locked daemon: %v, want store.ErrLocked", err)
	}
	d.mu.RLock()
	kept := d.scanM
	d.mu.RUnlock()
	if kept != nil {
		t.Fatal("the values' matcher outlives the lock")
	}
}

// BenchmarkScanRequest is one POST /v1/scan of a small file against a
// store of 100 secrets: the cost of `wsx scan --staged` in the agent.
func BenchmarkScanRequest(b *testing.B) {
	st := newTestStore(b)
	for i := range 100 {
		name := "TOKEN_" + strings.Repeat("X", i%3) + string(rune('A'+i%26)) + string(rune('A'+i/26))
		if _, err := st.Add(store.Secret{Meta: store.Meta{Name: name, Type: store.TypeToken},
			Value: store.NewValue([]byte("value-" + name + "-0123456789abcdef"))}); err != nil {
			b.Fatal(err)
		}
	}
	_, c := startDaemon(b, st, func(o *Options) { o.Logf = nil })
	m := c.ScanMatcher()
	buf := [][]byte{[]byte("package main\n\nfunc main() { println(\"hello\") }\n")}
	for b.Loop() {
		if _, err := m.Find(buf); err != nil {
			b.Fatal(err)
		}
	}
}
