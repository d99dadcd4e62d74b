package exec

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// SECURITY 52: the RAM directory: 0700, files 0400, removed by close.
func TestFileSecretsRAMDir(t *testing.T) {
	if !isRAMFS("/dev/shm") {
		t.Skip("/dev/shm is not a RAM filesystem here")
	}
	content := []byte("-----BEGIN CERT-----\nfallback-file-content\n")
	fs, err := openFiles([]FileSecret{{Name: "CERT", Content: content}, {Name: "EMPTY"}}, filesForChild, []string{"", "relative", "/dev/shm"})
	if err != nil {
		t.Fatal(err)
	}
	if len(fs.env) != 2 || len(fs.extra) != 0 {
		t.Fatalf("got %d paths, %d fds", len(fs.env), len(fs.extra))
	}
	path := string(fs.env[0].Value)
	dir := filepath.Dir(path)
	if !strings.HasPrefix(path, "/dev/shm/wsx-exec-") {
		t.Fatalf("path %s not under /dev/shm", path)
	}
	di, _ := os.Stat(dir)
	fi, _ := os.Lstat(path)
	if di.Mode().Perm() != 0o700 || fi.Mode().Perm() != 0o400 || !fi.Mode().IsRegular() {
		t.Fatalf("modes: dir %v file %v", di.Mode(), fi.Mode())
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, content) {
		t.Fatal("content differs")
	}
	fs.close()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("dir left behind: %v", err)
	}
}

// Never a disk path: without a RAM filesystem, a memfd.
func TestFileSecretsNoRAMFS(t *testing.T) {
	disk := t.TempDir()
	if isRAMFS(disk) {
		t.Skip("the temp dir is on tmpfs here")
	}
	fs, err := openFiles([]FileSecret{{Name: "CERT", Content: []byte("x")}}, filesForChild, []string{disk})
	if err != nil {
		t.Fatal(err)
	}
	defer fs.close()
	if len(fs.extra) != 1 || string(fs.env[0].Value) != "/dev/fd/3" {
		t.Fatalf("got %d fds, path %s", len(fs.extra), fs.env[0].Value)
	}
	if entries, _ := os.ReadDir(disk); len(entries) != 0 {
		t.Fatalf("wrote %d entries to a disk directory", len(entries))
	}
}

// The directory of a run killed with -9 is removed by the next run; a live
// run's, another user's, a symlink and other names are left alone.
func TestFileSecretsSweep(t *testing.T) {
	base := t.TempDir()
	mk := func(name string) string {
		p := filepath.Join(base, name)
		if err := os.Mkdir(p, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(p, "0-CERT"), []byte("x"), 0o400); err != nil {
			t.Fatal(err)
		}
		return p
	}
	self := os.Getpid()
	live := mk(runDirPrefix(self, processStart(self)) + "live")
	reused := mk(runDirPrefix(self, "1") + "reused") // our pid, another start: gone
	dead := mk(runDirPrefix(1<<22+1, "5") + "dead")  // above pid_max
	other := mk("wsx-execution-kept")
	link := filepath.Join(base, runDirPrefix(1<<22+2, "5")+"link")
	if err := os.Symlink(other, link); err != nil {
		t.Fatal(err)
	}
	sweepRunDirs(base)
	for _, p := range []string{live, other, link} {
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("%s removed: %v", filepath.Base(p), err)
		}
	}
	for _, p := range []string{reused, dead} {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Errorf("%s kept", filepath.Base(p))
		}
	}
}

func TestFileSecretsMemfd(t *testing.T) {
	fs, err := openFiles([]FileSecret{{Name: "A", Content: []byte("alpha-content")}, {Name: "B", Content: []byte("beta")}}, filesMemfdOnly, nil)
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
	if _, err := openFiles([]FileSecret{{Name: "BAD NAME"}}, filesMemfdOnly, nil); !errors.Is(err, ErrBadEnv) {
		t.Fatalf("bad name: %v", err)
	}
}
