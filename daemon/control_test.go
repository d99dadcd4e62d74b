package daemon

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wsxdev/wsx/internal/hint"
	"github.com/wsxdev/wsx/store"
)

// TestControl: wsx lock, unlock and agent reload on a running agent, and
// without one.
func TestControl(t *testing.T) {
	d, _ := startDaemon(t, newTestStore(t), nil)
	dial := func() (*Client, Status, error) { return Dial(d.APISocket(), time.Second) }
	var w bytes.Buffer
	if err := Lock(dial, &w); err != nil || !d.Locked() || !strings.Contains(w.String(), "locked the wsx agent") {
		t.Fatalf("lock: %v, locked %v, said %q", err, d.Locked(), w.String())
	}
	if err := Reload(dial, &w); !errors.Is(err, store.ErrLocked) {
		t.Errorf("reload while locked: %v", err)
	}
	asked := 0
	ask := func(unlock func([]byte) error) error {
		asked++
		if err := unlock([]byte("wrong")); !errors.Is(err, store.ErrWrongPassphrase) {
			return fmt.Errorf("a wrong passphrase: %v", err)
		}
		return unlock(testPassphrase)
	}
	if err := Unlock(dial, &w, ask); err != nil || d.Locked() || asked != 1 {
		t.Fatalf("unlock: %v, locked %v, asked %d", err, d.Locked(), asked)
	}
	w.Reset()
	if err := Unlock(dial, &w, ask); err != nil || asked != 1 || !strings.Contains(w.String(), "already unlocked") {
		t.Errorf("unlock again: %v, asked %d, said %q", err, asked, w.String())
	}

	none := func() (*Client, Status, error) {
		return Dial(filepath.Join(shortDir(t), APISocketName), time.Second)
	}
	w.Reset()
	if err := Lock(none, &w); err != nil || !strings.Contains(w.String(), "no wsx agent is running") {
		t.Errorf("lock without an agent: %v, said %q", err, w.String())
	}
	for name, err := range map[string]error{"unlock": Unlock(none, &w, ask), "reload": Reload(none, &w)} {
		if !errors.Is(err, ErrNoDaemon) || !strings.Contains(hint.Of(err), "wsx agent -s") {
			t.Errorf("%s without an agent: %v (hint %q)", name, err, hint.Of(err))
		}
	}
}
