package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestWriteFileReplaces(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil || string(b) != "new" {
		t.Fatalf("content %q, %v", b, err)
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	assertNoTemps(t, dir)
}

func TestWriteFailureKeepsOld(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for name, h := range map[string]Hooks{
		"disk full": {Write: func(f *os.File, data []byte) error { f.Write(data[:1]); return syscall.ENOSPC }},
		"rename":    {BeforeRename: func() error { return syscall.EIO }},
	} {
		err := WriteAt(d, "state.json", []byte("new"), 0o600, h)
		if err == nil || !(errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EIO)) {
			t.Errorf("%s: %v", name, err)
		}
		if b, _ := os.ReadFile(path); string(b) != "old" {
			t.Errorf("%s: content %q, want the old", name, b)
		}
		assertNoTemps(t, dir)
	}
}

func TestWriteFileRefusesLinkedDir(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real")
	os.Mkdir(real, 0o700)
	link := filepath.Join(dir, "link")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(filepath.Join(link, "f"), []byte("x"), 0o600); err == nil {
		t.Error("wrote through a symlinked directory")
	}
}

// A temp file whose writer died is removed; one a live writer holds stays.
func TestRemoveStale(t *testing.T) {
	dir := t.TempDir()
	d, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	dead := filepath.Join(dir, TempPrefix+"dead")
	os.WriteFile(dead, []byte("x"), 0o600)
	var live string
	err = WriteAt(d, "f", []byte("x"), 0o600, Hooks{BeforeRename: func() error {
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), TempPrefix) && e.Name() != TempPrefix+"dead" {
				live = e.Name()
			}
		}
		RemoveStale(d, os.Geteuid())
		if _, err := os.Stat(filepath.Join(dir, live)); err != nil {
			t.Errorf("a live writer's temp file was removed: %v", err)
		}
		return nil
	}})
	if err != nil || live == "" {
		t.Fatalf("write: %v (live temp %q)", err, live)
	}
	if _, err := os.Stat(dead); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("dead temp file left: %v", err)
	}
}

func assertNoTemps(t *testing.T, dir string) {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), TempPrefix) {
			t.Errorf("temp file %s left", e.Name())
		}
	}
}
