package credhelper

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wsxdev/wsx/audit"
	"github.com/wsxdev/wsx/internal/release"
	"github.com/wsxdev/wsx/store"
)

// realSecrets is a real store and its audit log, as a command that opens
// the store itself gives them to the helper.
type realSecrets struct {
	*store.Store
	rel *release.Store
}

func (r realSecrets) Use(ctx context.Context, names []string, rec release.Record) ([]store.Secret, error) {
	return r.rel.Use(ctx, names, rec)
}

func (r realSecrets) Record(rs ...audit.Record) error { return r.rel.Record(rs...) }

// runReal runs one operation over a real store and checks that the canary
// appears neither on stderr nor in the error.
func runReal(t *testing.T, st realSecrets, op, in string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = Run(context.Background(), op, Options{
		Stdin:   strings.NewReader(in),
		Stdout:  &out,
		Stderr:  &errOut,
		Secrets: st,
	})
	if strings.Contains(errOut.String(), canary) || (err != nil && strings.Contains(err.Error(), canary)) {
		t.Errorf("%s: stderr or error holds the canary value", op)
	}
	return out.String(), errOut.String(), err
}

// TestRealStore runs the helper over a real store rather than the fake, so
// that what the helper writes (a stored credential's Hosts entry is a URL)
// and what it matches (URL Hosts entries of named secrets) is what the
// store accepts.
func TestRealStore(t *testing.T) {
	home := filepath.Join(t.TempDir(), "wsx")
	st, err := store.Init(home, store.InitOptions{
		Passphrase: []byte("test passphrase"),
		KDF:        store.KDFParams{Time: 1, MemoryKiB: store.MinKDFMemoryKiB, Threads: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	key, err := st.AuditKey()
	if err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(home, "audit.log")
	log, err := audit.Open(logPath, key)
	if err != nil {
		t.Fatal(err)
	}
	rs := realSecrets{st, release.New(st, log, release.Options{Durable: true})}
	defer rs.rel.Close()
	run := func(op, in string) string {
		t.Helper()
		out, _, err := runReal(t, rs, op, in)
		if err != nil {
			t.Fatalf("%s: %v", op, err)
		}
		return out
	}

	// A named secret for plain http on a port: its Hosts entry is a URL.
	if _, err := st.Add(token("LOCAL_TOKEN", "local-value", "http://127.0.0.1:8080")); err != nil {
		t.Fatalf("add a secret for http://127.0.0.1:8080: %v", err)
	}
	if got := run(OpGet, "protocol=http\nhost=127.0.0.1:8080\n"); got != "username=x-access-token\npassword=local-value\n" {
		t.Errorf("get LOCAL_TOKEN: got %q", got)
	}

	// A credential git approves is kept, found, and erased.
	approve := "protocol=https\nhost=git.example.test\npath=org/repo.git\nusername=bob\npassword=" + canary + "\n"
	run(OpStore, approve)
	metas, err := st.List()
	if err != nil {
		t.Fatal(err)
	}
	stored := 0
	for _, m := range metas {
		if IsStored(m) {
			stored++
		}
	}
	if stored != 1 {
		t.Fatalf("%d stored credentials after store, want 1", stored)
	}
	if got := run(OpGet, "protocol=https\nhost=git.example.test\n"); got != "username=bob\npassword="+canary+"\n" {
		t.Error("get after store: not the stored credential")
	}
	run(OpErase, approve)
	if got := run(OpGet, "protocol=https\nhost=git.example.test\n"); got != "" {
		t.Error("get after erase: still answered")
	}

	// An empty user name and password (SSO, Kerberos) are kept and come
	// back exactly.
	sso := "protocol=https\nhost=sso.example.test\n"
	run(OpStore, sso+"username=\npassword=\n")
	if got := run(OpGet, sso); got != "username=\npassword=\n" {
		t.Errorf("get of the empty credential: got %q", got)
	}

	// A target whose URL is longer than the store keeps is not stored, and
	// stderr says so rather than failing.
	long := "protocol=https\nhost=git.example.test\npath=" + strings.Repeat("p", 300) + "\nusername=bob\npassword=x1234\n"
	_, stderr, err := runReal(t, rs, OpStore, long)
	if err != nil || !strings.Contains(stderr, "longer than") {
		t.Errorf("store of a long URL: err %v, stderr %q", err, stderr)
	}
}
