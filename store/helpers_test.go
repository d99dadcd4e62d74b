package store

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testKDF is the cheapest Argon2id cost the bounds allow, so tests are fast.
var testKDF = KDFParams{Time: 1, MemoryKiB: MinKDFMemoryKiB, Threads: 1}

var testPass = []byte("correct horse battery staple")

// fakeClock is a clock tests move by hand.
type fakeClock struct{ t time.Time }

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2024, 6, 12, 14, 31, 1, 0, time.UTC)}
}
func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

// newTestStore creates a file-backend store in a fresh home and returns it
// unlocked, with a fake clock.
func newTestStore(t testing.TB) (*Store, *fakeClock) {
	t.Helper()
	home := filepath.Join(t.TempDir(), "home")
	s, err := Init(home, InitOptions{Passphrase: testPass, KDF: testKDF})
	if err != nil {
		t.Fatalf("Init: %v", err)
	}
	c := newFakeClock()
	s.SetClock(c.now)
	return s, c
}

// reopen opens s's home again and unlocks it with pass.
func reopen(t testing.TB, s *Store, pass []byte) *Store {
	t.Helper()
	o, err := Open(s.Home())
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := o.Unlock(pass); err != nil {
		t.Fatalf("Unlock: %v", err)
	}
	return o
}

func mustAdd(t testing.TB, s *Store, name string, typ Type, val string) Meta {
	t.Helper()
	m, err := s.Add(Secret{Meta: Meta{Name: name, Type: typ}, Value: NewValue([]byte(val))})
	if err != nil {
		t.Fatalf("Add %s: %v", name, err)
	}
	return m
}

// itemPath is where the file backend keeps the item of name.
func itemPath(s *Store, name string) string {
	return filepath.Join(s.Home(), itemsDir, name+".wsx")
}

// snapshot describes every file under dir: path, mode, size and content
// hash, so a test can tell whether anything was written.
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s %v %d", p, fi.Mode(), fi.Size())
		if fi.Mode().IsRegular() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			fmt.Fprintf(&b, " %x", sha256.Sum256(data))
		}
		b.WriteByte('\n')
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// wantErr fails unless err matches target and its text contains every
// piece of want.
func wantErr(t *testing.T, what string, err, target error, want ...string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want one matching %v", what, err, target)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%s: error %q does not mention %q", what, err, w)
		}
	}
}
