package daemon

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wsxdev/wsx/audit"
	"github.com/wsxdev/wsx/internal/access"
	"github.com/wsxdev/wsx/sshagent"
	"github.com/wsxdev/wsx/store"
)

// TestServeUI: the page lives as long as the request for it, lists the
// store's secrets, unlocks a locked store with the agent's unlock (a
// wrong passphrase noted via ui), and stops when the client hangs up.
func TestServeUI(t *testing.T) {
	st := newTestStore(t)
	if _, err := st.Add(store.Secret{Meta: store.Meta{Name: "GITHUB_TOKEN", Type: store.TypeToken},
		Value: store.NewValue([]byte("daemon-ui-canary-value"))}); err != nil {
		t.Fatal(err)
	}
	d, c := startDaemon(t, st, nil)
	if err := d.Lock("test"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	urls := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		_, err := c.ServeUI(ctx, UIOptions{Dir: t.TempDir()}, func(u string) error { urls <- u; return nil })
		done <- err
	}()
	var u string
	select {
	case u = <-urls:
	case err := <-done:
		t.Fatalf("ServeUI: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("no URL")
	}
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 20 * time.Second}
	get := func(path string) (int, string) {
		resp, err := hc.Get(path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	base := u[:strings.Index(u, "/login")]
	code, body := get(u)
	if code != 200 || !strings.Contains(body, `id="unlock"`) {
		t.Fatalf("locked store: %d %s", code, body)
	}
	csrf := body[strings.Index(body, `name="csrf" value="`)+19:]
	csrf = csrf[:strings.Index(csrf, `"`)]
	post := func(pass string) int {
		req, _ := http.NewRequest("POST", base+"/unlock", strings.NewReader("csrf="+csrf+"&passphrase="+pass))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", base)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("wrong"); code != http.StatusUnauthorized {
		t.Fatalf("wrong passphrase: %d", code)
	}
	if code := post(string(testPassphrase)); code != 200 || d.Locked() {
		t.Fatalf("right passphrase: %d, locked %v", code, d.Locked())
	}
	if code, body := get(base + "/"); code != 200 || !strings.Contains(body, "GITHUB_TOKEN") || strings.Contains(body, "daemon-ui-canary-value") {
		t.Fatalf("list: %d %s", code, body)
	}
	if code, body := get(base + "/audit"); code != 200 || !strings.Contains(body, "wrong passphrase(s)") || !strings.Contains(body, "<td>ui</td>") {
		t.Fatalf("audit: the failed unlock is not recorded via ui: %s", body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("ServeUI after cancel: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := http.Get(base + "/"); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the page still answers after the client hung up")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The settings page unlocks, writes and shares admin: an admin guest is
// refused it, and the refusal is recorded.
func TestServeUIOwnerOnly(t *testing.T) {
	st := newTestStore(t)
	d, _ := startDaemon(t, st, nil)
	d.checker.Identify = func(pid, uid int) (access.Identity, error) {
		return access.Identity{UID: guestUID, GIDs: []int{guestUID}}, nil
	}
	grantGuest(t, d, "admin")
	code, body := asGuest(t, d, "POST", "/v1/ui", uiRequest{Dir: t.TempDir(), Idle: time.Second})
	if code != http.StatusForbidden || strings.Contains(body, "token=") {
		t.Fatalf("admin guest asked for the page: %d %s", code, body)
	}
	if r := lastRecord(t, st, filepath.Join(st.Home(), "audit.log")); r.Event != audit.EventDenied || r.Actor.UID != guestUID {
		t.Fatalf("refusal recorded as %s by uid %d", r.Event, r.Actor.UID)
	}
}

// The page's grants are the agent's: a share and a revoke from the page
// change what the API lists, are recorded as `wsx share`'s are, via ui,
// and go through the checker, which gives an admin no admin grant.
func TestUIShare(t *testing.T) {
	st := newTestStore(t)
	d, c := startDaemon(t, st, nil)
	owner := &uiBackend{d: d, peer: sshagent.Peer{UID: os.Getuid(), PID: os.Getpid()}}
	if _, err := owner.Share(access.Request{Subject: "nobody", Role: "edit"}); err != nil {
		t.Fatal(err)
	}
	gs, err := c.Grants()
	if err != nil || len(gs) != 1 || gs[0].Name != "nobody" || gs[0].Role != "edit" {
		t.Fatalf("grants after the page shared: %v, %v", gs, err)
	}
	log := filepath.Join(st.Home(), "audit.log")
	r := lastRecord(t, st, log)
	if r.Event != audit.EventGranted || r.Via != audit.ViaUI || r.Detail != "nobody edit" || r.Actor.UID != os.Getuid() || r.Process == nil || r.Process.PID != os.Getpid() {
		t.Fatalf("share recorded as %+v", r)
	}
	if _, err := owner.Share(access.Request{Subject: "nobody", Revoke: true}); err != nil {
		t.Fatal(err)
	}
	if gs, err := c.Grants(); err != nil || len(gs) != 0 {
		t.Fatalf("grants after the page revoked: %v, %v", gs, err)
	}
	if r := lastRecord(t, st, log); r.Event != audit.EventRevoked || r.Via != audit.ViaUI || r.Detail != "nobody edit" {
		t.Fatalf("revoke recorded as %+v", r)
	}

	d.checker.Identify = func(pid, uid int) (access.Identity, error) {
		return access.Identity{UID: guestUID, GIDs: []int{guestUID}}, nil
	}
	grantGuest(t, d, "admin")
	admin := &uiBackend{d: d, peer: sshagent.Peer{UID: guestUID, PID: os.Getpid()}}
	if _, err := admin.Share(access.Request{Subject: "nobody", Role: "admin"}); !errors.Is(err, access.ErrDenied) {
		t.Fatalf("an admin's page shared admin: %v", err)
	}
	grantGuest(t, d, "")
	if _, err := admin.Share(access.Request{Subject: "nobody", Role: "view"}); !errors.Is(err, access.ErrDenied) {
		t.Fatalf("a revoked guest's page shared: %v", err)
	}
	if r := lastRecord(t, st, log); r.Event != audit.EventDenied || r.Via != audit.ViaUI || r.Actor.UID != guestUID {
		t.Fatalf("refusal recorded as %+v", r)
	}
}
