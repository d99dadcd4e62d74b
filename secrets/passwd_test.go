package secrets

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wsxdev/wsx/audit"
	"github.com/wsxdev/wsx/store"
)

func TestPasswd(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	st, err := store.Init(home, store.InitOptions{Passphrase: []byte("old passphrase"), KDF: store.KDFParams{Time: 1, MemoryKiB: 1 << 10, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	st.Lock()
	l := &Local{St: st, AuditPath: filepath.Join(home, "audit.log")}
	defer l.CloseLog()
	var errb bytes.Buffer
	ask := func(current, next string) PasswdIO {
		return PasswdIO{
			Current: func(prove func([]byte) error) error { return prove([]byte(current)) },
			Unlock:  st.Unlock,
			New:     func() ([]byte, error) { return []byte(next), nil },
			Stderr:  &errb, Home: home,
		}
	}
	if err := l.Passwd(ask("wrong", "new passphrase")); !errors.Is(err, store.ErrWrongPassphrase) {
		t.Fatalf("a wrong current passphrase: %v", err)
	}
	if err := l.Passwd(ask("old passphrase", "old passphrase")); err == nil || !strings.Contains(err.Error(), "nothing was changed") {
		t.Fatalf("the same passphrase: %v", err)
	}
	st.Lock()
	if err := l.Passwd(ask("old passphrase", "new passphrase")); err != nil {
		t.Fatalf("change: %v", err)
	}
	st.Lock()
	if err := st.Unlock([]byte("old passphrase")); !errors.Is(err, store.ErrWrongPassphrase) {
		t.Errorf("the old passphrase still opens the store: %v", err)
	}
	if err := st.Unlock([]byte("new passphrase")); err != nil {
		t.Errorf("the new passphrase: %v", err)
	}
	recs, err := audit.ReadLog(l.AuditPath)
	if err != nil || len(recs) != 1 || recs[0].Event != audit.EventPassphrase {
		t.Errorf("records %+v, %v; want one passphrase record", recs, err)
	}
}
