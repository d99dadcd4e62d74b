package proxy

import (
	"bufio"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsxdev/wsx/internal/mask"
)

// echoForms are forms of testValue a host may send back, each of which
// the masker knows.
var echoForms = map[string]string{
	"raw":    testValue,
	"base64": base64.StdEncoding.EncodeToString([]byte(testValue)),
	"hex":    hex.EncodeToString([]byte(testValue)),
}

// A value the host sends back split in two at any point, each part in
// its own write (and TLS record), still never reaches the command: at
// most the MaxShown bytes a pause lets out before the value is decided.
func TestEchoSplitMasked(t *testing.T) {
	for name, form := range echoForms {
		for _, length := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/length=%v", name, length), func(t *testing.T) {
				var want strings.Builder
				size := 0
				for i := 1; i < len(form); i++ {
					fmt.Fprintf(&want, "%d|***|\n", i)
					size += len(strconv.Itoa(i)) + len(form) + 3
				}
				r := newRig(t, func(w http.ResponseWriter, r *http.Request) {
					if length {
						w.Header().Set("Content-Length", strconv.Itoa(size))
					}
					f := w.(http.Flusher)
					for i := 1; i < len(form); i++ {
						fmt.Fprintf(w, "%d|%s", i, form[:i])
						f.Flush()
						fmt.Fprintf(w, "%s|\n", form[i:])
						f.Flush()
					}
				}, nil)
				req, _ := http.NewRequest("GET", r.up.URL+"/", nil)
				req.Header.Set("Authorization", "Bearer "+r.ph)
				code, body := get(t, r.client, req)
				if code != 200 {
					t.Fatalf("status %d", code)
				}
				checkMasked(t, body, want.String(), form)
			})
		}
	}
}

// checkMasked compares got with want, where each *** of want stands for
// a masked form; a line of got may show up to mask.MaxShown bytes of the
// form before it (sent on a pause), never more.
func checkMasked(t *testing.T, got, want, form string) {
	t.Helper()
	if strings.Contains(got, form) || strings.Contains(got, testValue) {
		t.Fatalf("value in the response: %q", got)
	}
	gl, wl := strings.Split(got, "\n"), strings.Split(want, "\n")
	if len(gl) != len(wl) {
		t.Fatalf("got %d lines, want %d:\n%s", len(gl), len(wl), got)
	}
	for i := range gl {
		if gl[i] == wl[i] {
			continue
		}
		pre, post, ok := strings.Cut(wl[i], "***")
		shown, ok2 := strings.CutPrefix(gl[i], pre)
		shown, ok3 := strings.CutSuffix(shown, "***"+post)
		if !ok || !ok2 || !ok3 || len(shown) > mask.MaxShown || !strings.HasPrefix(form, shown) {
			t.Errorf("line %q, want %q", gl[i], wl[i])
		}
	}
}

// Bytes held back as the possible beginning of a value reach the command
// when the host pauses: a stream is not stuck behind the masking.
func TestPauseSendsHeldBytes(t *testing.T) {
	sent := make(chan struct{})
	r := newRig(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "data: "+testValue[:2])
		w.(http.Flusher).Flush()
		select {
		case <-sent:
		case <-time.After(5 * time.Second):
		}
		io.WriteString(w, "\n")
	}, nil)
	resp := r.get(t, "/events")
	defer resp.Body.Close()
	want := "data: " + testValue[:2]
	buf := make([]byte, len(want))
	start := time.Now()
	_, err := io.ReadFull(resp.Body, buf)
	close(sent)
	if err != nil || string(buf) != want || time.Since(start) > 4*time.Second {
		t.Errorf("read %q, %v after %v; want %q before the host goes on", buf, err, time.Since(start), want)
	}
}

// A body cut off in the middle of a value does not let its beginning
// out: the bytes held back are dropped.
func TestCutBodyDropsHeld(t *testing.T) {
	r := newRig(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(4*smallBody)) // streamed, not read whole
		io.WriteString(w, "x "+testValue[:20])
		w.(http.Flusher).Flush()
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
	}, nil)
	resp := r.get(t, "/")
	b, err := io.ReadAll(bufio.NewReader(resp.Body))
	resp.Body.Close()
	if err == nil {
		t.Error("a cut body read as whole")
	}
	if strings.Contains(string(b), testValue[:mask.MaxShown+1]) {
		t.Errorf("the beginning of a value went out: %q", b)
	}
}

// A small body of known length is read whole and masked at once: it
// keeps its length, and one cut short is answered 502 with nothing of
// it.
func TestSmallBodyWhole(t *testing.T) {
	var cut atomic.Bool
	r := newRig(t, func(w http.ResponseWriter, r *http.Request) {
		body := "token: " + testValue + "\n"
		if !cut.Load() {
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			io.WriteString(w, body)
			return
		}
		w.Header().Set("Content-Length", "1000")
		io.WriteString(w, "x "+testValue[:20])
		w.(http.Flusher).Flush()
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			conn.Close()
		}
	}, nil)
	req, _ := http.NewRequest("GET", r.up.URL+"/", nil)
	req.Header.Set("Authorization", "Bearer "+r.ph)
	resp, err := r.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || string(b) != "token: ***\n" || resp.ContentLength != int64(len(b)) || len(resp.TransferEncoding) > 0 {
		t.Errorf("got %q (%v), length %d, %v; want the value masked, with its length", b, err, resp.ContentLength, resp.TransferEncoding)
	}
	cut.Store(true)
	code, body := get(t, r.client, req)
	if code != http.StatusBadGateway || strings.Contains(body, testValue[:mask.MaxShown+1]) {
		t.Errorf("cut body: %d %q; want 502 without the value's beginning", code, body)
	}
}

// A download of several MiB, read from the host in large pieces, arrives
// whole: every byte as sent but the values, each masked, wherever the
// reads and TLS records cut it.
func TestLargeBodyIntact(t *testing.T) {
	var sent, want strings.Builder
	for i := 0; sent.Len() < 6<<20; i++ {
		line := fmt.Sprintf("%d %s\n", i, strings.Repeat("abcdefghij", i%37))
		if i%997 == 0 {
			line = fmt.Sprintf("%d %s %s\n", i, testValue, strings.Repeat("k", i%53))
			want.WriteString(fmt.Sprintf("%d *** %s\n", i, strings.Repeat("k", i%53)))
		} else {
			want.WriteString(line)
		}
		sent.WriteString(line)
	}
	for _, length := range []bool{false, true} {
		t.Run(fmt.Sprintf("length=%v", length), func(t *testing.T) {
			r := newRig(t, func(w http.ResponseWriter, r *http.Request) {
				if length {
					w.Header().Set("Content-Length", strconv.Itoa(sent.Len()))
				}
				s := sent.String()
				for len(s) > 0 {
					n := min(len(s), 70001)
					io.WriteString(w, s[:n])
					s = s[n:]
				}
			}, nil)
			req, _ := http.NewRequest("GET", r.up.URL+"/big", nil)
			req.Header.Set("Authorization", "Bearer "+r.ph)
			code, body := get(t, r.client, req)
			if code != 200 || body != want.String() {
				t.Errorf("status %d, %d bytes, want %d bytes as sent with each value masked", code, len(body), want.Len())
			}
		})
	}
}
