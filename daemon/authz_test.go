package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wsxdev/wsx/audit"
	"github.com/wsxdev/wsx/internal/access"
	"github.com/wsxdev/wsx/sshagent"
	"github.com/wsxdev/wsx/store"
)

const guestUID = 4242

// asGuest sends one API request as a process of guestUID (its identity
// from a fake /proc), through the daemon's routes, and returns the status
// and the body.
func asGuest(t *testing.T, d *Daemon, method, path string, body any) (int, string) {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req := httptest.NewRequest(method, "http://wsx"+path, rd)
	peer := sshagent.Peer{UID: guestUID, PID: os.Getpid()}
	req = req.WithContext(context.WithValue(req.Context(), peerKey{}, peer))
	rec := httptest.NewRecorder()
	d.apiServer().Handler.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

// grantGuest makes the grants file hold role for guestUID, sealed as the
// daemon reads it.
func grantGuest(t *testing.T, d *Daemon, role string) {
	t.Helper()
	d.mu.RLock()
	defer d.mu.RUnlock()
	if _, err := d.grants.Update(d.grantsKey, func(gs access.Grants) (access.Grants, error) {
		gs = gs.Without(access.User, guestUID)
		if role == "" {
			return gs, nil
		}
		return gs.Set(access.Grant{Kind: access.User, ID: guestUID, Name: "guest", Role: role})
	}); err != nil {
		t.Fatal(err)
	}
}

// SECURITY.md 58, through the daemon's routes: view lists, edit uses
// (recorded under the guest with its role), neither writes; a revoked
// grant refuses the next request; a locked workspace sends guests to the
// owner.
func TestGuestRoles(t *testing.T) {
	st := newTestStore(t)
	d, _ := startDaemon(t, st, nil)
	d.checker.Identify = func(pid, uid int) (access.Identity, error) {
		if pid != os.Getpid() || uid != guestUID {
			return access.Identity{}, errors.New("no such process")
		}
		return access.Identity{UID: guestUID, GIDs: []int{guestUID}}, nil
	}
	const value = "tok-0123456789abcdef"
	if _, err := st.Add(store.Secret{Meta: store.Meta{Name: "API_TOKEN", Type: store.TypeToken}, Value: store.NewValue([]byte(value))}); err != nil {
		t.Fatal(err)
	}
	use := useRequest{Names: []string{"API_TOKEN"}, Via: audit.ViaExec}
	add := addRequest{Secret: encodeSecret(store.Secret{Meta: store.Meta{Name: "NEW", Type: store.TypeToken}, Value: store.NewValue([]byte("x-0123456789"))})}

	// No grant: nothing, not even the status.
	if code, _ := asGuest(t, d, "GET", "/v1/status", nil); code != http.StatusForbidden {
		t.Fatalf("ungranted status: %d", code)
	}

	grantGuest(t, d, "view")
	if code, body := asGuest(t, d, "GET", "/v1/secrets", nil); code != http.StatusOK || !strings.Contains(body, "API_TOKEN") {
		t.Fatalf("view list: %d %s", code, body)
	}
	for _, req := range []struct {
		method, path string
		body         any
	}{
		{"POST", "/v1/use", use},
		{"POST", "/v1/secrets", add},
		{"DELETE", "/v1/secrets/API_TOKEN", nil},
		{"POST", "/v1/lock", nil},
		{"POST", "/v1/grants", access.Request{Subject: "root", Role: "view"}},
	} {
		code, body := asGuest(t, d, req.method, req.path, req.body)
		if code != http.StatusForbidden || strings.Contains(body, value) {
			t.Errorf("view %s %s: %d %s", req.method, req.path, code, body)
		}
	}

	grantGuest(t, d, "edit")
	code, body := asGuest(t, d, "POST", "/v1/use", use)
	if code != http.StatusOK {
		t.Fatalf("edit use: %d %s", code, body)
	}
	r := lastRecord(t, st, filepath.Join(st.Home(), "audit.log"))
	if r.Event != audit.EventUsed || r.Actor.UID != guestUID || r.Actor.Role != "edit" {
		t.Fatalf("the use is recorded as %s by %+v", r.Event, r.Actor)
	}
	for _, path := range []string{"/v1/secrets", "/v1/lock", "/v1/unlock"} {
		if code, _ := asGuest(t, d, "POST", path, add); code != http.StatusForbidden {
			t.Errorf("edit POST %s: %d", path, code)
		}
	}
	// Its records: where it read a secret, yes; a change it cannot make,
	// or a passphrase change, no.
	accessed := audit.Record{Event: audit.EventAccessed, Secret: "API_TOKEN", Via: audit.ViaExec, Result: audit.ResultOK}
	if code, body := asGuest(t, d, "POST", "/v1/audit", auditRequest{Records: []audit.Record{accessed}}); code != http.StatusNoContent {
		t.Fatalf("edit records an access: %d %s", code, body)
	}
	for _, ev := range []audit.Event{audit.EventDeleted, audit.EventPassphrase} {
		rec := audit.Record{Event: ev, Secret: "API_TOKEN", Via: audit.ViaCLI, Result: audit.ResultOK}
		if code, _ := asGuest(t, d, "POST", "/v1/audit", auditRequest{Records: []audit.Record{accessed, rec}}); code != http.StatusForbidden {
			t.Errorf("edit records %s: %d", ev, code)
		}
	}

	grantGuest(t, d, "admin")
	if code, body := asGuest(t, d, "POST", "/v1/secrets", add); code != http.StatusCreated {
		t.Fatalf("admin add: %d %s", code, body)
	}
	if code, _ := asGuest(t, d, "POST", "/v1/grants", access.Request{Subject: "nobody", Role: "admin"}); code != http.StatusForbidden {
		t.Errorf("admin shares admin: %d", code)
	}

	// Revoked: the next request is refused, and recorded.
	grantGuest(t, d, "")
	if code, _ := asGuest(t, d, "GET", "/v1/secrets", nil); code != http.StatusForbidden {
		t.Fatalf("revoked: %d", code)
	}
	if r := lastRecord(t, st, filepath.Join(st.Home(), "audit.log")); r.Event != audit.EventDenied || r.Actor.UID != guestUID {
		t.Fatalf("refusal recorded as %s by uid %d", r.Event, r.Actor.UID)
	}

	// Locked: the guest is told to ask the owner (exit 4 on its side).
	grantGuest(t, d, "edit")
	if err := d.Lock("test"); err != nil {
		t.Fatal(err)
	}
	code, body = asGuest(t, d, "GET", "/v1/secrets", nil)
	if code != http.StatusLocked || !strings.Contains(body, `"guest_locked"`) {
		t.Fatalf("locked: %d %s", code, body)
	}
	re := &RemoteError{Kind: "guest_locked"}
	if !errors.Is(re, store.ErrLocked) || !errors.Is(re, access.ErrGuestLocked) {
		t.Fatal("guest_locked is not a locked error on the client's side")
	}
	if code, _ := asGuest(t, d, "POST", "/v1/unlock", unlockRequest{Passphrase: testPassphrase}); code != http.StatusForbidden {
		t.Fatalf("a guest unlocked: %d", code)
	}
	if !d.Locked() {
		t.Fatal("the workspace is unlocked")
	}
}

// Grants made through the API are sealed in the store and audited as
// `Access granted` / `Access revoked`.
func TestShareThroughAPI(t *testing.T) {
	st := newTestStore(t)
	_, c := startDaemon(t, st, nil)
	g, err := c.Share("nobody", "edit")
	if err != nil {
		t.Fatal(err)
	}
	if g.Name != "nobody" || g.Role != "edit" || g.ID != 65534 {
		t.Fatalf("grant %+v", g)
	}
	gs, err := c.Grants()
	if err != nil || len(gs) != 1 {
		t.Fatalf("grants %v, %v", gs, err)
	}
	r := lastRecord(t, st, filepath.Join(st.Home(), "audit.log"))
	if r.String() != r.Time.Format(audit.TimeLayout)+" - Access granted: nobody edit" {
		t.Fatalf("record %q", r.String())
	}
	if _, err := c.Share("nobody", "owner"); !errors.Is(err, access.ErrInvalidGrant) {
		t.Fatalf("role owner: %v", err)
	}
	if _, err := c.Share(fmt.Sprint("no-such-user-", os.Getpid()), "view"); !errors.Is(err, access.ErrInvalidGrant) {
		t.Fatalf("unknown user: %v", err)
	}
	if _, err := c.Unshare("nobody"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Unshare("nobody"); !errors.Is(err, access.ErrNotGranted) {
		t.Fatalf("unshare twice: %v", err)
	}
	r = lastRecord(t, st, filepath.Join(st.Home(), "audit.log"))
	if !strings.HasSuffix(r.String(), "Access revoked: nobody edit") {
		t.Fatalf("record %q", r.String())
	}
	data, err := os.ReadFile(filepath.Join(st.Home(), access.FileName))
	if err != nil || bytes.Contains(data, []byte("nobody")) {
		t.Fatalf("grants file: %v, clear text %v", err, bytes.Contains(data, []byte("nobody")))
	}
}
