package credhelper

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/wsxdev/wsx/store"
)

// A damaged item does not stop git's other credentials: the helper answers
// with the secrets it can read and names the others on stderr, whatever
// made them unreadable. Only the credential stored for exactly the request
// is needed by name; when that one cannot be read, the operation fails.

var damages = []struct {
	name string
	err  error
}{
	{"integrity", fmt.Errorf("the item holds the data of A_TOKEN (swapped or renamed): %w", store.ErrIntegrity)},
	{"permissions", fmt.Errorf("item mode 0666: %w", store.ErrUnsafePermission)},
	{"backend", errors.New("read item: input/output error")},
}

const (
	getA     = "protocol=https\nhost=a.example.test\n\n"
	approveC = "protocol=https\nhost=c.example.test\nusername=me\npassword=approved-password\n\n"
)

func TestDamagedOthersIgnored(t *testing.T) {
	for _, d := range damages {
		t.Run(d.name, func(t *testing.T) {
			sec := newFakeSecrets(fixedClock,
				token("A_TOKEN", canary, "a.example.test"),
				token("B_TOKEN", "b-value", "b.example.test"))
			sec.damaged = map[string]error{"B_TOKEN": d.err}
			aud := &fakeAuditor{}

			out, errOut, err := runHelper(t, OpGet, getA, sec, aud, false)
			if err != nil {
				t.Fatalf("get: %v", err)
			}
			if !strings.Contains(out, "password="+canary+"\n") {
				t.Errorf("get: stdout %q, want A_TOKEN's value", out)
			}
			wantWarning(t, "get", errOut, "B_TOKEN")

			// What git approves for another host is saved.
			_, errOut, err = runHelper(t, OpStore, approveC, sec, aud, false)
			if err != nil {
				t.Fatalf("store: %v", err)
			}
			if len(sec.stored()) != 1 {
				t.Fatalf("store: %d credentials stored, want 1", len(sec.stored()))
			}
			wantWarning(t, "store", errOut, "B_TOKEN")

			// And git's erase of it removes it.
			_, errOut, err = runHelper(t, OpErase, approveC, sec, aud, false)
			if err != nil {
				t.Fatalf("erase: %v", err)
			}
			if len(sec.stored()) != 0 {
				t.Errorf("erase: %d credentials left, want 0", len(sec.stored()))
			}
			wantWarning(t, "erase", errOut, "B_TOKEN")
		})
	}
}

// wantWarning checks that stderr names the damaged secret with the fix,
// and says nothing of its value or of why.
func wantWarning(t *testing.T, op, stderr, name string) {
	t.Helper()
	want := "wsx: warning: " + name + " cannot be read and is left out (`wsx info " + name + "` says why): restore its item from a backup, or `wsx rm " + name + "` and add it again\n"
	if !strings.Contains(stderr, want) {
		t.Errorf("%s: stderr %q, want %q", op, stderr, want)
	}
	if strings.Contains(stderr, "b-value") {
		t.Errorf("%s: stderr holds a value", op)
	}
}

func TestDamagedStoredCredentialFails(t *testing.T) {
	for _, d := range damages {
		t.Run(d.name, func(t *testing.T) {
			sec := newFakeSecrets(fixedClock, token("B_TOKEN", "b-value", "b.example.test"))
			aud := &fakeAuditor{}
			if _, _, err := runHelper(t, OpStore, approveC, sec, aud, false); err != nil {
				t.Fatalf("store: %v", err)
			}
			stored := sec.stored()
			if len(stored) != 1 {
				t.Fatalf("%d credentials stored, want 1", len(stored))
			}
			name := stored[0].Name
			sec.damaged = map[string]error{name: d.err}
			uses := len(aud.records())

			for _, op := range []string{OpGet, OpStore, OpErase} {
				in := approveC
				if op == OpGet {
					in = "protocol=https\nhost=c.example.test\nusername=me\n\n"
				}
				out, _, err := runHelper(t, op, in, sec, aud, false)
				if err == nil {
					t.Fatalf("%s: no error while the credential it needs cannot be read", op)
				}
				if !errors.Is(err, d.err) || !strings.Contains(err.Error(), name) {
					t.Errorf("%s: error %q, want one naming %s and wrapping %v", op, err, name, d.err)
				}
				if out != "" {
					t.Errorf("%s: stdout %q, want nothing", op, out)
				}
			}
			if !sec.has(name) {
				t.Error("the damaged credential was removed")
			}
			if len(aud.records()) != uses {
				t.Errorf("records written while failing: %v", aud.records()[uses:])
			}
		})
	}
}

// A named secret left out cannot be matched (its hosts are sealed with
// it): git asks as usual, and stderr names it.
func TestDamagedNamedSecretNoAnswer(t *testing.T) {
	sec := newFakeSecrets(fixedClock, token("A_TOKEN", canary, "a.example.test"))
	sec.damaged = map[string]error{"A_TOKEN": damages[0].err}
	out, errOut, err := runHelper(t, OpGet, getA, sec, &fakeAuditor{}, false)
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if out != "" {
		t.Errorf("stdout %q, want nothing", out)
	}
	wantWarning(t, "get", errOut, "A_TOKEN")
}

// Another List failure (locked, unreadable directory) still stops the
// helper as before.
func TestListErrorStillFails(t *testing.T) {
	sec := newFakeSecrets(fixedClock, token("A_TOKEN", canary, "a.example.test"))
	sec.listErr = errors.New("list items: permission denied")
	if _, _, err := runHelper(t, OpGet, getA, sec, &fakeAuditor{}, false); err == nil {
		t.Fatal("get: no error when the store cannot be listed")
	}
}
