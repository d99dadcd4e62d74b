package localapi

import (
	"encoding/json"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wsxdev/wsx/internal/remind"
)

// serve runs h on a unix socket, as the agent's API does, and returns a
// connection to it.
func serve(t *testing.T, h http.HandlerFunc) net.Conn {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "api.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestCredential(t *testing.T) {
	due := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	big := strings.Repeat("n", 64<<10) // past net/http's buffer: no Content-Length
	for _, note := range []string{"a note\n", big} {
		c := serve(t, func(w http.ResponseWriter, r *http.Request) {
			var req CredentialRequest
			if r.Method != http.MethodPost || r.URL.Path != "/v1/credential/get" || json.NewDecoder(r.Body).Decode(&req) != nil ||
				req.Home != "/h" || string(req.Input) != "host=x\n\n" {
				http.Error(w, "bad request", http.StatusBadRequest)
				return
			}
			json.NewEncoder(w).Encode(CredentialResponse{Output: []byte("password=p\n"), Note: note,
				Remind: []remind.Secret{{Name: "T", Created: due, RotateEvery: time.Hour}}})
		})
		resp, err := Credential(c, "/h", "get", []byte("host=x\n\n"))
		if err != nil {
			t.Fatal(err)
		}
		if string(resp.Output) != "password=p\n" || resp.Note != note || len(resp.Remind) != 1 ||
			resp.Remind[0].Name != "T" || !resp.Remind[0].Created.Equal(due) || resp.Remind[0].RotateEvery != time.Hour {
			t.Errorf("Credential answered %+v", resp)
		}
	}
}

// Any answer but a credential one is an error, for the caller to hand
// the request over.
func TestCredentialRefused(t *testing.T) {
	for _, h := range []http.HandlerFunc{
		func(w http.ResponseWriter, r *http.Request) { http.Error(w, `{"error":"locked"}`, http.StatusLocked) },
		func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("{not json")) },
		func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "100")
			w.Write([]byte(`{}`))
			panic(http.ErrAbortHandler) // cut short
		},
	} {
		if resp, err := Credential(serve(t, h), "/h", "get", []byte("host=x\n\n")); err == nil {
			t.Errorf("Credential answered %+v, want an error", resp)
		}
	}
}
