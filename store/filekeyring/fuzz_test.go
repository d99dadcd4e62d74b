package filekeyring

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/99designs/keyring"
)

// keyRule is the key rule written independently of validKey.
var keyRule = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`)

// FuzzKeyName checks key validation against the rule, and the round trip: a
// valid key creates exactly one file, <dir>/<key>.wsx, and nothing anywhere
// else under the parent; an invalid one creates nothing.
func FuzzKeyName(f *testing.F) {
	for _, s := range []string{
		"a", "A.b-c_d", "item.GITHUB_TOKEN", "0", "_", "a..b", "x.wsx", "a-",
		"", ".", "..", "/", "a/b", "../x", "../../etc/passwd", "/abs", "a\x00b", "\x00", "a\nb",
		"\x7f", "a\x1b]0;x\x07", ".tmp-0123", ".wsx", "-a", "a b", "a\\b", "é", "a\u200bb",
		"a:b", "~user", "*", "a\xff", strings.Repeat("a", MaxKeyLen), strings.Repeat("a", MaxKeyLen+1),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		parent := t.TempDir()
		dir := filepath.Join(parent, "kr")
		k, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		want := keyRule.MatchString(key) && len(key) <= MaxKeyLen
		err = k.Set(keyring.Item{Key: key, Data: []byte("v")})
		if want != (err == nil) {
			t.Fatalf("Set(%q): %v; rule says valid=%v", key, err, want)
		}
		if got := listDir(t, parent); !slices.Equal(got, []string{"kr"}) {
			t.Fatalf("Set(%q) changed the parent directory: %q", key, got)
		}
		names := listDir(t, dir)
		if !want {
			if !errors.Is(err, errInvalidKey) {
				t.Fatalf("Set(%q): %v, want errInvalidKey", key, err)
			}
			if len(names) != 0 {
				t.Fatalf("Set(%q) of an invalid key created %q", key, names)
			}
			return
		}
		if !slices.Equal(names, []string{key + ".wsx"}) {
			t.Fatalf("Set(%q) created %q, want only %q", key, names, key+".wsx")
		}
		if fi, err := os.Lstat(filepath.Join(dir, key+".wsx")); err != nil || !fi.Mode().IsRegular() {
			t.Fatalf("item file for %q: %v", key, err)
		}
		keys, err := k.Keys()
		if err != nil || !slices.Equal(keys, []string{key}) {
			t.Fatalf("Keys after Set(%q) = %q, %v", key, keys, err)
		}
		wantData(t, k, key, []byte("v"))
		if err := k.Remove(key); err != nil {
			t.Fatalf("Remove(%q): %v", key, err)
		}
		if names := listDir(t, dir); len(names) != 0 {
			t.Fatalf("Remove(%q) left %q", key, names)
		}
	})
}
