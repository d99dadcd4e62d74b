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
	if _, err := st.Rotate("API_TOKEN", store.NewValue([]byte(cur))); err != nil {
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

	if err := d.Lock("test"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ScanMatcher().Find(bufs[1:2]); !errors.Is(err, store.ErrLocked) {
		t.Fatalf("locked daemon: %v, want store.ErrLocked", err)
	}
}
