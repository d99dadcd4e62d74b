package daemon

import (
	"errors"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wsxdev/wsx/internal/access"
	"github.com/wsxdev/wsx/internal/hint"
	"github.com/wsxdev/wsx/store"
)

func hintOf(err error) string {
	var he hint.Error
	errors.As(err, &he)
	return he.Hint
}

// TestGuestOpen: a guest works on its owner's agent unlocked, meets a
// locked one as ErrGuestLocked, and is told the fix when none answers or
// the agent closes the connection on it.
func TestGuestOpen(t *testing.T) {
	me, err := user.Current()
	if err != nil {
		t.Skip(err)
	}
	d, _ := startDaemon(t, newTestStore(t), nil)
	g := GuestAgent{Owner: me.Username, UID: os.Getuid(), Dir: filepath.Dir(d.APISocket())}
	c, st, err := g.Open("alice")
	if err != nil || st.Locked {
		t.Fatalf("Open: %v, %+v", err, st)
	}
	c.Close()
	if err := d.Lock("test"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := g.Open("alice"); !errors.Is(err, access.ErrGuestLocked) || !errors.Is(err, store.ErrLocked) {
		t.Errorf("locked: %v, want ErrGuestLocked", err)
	}

	none := GuestAgent{Owner: me.Username, UID: os.Getuid(), Dir: shortDir(t)}
	if _, _, err := none.Open("alice"); !errors.Is(err, ErrNoDaemon) || !strings.Contains(hintOf(err), "wsx agent --shared-dir "+none.Dir) {
		t.Errorf("no agent: %v (hint %q)", err, hintOf(err))
	}

	l, err := net.Listen("unix", none.APISocket())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	if _, _, err := none.Open("alice"); !errors.Is(err, ErrDenied) || !strings.Contains(hintOf(err), "wsx share alice ROLE") {
		t.Errorf("refused: %v (hint %q)", err, hintOf(err))
	}
}

func TestDialStore(t *testing.T) {
	st := newTestStore(t)
	d, _ := startDaemon(t, st, nil)
	c, status, err := DialStore(d.APISocket(), st.Home()+"/", time.Second)
	if err != nil || status.Home != st.Home() {
		t.Fatalf("its store: %v, %+v", err, status)
	}
	c.Close()
	if _, _, err := DialStore(d.APISocket(), t.TempDir(), time.Second); !errors.Is(err, ErrNoDaemon) {
		t.Errorf("another store: %v, want ErrNoDaemon", err)
	}
}
