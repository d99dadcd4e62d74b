package filekeyring

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/99designs/keyring"
)

// newWatch watches k, and skips the test without inotify.
func newWatch(t *testing.T, k *Keyring) *Watch {
	t.Helper()
	w, err := k.Watch()
	if err != nil {
		t.Skipf("no inotify watch: %v", err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// Every change to an entry of the directory is reported once, by the
// next Changed after it.
func TestWatchReportsEntryChanges(t *testing.T) {
	k, dir := newKeyring(t)
	mustSet(t, k, "alpha", []byte("one"))
	w := newWatch(t, k)
	if w.Changed() {
		t.Fatal("Changed with nothing done")
	}
	for _, c := range []struct {
		what string
		do   func() error
	}{
		{"set", func() error { return k.Set(itemOf("alpha", "two")) }},
		{"add", func() error { return k.Set(itemOf("bravo", "three")) }},
		{"write in place", func() error { return os.WriteFile(filepath.Join(dir, "alpha.wsx"), []byte("four"), 0o600) }},
		{"chmod", func() error { return os.Chmod(filepath.Join(dir, "alpha.wsx"), 0o400) }},
		{"rename", func() error { return os.Rename(filepath.Join(dir, "bravo.wsx"), filepath.Join(dir, "charlie.wsx")) }},
		{"remove", func() error { return k.Remove("charlie") }},
		{"foreign file", func() error { return os.WriteFile(filepath.Join(dir, "README"), nil, 0o600) }},
	} {
		if err := c.do(); err != nil {
			t.Fatalf("%s: %v", c.what, err)
		}
		if !w.Changed() {
			t.Errorf("%s: not reported", c.what)
		}
		if w.Changed() {
			t.Errorf("%s: reported twice", c.what)
		}
		if w.Broken() {
			t.Fatalf("%s: broke the watch", c.what)
		}
	}
}

// When the watch can no longer vouch for the path, Changed says so for
// good: the directory replaced by another, opened to others, or the
// watch closed.
func TestWatchBreaks(t *testing.T) {
	for _, c := range []struct {
		what string
		do   func(t *testing.T, dir string, w *Watch)
	}{
		{"replaced", func(t *testing.T, dir string, _ *Watch) {
			if err := os.Rename(dir, dir+".old"); err != nil {
				t.Fatal(err)
			}
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
		}},
		{"replaced, old one back in its place", func(t *testing.T, dir string, w *Watch) {
			// A move of the directory itself breaks the watch, even when
			// the directory comes back.
			os.Rename(dir, dir+".old")
			os.Rename(dir+".old", dir)
		}},
		{"opened to others", func(t *testing.T, dir string, _ *Watch) {
			if err := os.Chmod(dir, 0o755); err != nil {
				t.Fatal(err)
			}
		}},
		{"closed", func(t *testing.T, _ string, w *Watch) { w.Close() }},
	} {
		t.Run(c.what, func(t *testing.T) {
			k, dir := newKeyring(t)
			w := newWatch(t, k)
			c.do(t, dir, w)
			for i := range 3 {
				if !w.Changed() {
					t.Errorf("Changed %d: false", i)
				}
			}
			if !w.Broken() {
				t.Error("not Broken")
			}
		})
	}
}

// A watch is not made for a directory Open would refuse.
func TestWatchRefusesUnsafeDir(t *testing.T) {
	k, dir := newKeyring(t)
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if w, err := k.Watch(); err == nil {
		w.Close()
		t.Fatal("Watch of a directory open to others")
	}
}

func itemOf(key, data string) keyring.Item { return keyring.Item{Key: key, Data: []byte(data)} }
