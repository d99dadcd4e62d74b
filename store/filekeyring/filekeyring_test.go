package filekeyring

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/99designs/keyring"

	"github.com/wsxdev/wsx/store/atomicfile"
)

// Tests never print item data: failures name keys and sizes only.

const foreignUID = 65534 // nobody

// newKeyring opens a keyring in a fresh directory "kr" under a temp dir.
func newKeyring(t *testing.T) (*Keyring, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "kr")
	k, err := Open(dir)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	return k, dir
}

func mustSet(t *testing.T, k *Keyring, key string, data []byte) {
	t.Helper()
	if err := k.Set(keyring.Item{Key: key, Data: data}); err != nil {
		t.Fatalf("Set(%q): %v", key, err)
	}
}

// wantData checks that key holds data, without printing either value.
func wantData(t *testing.T, k *Keyring, key string, data []byte) {
	t.Helper()
	it, err := k.Get(key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	if !bytes.Equal(it.Data, data) {
		t.Fatalf("Get(%q): got %d bytes that differ from the %d bytes stored", key, len(it.Data), len(data))
	}
	if it.Key != key {
		t.Fatalf("Get(%q).Key = %q", key, it.Key)
	}
}

// listDir returns the sorted names in dir.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	var tmps []string
	for _, n := range listDir(t, dir) {
		if strings.HasPrefix(n, atomicfile.TempPrefix) {
			tmps = append(tmps, n)
		}
	}
	return tmps
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to chown a file to another uid")
	}
}

// within runs fn and fails the test if it has not returned in 10 s, the sign
// of a blocking open of a FIFO.
func within(t *testing.T, what string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s blocked", what)
	}
}

func wantUnsafe(t *testing.T, err error, path string, fix string) {
	t.Helper()
	if !errors.Is(err, ErrUnsafe) {
		t.Fatalf("error %v, want ErrUnsafe", err)
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name %s", err, path)
	}
	if !strings.Contains(err.Error(), fix) {
		t.Errorf("error %q does not contain the fix %q", err, fix)
	}
}

func TestOpenCreatesDir(t *testing.T) {
	_, dir := newKeyring(t)
	fi, err := os.Lstat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Errorf("created %s with mode %v, want drwx------", dir, fi.Mode())
	}
	if uid := fi.Sys().(*syscall.Stat_t).Uid; int(uid) != os.Geteuid() {
		t.Errorf("created %s owned by uid %d", dir, uid)
	}
	// Opening again is fine.
	if _, err := Open(dir); err != nil {
		t.Errorf("second Open: %v", err)
	}
}

func TestOpenNeedsParent(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "missing", "kr")
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), dir) {
		t.Fatalf("Open with a missing parent: %v, want an error naming %s", err, dir)
	}
	if _, err := os.Stat(filepath.Dir(dir)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open created the parent: %v", err)
	}
	if _, err := Open(""); err == nil {
		t.Error("Open(\"\") succeeded")
	}
}

// SECURITY.md item 8: store dir 0777, dir owned by another uid, store path is
// a symlink -> refused with a fix-it message.
func TestOpenRefusesUnsafeDir(t *testing.T) {
	t.Run("symlink", func(t *testing.T) {
		base := t.TempDir()
		real := filepath.Join(base, "real")
		if err := os.Mkdir(real, 0o700); err != nil {
			t.Fatal(err)
		}
		link := filepath.Join(base, "link")
		if err := os.Symlink(real, link); err != nil {
			t.Fatal(err)
		}
		_, err := Open(link)
		wantUnsafe(t, err, link, "symbolic link")
	})
	t.Run("dangling symlink", func(t *testing.T) {
		base := t.TempDir()
		link := filepath.Join(base, "link")
		if err := os.Symlink(filepath.Join(base, "nowhere"), link); err != nil {
			t.Fatal(err)
		}
		_, err := Open(link)
		wantUnsafe(t, err, link, "symbolic link")
		if _, err := os.Lstat(filepath.Join(base, "nowhere")); err == nil {
			t.Error("Open created the link's target")
		}
	})
	t.Run("regular file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "file")
		if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Open(path)
		wantUnsafe(t, err, path, "not a directory")
	})
	for _, mode := range []os.FileMode{0o777, 0o755, 0o750, 0o710, 0o701, 0o770} {
		t.Run(mode.String(), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "kr")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, mode); err != nil {
				t.Fatal(err)
			}
			_, err := Open(dir)
			wantUnsafe(t, err, dir, "chmod 700 "+dir)
		})
	}
	t.Run("foreign owner", func(t *testing.T) {
		requireRoot(t)
		dir := filepath.Join(t.TempDir(), "kr")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(dir, foreignUID, foreignUID); err != nil {
			t.Fatal(err)
		}
		_, err := Open(dir)
		wantUnsafe(t, err, dir, "chown")
	})
}

// The directory is checked again on every operation, not only at Open.
func TestOperationsRecheckDir(t *testing.T) {
	k, dir := newKeyring(t)
	mustSet(t, k, "a", []byte("one"))
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ops := map[string]func() error{
		"Get":         func() error { _, err := k.Get("a"); return err },
		"GetMetadata": func() error { _, err := k.GetMetadata("a"); return err },
		"Set":         func() error { return k.Set(keyring.Item{Key: "b", Data: []byte("two")}) },
		"Keys":        func() error { _, err := k.Keys(); return err },
		"Remove":      func() error { return k.Remove("a") },
	}
	for name, op := range ops {
		t.Run(name, func(t *testing.T) { wantUnsafe(t, op(), dir, "chmod 700 "+dir) })
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	// Swap the directory for a link to another private directory.
	other := filepath.Join(filepath.Dir(dir), "other")
	if err := os.Rename(dir, other); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(other, dir); err != nil {
		t.Fatal(err)
	}
	for name, op := range ops {
		if err := op(); !errors.Is(err, ErrUnsafe) {
			t.Errorf("%s through a swapped-in symlink: %v, want ErrUnsafe", name, err)
		}
	}
	if got := listDir(t, other); !slices.Equal(got, []string{"a.wsx"}) {
		t.Errorf("directory behind the link changed: %q", got)
	}
}

func TestRoundTrip(t *testing.T) {
	k, dir := newKeyring(t)
	if keys, err := k.Keys(); err != nil || len(keys) != 0 {
		t.Fatalf("Keys of an empty keyring: %q, %v", keys, err)
	}
	before := time.Now().Add(-2 * time.Second)
	v1 := []byte("first value")
	if err := k.Set(keyring.Item{Key: "b.item", Data: v1, Label: "label", Description: "desc"}); err != nil {
		t.Fatal(err)
	}
	wantData(t, k, "b.item", v1)
	fi, err := os.Lstat(filepath.Join(dir, "b.item.wsx"))
	if err != nil {
		t.Fatal(err)
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
		t.Errorf("item file mode %v, want -rw-------", fi.Mode())
	}
	md, err := k.GetMetadata("b.item")
	if err != nil {
		t.Fatal(err)
	}
	if md.Item == nil || md.Item.Key != "b.item" || len(md.Item.Data) != 0 {
		t.Errorf("GetMetadata: item %+v, want the key and no data", md.Item)
	}
	if md.ModificationTime.Before(before) || md.ModificationTime.After(time.Now().Add(2*time.Second)) {
		t.Errorf("GetMetadata: modification time %v, want about now", md.ModificationTime)
	}

	v2 := bytes.Repeat([]byte{0, 1, 2, 0xff}, 1000)
	mustSet(t, k, "b.item", v2)
	wantData(t, k, "b.item", v2)
	mustSet(t, k, "a", []byte("x"))
	mustSet(t, k, "C-1", []byte("y"))
	keys, err := k.Keys()
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"C-1", "a", "b.item"}; !slices.Equal(keys, want) {
		t.Errorf("Keys = %q, want %q", keys, want)
	}
	if got, want := listDir(t, dir), []string{"C-1.wsx", "a.wsx", "b.item.wsx"}; !slices.Equal(got, want) {
		t.Errorf("directory holds %q, want %q", got, want)
	}

	if err := k.Remove("b.item"); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Get("b.item"); !errors.Is(err, keyring.ErrKeyNotFound) {
		t.Errorf("Get after Remove: %v, want ErrKeyNotFound", err)
	}
	if _, err := k.GetMetadata("b.item"); !errors.Is(err, keyring.ErrKeyNotFound) {
		t.Errorf("GetMetadata after Remove: %v, want ErrKeyNotFound", err)
	}
	if err := k.Remove("b.item"); !errors.Is(err, keyring.ErrKeyNotFound) {
		t.Errorf("second Remove: %v, want ErrKeyNotFound", err)
	}
	if _, err := k.Get("never"); !errors.Is(err, keyring.ErrKeyNotFound) {
		t.Errorf("Get of a missing key: %v, want ErrKeyNotFound", err)
	}

	// A new Keyring on the same directory sees the same items.
	k2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	wantData(t, k2, "a", []byte("x"))
}

// SECURITY.md item 7 at this layer: bad key names never reach the file system.
func TestKeyNames(t *testing.T) {
	k, dir := newKeyring(t)
	valid := []string{"a", "_", "0", "Z9", "A.b-c_d", "item.GITHUB_TOKEN", "a..b", "x.wsx", "a-", strings.Repeat("k", MaxKeyLen)}
	for _, key := range valid {
		if err := validKey(key); err != nil {
			t.Errorf("validKey(%q): %v", key, err)
		}
		mustSet(t, k, key, []byte("v"))
		if _, err := os.Lstat(filepath.Join(dir, key+".wsx")); err != nil {
			t.Errorf("key %q: %v", key, err)
		}
	}
	invalid := []string{
		"", ".", "..", "/", "a/b", "../a", "/etc/passwd", "a\x00b", "\x00", "a\nb", "a\tb", "\x7f",
		"a\x1b[1m", ".hidden", ".tmp-123", "-a", "a b", "a\\b", "é", "a:b", "a*", "~",
		strings.Repeat("k", MaxKeyLen+1),
	}
	before := listDir(t, dir)
	for _, key := range invalid {
		err := k.Set(keyring.Item{Key: key, Data: []byte("v")})
		if !errors.Is(err, errInvalidKey) {
			t.Errorf("Set(%q): %v, want errInvalidKey", key, err)
		} else if !strings.Contains(err.Error(), "A-Za-z0-9_") && key != "" && len(key) <= MaxKeyLen {
			t.Errorf("Set(%q): error %q does not state the rule", key, err)
		}
		if _, err := k.Get(key); !errors.Is(err, errInvalidKey) {
			t.Errorf("Get(%q): %v, want errInvalidKey", key, err)
		}
		if _, err := k.GetMetadata(key); !errors.Is(err, errInvalidKey) {
			t.Errorf("GetMetadata(%q): %v, want errInvalidKey", key, err)
		}
		if err := k.Remove(key); !errors.Is(err, errInvalidKey) {
			t.Errorf("Remove(%q): %v, want errInvalidKey", key, err)
		}
	}
	if after := listDir(t, dir); !slices.Equal(before, after) {
		t.Errorf("invalid keys changed the directory: %q -> %q", before, after)
	}
}

func TestSetRefusesEmptyAndLarge(t *testing.T) {
	k, dir := newKeyring(t)
	old := []byte("old")
	mustSet(t, k, "a", old)
	if err := k.Set(keyring.Item{Key: "a"}); !errors.Is(err, ErrEmpty) {
		t.Errorf("Set with no data: %v, want ErrEmpty", err)
	}
	if err := k.Set(keyring.Item{Key: "a", Data: make([]byte, MaxItemSize+1)}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Set of %d bytes: %v, want ErrTooLarge", MaxItemSize+1, err)
	}
	wantData(t, k, "a", old)
	big := bytes.Repeat([]byte{7}, MaxItemSize)
	mustSet(t, k, "big", big)
	wantData(t, k, "big", big)
	if tmps := tempFiles(t, dir); len(tmps) != 0 {
		t.Errorf("temp files left: %q", tmps)
	}
}

// SECURITY.md item 6: foreign files in the store dir (README, subdir,
// symlink, FIFO) are never listed, and a FIFO is never opened.
func TestKeysIgnoresForeignFiles(t *testing.T) {
	k, dir := newKeyring(t)
	mustSet(t, k, "real", []byte("r"))
	mustSet(t, k, "other.one", []byte("o"))
	outside := filepath.Join(t.TempDir(), "outside.wsx")
	if err := os.WriteFile(outside, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	write := func(name string, perm os.FileMode) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), perm); err != nil {
			t.Fatal(err)
		}
	}
	write("README", 0o600)
	write("README.md", 0o600)
	write("notes.txt", 0o600)
	write("x.wsx.bak", 0o600)
	write("bad name.wsx", 0o600)
	write(".hidden.wsx", 0o600)
	write("-dash.wsx", 0o600)
	write(".wsx", 0o600)
	write(".tmp-0123abcd", 0o600)
	write(".tmp-0123abcd.wsx", 0o600)
	for _, d := range []string{"sub", "sub.wsx"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	for name, target := range map[string]string{"link.wsx": filepath.Join(dir, "real.wsx"), "out.wsx": outside, "dangling.wsx": "/nonexistent"} {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo.wsx"), 0o600); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		write("foreign.wsx", 0o600)
		if err := os.Chown(filepath.Join(dir, "foreign.wsx"), foreignUID, foreignUID); err != nil {
			t.Fatal(err)
		}
	}
	var keys []string
	var err error
	within(t, "Keys", func() { keys, err = k.Keys() })
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"other.one", "real"}; !slices.Equal(keys, want) {
		t.Errorf("Keys = %q, want %q", keys, want)
	}
	// Open (which cleans temp files) does not touch them either.
	within(t, "Open", func() { _, err = Open(dir) })
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"README", "sub.wsx", "link.wsx", "fifo.wsx"} {
		if _, err := os.Lstat(filepath.Join(dir, name)); err != nil {
			t.Errorf("foreign file %s: %v", name, err)
		}
	}
}

// SECURITY.md items 6 and 8: an item that is a link, a FIFO, a directory,
// foreign-owned or open to others is refused by Get and GetMetadata with an
// error naming the file and the fix; a FIFO is not opened.
func TestGetRefusesUnsafeItems(t *testing.T) {
	k, dir := newKeyring(t)
	path := func(key string) string { return filepath.Join(dir, key+".wsx") }
	outside := filepath.Join(t.TempDir(), "outside")
	if err := os.WriteFile(outside, []byte("outside"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, path("link")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(path("fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(path("dir"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"open644", "open666", "open660", "open604"} {
		mustSet(t, k, key, []byte("v"))
	}
	for key, mode := range map[string]os.FileMode{"open644": 0o644, "open666": 0o666, "open660": 0o660, "open604": 0o604} {
		if err := os.Chmod(path(key), mode); err != nil {
			t.Fatal(err)
		}
	}
	cases := map[string]string{
		"link":    "symbolic link",
		"fifo":    "FIFO",
		"dir":     "a directory",
		"open644": "chmod 600 " + path("open644"),
		"open666": "chmod 600 " + path("open666"),
		"open660": "chmod 600 " + path("open660"),
		"open604": "chmod 600 " + path("open604"),
	}
	if os.Geteuid() == 0 {
		mustSet(t, k, "foreign", []byte("v"))
		if err := os.Chown(path("foreign"), foreignUID, foreignUID); err != nil {
			t.Fatal(err)
		}
		cases["foreign"] = "chown"
	}
	for key, fix := range cases {
		within(t, "Get("+key+")", func() {
			_, err := k.Get(key)
			wantUnsafe(t, err, path(key), fix)
			_, err = k.GetMetadata(key)
			wantUnsafe(t, err, path(key), fix)
			mustSet(t, k, "fine", []byte("v"))
			_, err = k.GetMany([]string{"fine", key})
			wantUnsafe(t, err, path(key), fix)
			if err := k.Remove("fine"); err != nil {
				t.Fatal(err)
			}
		})
	}
	// The mode problems are listed, so the error reaches the user; the
	// others are not items.
	keys, err := k.Keys()
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"open604", "open644", "open660", "open666"}; !slices.Equal(keys, want) {
		t.Errorf("Keys = %q, want %q", keys, want)
	}
}

func TestGetBoundsSize(t *testing.T) {
	k, dir := newKeyring(t)
	// A sparse file larger than the cap: refused before any reading.
	f, err := os.OpenFile(filepath.Join(dir, "huge.wsx"), os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(1 << 40); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := k.Get("huge"); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Get of a 1 TiB file: %v, want ErrTooLarge", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "empty.wsx"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Get("empty"); !errors.Is(err, ErrEmpty) || !strings.Contains(err.Error(), "empty.wsx") {
		t.Errorf("Get of an empty file: %v, want ErrEmpty naming the file", err)
	}
}

func TestRemoveRefusesNonItems(t *testing.T) {
	k, dir := newKeyring(t)
	outside := filepath.Join(t.TempDir(), "outside")
	if err := os.WriteFile(outside, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "link.wsx")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "dir.wsx"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo.wsx"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"link", "dir", "fifo"} {
		if err := k.Remove(key); !errors.Is(err, ErrUnsafe) {
			t.Errorf("Remove(%q): %v, want ErrUnsafe", key, err)
		}
		if _, err := os.Lstat(filepath.Join(dir, key+".wsx")); err != nil {
			t.Errorf("Remove(%q) removed it: %v", key, err)
		}
	}
	// An item with loose permissions can still be removed.
	mustSet(t, k, "loose", []byte("v"))
	if err := os.Chmod(filepath.Join(dir, "loose.wsx"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := k.Remove("loose"); err != nil {
		t.Errorf("Remove of a 0644 item: %v", err)
	}
}

// Set replaces a link at the item's path; it never writes through it.
func TestSetDoesNotFollowLinks(t *testing.T) {
	k, dir := newKeyring(t)
	outside := filepath.Join(t.TempDir(), "outside")
	orig := []byte("outside content")
	if err := os.WriteFile(outside, orig, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "a.wsx")); err != nil {
		t.Fatal(err)
	}
	mustSet(t, k, "a", []byte("new"))
	got, err := os.ReadFile(outside)
	if err != nil || !bytes.Equal(got, orig) {
		t.Errorf("Set wrote through a symlink (err %v)", err)
	}
	fi, err := os.Lstat(filepath.Join(dir, "a.wsx"))
	if err != nil || !fi.Mode().IsRegular() {
		t.Errorf("item file after Set: %v, %v", fi, err)
	}
	wantData(t, k, "a", []byte("new"))
}

// GetMany reads each item as Get does, in order.
func TestGetMany(t *testing.T) {
	k, _ := newKeyring(t)
	mustSet(t, k, "a", []byte("one"))
	mustSet(t, k, "b", []byte("two"))
	items, err := k.GetMany([]string{"b", "a"})
	if err != nil || len(items) != 2 || items[0].Key != "b" || string(items[0].Data) != "two" || string(items[1].Data) != "one" {
		t.Fatalf("GetMany = %+v, %v", items, err)
	}
	if _, err := k.GetMany([]string{"a", "missing"}); !errors.Is(err, keyring.ErrKeyNotFound) {
		t.Errorf("GetMany of a missing key: %v", err)
	}
}
