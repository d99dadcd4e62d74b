package exec

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// SECURITY 52: the RAM-directory fallback.
func TestFileSecretsRAMDir(t *testing.T) {
	if !isRAMFS("/dev/shm") {
		t.Skip("/dev/shm is not a RAM filesystem here")
	}
	content := []byte("-----BEGIN CERT-----\nfallback-file-content\n")
	fs, err := openFiles([]FileSecret{{Name: "CERT", Content: content}, {Name: "EMPTY"}}, filesRAMDirOnly, []string{"", "relative", "/dev/shm"})
	if err != nil {
		t.Fatal(err)
	}
	if len(fs.env) != 2 || len(fs.extra) != 0 {
		t.Fatalf("got %d paths, %d fds", len(fs.env), len(fs.extra))
	}
	path := string(fs.env[0].Value)
	dir := filepath.Dir(path)
	if !strings.HasPrefix(path, "/dev/shm/wsx-exec-") {
		t.Fatalf("fallback path %s not under /dev/shm", path)
	}
	di, _ := os.Stat(dir)
	fi, _ := os.Lstat(path)
	if di.Mode().Perm() != 0o700 || fi.Mode().Perm() != 0o600 || !fi.Mode().IsRegular() {
		t.Fatalf("modes: dir %v file %v", di.Mode(), fi.Mode())
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, content) {
		t.Fatal("content differs")
	}
	fs.close()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("fallback dir left behind: %v", err)
	}
}

// Never a disk path: no RAM filesystem is an error.
func TestFileSecretsNoRAMFS(t *testing.T) {
	disk := t.TempDir()
	if isRAMFS(disk) {
		t.Skip("the temp dir is on tmpfs here")
	}
	_, err := openFiles([]FileSecret{{Name: "CERT", Content: []byte("x")}}, filesRAMDirOnly, []string{disk})
	if !errors.Is(err, ErrNoRAMFS) {
		t.Fatalf("got %v, want ErrNoRAMFS", err)
	}
	if entries, _ := os.ReadDir(disk); len(entries) != 0 {
		t.Fatalf("wrote %d entries to a disk directory", len(entries))
	}
}

func TestFileSecretsMemfd(t *testing.T) {
	fs, err := openFiles([]FileSecret{{Name: "A", Content: []byte("alpha-content")}, {Name: "B", Content: []byte("beta")}}, filesForChild, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer fs.close()
	if len(fs.extra) != 2 || string(fs.env[0].Value) != "/dev/fd/3" || string(fs.env[1].Value) != "/dev/fd/4" {
		t.Fatalf("memfd layout: %d fds, env %s %s", len(fs.extra), fs.env[0].Value, fs.env[1].Value)
	}
	if _, err := fs.extra[0].Write([]byte("x")); err == nil {
		t.Fatal("sealed memfd accepted a write")
	}
	if _, err := openFiles([]FileSecret{{Name: "BAD NAME"}}, filesForChild, nil); !errors.Is(err, ErrBadEnv) {
		t.Fatalf("bad name: %v", err)
	}
}
