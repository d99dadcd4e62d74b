package store

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// SECURITY.md item 8.
func TestUnsafeHome(t *testing.T) {
	t.Run("home 0777", func(t *testing.T) {
		s, _ := newTestStore(t)
		if err := os.Chmod(s.Home(), 0o777); err != nil {
			t.Fatal(err)
		}
		_, err := Open(s.Home())
		wantErr(t, "Open", err, ErrUnsafePermission, s.Home(), "chmod 700")
		_, err = Init(s.Home(), InitOptions{Passphrase: testPass, KDF: testKDF})
		wantErr(t, "Init", err, ErrUnsafePermission, s.Home())
	})
	t.Run("home 0750", func(t *testing.T) {
		s, _ := newTestStore(t)
		if err := os.Chmod(s.Home(), 0o750); err != nil {
			t.Fatal(err)
		}
		_, err := Open(s.Home())
		wantErr(t, "Open", err, ErrUnsafePermission, "chmod 700")
	})
	t.Run("home is a symlink", func(t *testing.T) {
		s, _ := newTestStore(t)
		link := filepath.Join(t.TempDir(), "link")
		if err := os.Symlink(s.Home(), link); err != nil {
			t.Fatal(err)
		}
		_, err := Open(link)
		wantErr(t, "Open", err, ErrUnsafePermission, link, "symbolic link")
		_, err = Init(link, InitOptions{Passphrase: testPass, KDF: testKDF})
		wantErr(t, "Init", err, ErrUnsafePermission, "symbolic link")
	})
	t.Run("home is a file", func(t *testing.T) {
		f := filepath.Join(t.TempDir(), "file")
		if err := os.WriteFile(f, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Init(f, InitOptions{Passphrase: testPass, KDF: testKDF})
		wantErr(t, "Init", err, ErrUnsafePermission, "not a directory")
	})
	t.Run("header 0666", func(t *testing.T) {
		s, _ := newTestStore(t)
		path := filepath.Join(s.Home(), headerFile)
		if err := os.Chmod(path, 0o666); err != nil {
			t.Fatal(err)
		}
		_, err := Open(s.Home())
		wantErr(t, "Open", err, ErrUnsafePermission, path, "chmod 600")
	})
	t.Run("header is a symlink", func(t *testing.T) {
		s, _ := newTestStore(t)
		path := filepath.Join(s.Home(), headerFile)
		moved := filepath.Join(s.Home(), "real.json")
		if err := os.Rename(path, moved); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(moved, path); err != nil {
			t.Fatal(err)
		}
		_, err := Open(s.Home())
		wantErr(t, "Open", err, ErrUnsafePermission, "symbolic link")
	})
	t.Run("header is a FIFO", func(t *testing.T) {
		s, _ := newTestStore(t)
		path := filepath.Join(s.Home(), headerFile)
		os.Remove(path)
		if err := syscall.Mkfifo(path, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Open(s.Home()) // must not block
		wantErr(t, "Open", err, ErrUnsafePermission, "not a regular file")
	})
	t.Run("item 0666", func(t *testing.T) {
		s, _ := newTestStore(t)
		mustAdd(t, s, "API_TOKEN", TypeToken, "value-1")
		if err := os.Chmod(itemPath(s, "API_TOKEN"), 0o666); err != nil {
			t.Fatal(err)
		}
		_, err := s.Get("API_TOKEN")
		wantErr(t, "Get", err, ErrUnsafePermission, "API_TOKEN")
	})
	t.Run("items dir 0755", func(t *testing.T) {
		s, _ := newTestStore(t)
		if err := os.Chmod(filepath.Join(s.Home(), itemsDir), 0o755); err != nil {
			t.Fatal(err)
		}
		_, err := Open(s.Home())
		wantErr(t, "Open", err, ErrUnsafePermission, itemsDir)
	})
	t.Run("foreign owner", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("needs root to give the home to another uid")
		}
		s, _ := newTestStore(t)
		const uid = 4242
		if err := os.Chown(s.Home(), uid, uid); err != nil {
			t.Fatal(err)
		}
		_, err := Open(s.Home())
		wantErr(t, "Open", err, ErrUnsafePermission, s.Home(), "uid 4242")
		if err := os.Chown(s.Home(), 0, 0); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(filepath.Join(s.Home(), headerFile), uid, uid); err != nil {
			t.Fatal(err)
		}
		_, err = Open(s.Home())
		wantErr(t, "Open with a foreign header", err, ErrUnsafePermission, headerFile, "uid 4242")
	})
}

// SECURITY.md item 6, as seen through the store: foreign files in the
// items dir are never listed.
func TestForeignFilesNotListed(t *testing.T) {
	s, _ := newTestStore(t)
	mustAdd(t, s, "API_TOKEN", TypeToken, "value-1")
	dir := filepath.Join(s.Home(), itemsDir)
	os.WriteFile(filepath.Join(dir, "README"), []byte("hello"), 0o600)
	os.WriteFile(filepath.Join(dir, "NOT-A-NAME.wsx"), []byte("x"), 0o600)
	os.Mkdir(filepath.Join(dir, "SUB.wsx"), 0o700)
	os.Symlink(itemPath(s, "API_TOKEN"), filepath.Join(dir, "LINKED_TOKEN.wsx"))
	syscall.Mkfifo(filepath.Join(dir, "FIFO_TOKEN.wsx"), 0o600)
	metas, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(metas) != 1 || metas[0].Name != "API_TOKEN" {
		var names []string
		for _, m := range metas {
			names = append(names, m.Name)
		}
		t.Errorf("List = %s, want API_TOKEN only", strings.Join(names, ","))
	}
}
