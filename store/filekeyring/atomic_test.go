package filekeyring

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/99designs/keyring"
	"golang.org/x/sys/unix"

	"github.com/wsxdev/wsx/store/atomicfile"
)

// SECURITY.md item 9 (disk full, read-only fs): a failed write keeps the old
// value, removes its temporary file, never leaves an empty item and says
// what failed.
//
// What cannot be tested everywhere:
//   - A directory made read-only with chmod 0500 stops writes only for a
//     non-root user: root bypasses permission checks (CAP_DAC_OVERRIDE), so
//     TestSetReadOnlyDir skips as root. CI runs as root.
//   - A real full disk and a real read-only file system need a small tmpfs,
//     which needs mount(2) (root with CAP_SYS_ADMIN); TestSetTmpfsFullAndReadOnly
//     skips where mount is not permitted.
//   - TestSetFaults injects the same failures (ENOSPC on a partial write,
//     EROFS on create, EIO on rename) through k.hooks and runs everywhere.

func TestSetFaults(t *testing.T) {
	old := []byte("the old value")
	cases := []struct {
		name  string
		hooks atomicfile.Hooks
		want  error
	}{
		{"create fails read-only", atomicfile.Hooks{BeforeCreate: func() error { return syscall.EROFS }}, syscall.EROFS},
		{"disk full mid-write", atomicfile.Hooks{Write: func(f *os.File, data []byte) error {
			if _, err := f.Write(data[:len(data)/2]); err != nil {
				return err
			}
			return syscall.ENOSPC
		}}, syscall.ENOSPC},
		{"disk full before any byte", atomicfile.Hooks{Write: func(*os.File, []byte) error { return syscall.ENOSPC }}, syscall.ENOSPC},
		{"rename fails", atomicfile.Hooks{BeforeRename: func() error { return syscall.EIO }}, syscall.EIO},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k, dir := newKeyring(t)
			mustSet(t, k, "a", old)
			k.hooks = tc.hooks
			err := k.Set(keyring.Item{Key: "a", Data: bytes.Repeat([]byte("new"), 1000)})
			if !errors.Is(err, tc.want) {
				t.Fatalf("Set: %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), `"a"`) || !strings.Contains(err.Error(), dir) {
				t.Errorf("error %q does not name the key and the directory", err)
			}
			// A new key that fails stays absent, never empty.
			if err := k.Set(keyring.Item{Key: "b", Data: []byte("fresh")}); !errors.Is(err, tc.want) {
				t.Fatalf("Set of a new key: %v, want %v", err, tc.want)
			}
			k.hooks = atomicfile.Hooks{}
			wantData(t, k, "a", old)
			if _, err := k.Get("b"); !errors.Is(err, keyring.ErrKeyNotFound) {
				t.Errorf("failed new key: Get %v, want ErrKeyNotFound", err)
			}
			if tmps := tempFiles(t, dir); len(tmps) != 0 {
				t.Errorf("temp files left: %q", tmps)
			}
			if keys, err := k.Keys(); err != nil || len(keys) != 1 || keys[0] != "a" {
				t.Errorf("Keys = %q, %v", keys, err)
			}
		})
	}
}

func TestSetReadOnlyDir(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root bypasses directory permissions, so chmod 0500 does not stop its writes; see TestSetFaults and TestSetTmpfsFullAndReadOnly")
	}
	k, dir := newKeyring(t)
	old := []byte("old")
	mustSet(t, k, "a", old)
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o700) })
	err := k.Set(keyring.Item{Key: "a", Data: []byte("new")})
	if !errors.Is(err, os.ErrPermission) || !strings.Contains(err.Error(), dir) {
		t.Fatalf("Set in a 0500 directory: %v, want a permission error naming %s", err, dir)
	}
	if err := k.Remove("a"); !errors.Is(err, os.ErrPermission) {
		t.Errorf("Remove in a 0500 directory: %v", err)
	}
	wantData(t, k, "a", old)
	if _, err := Open(dir); err != nil {
		t.Errorf("Open of a 0500 directory: %v", err)
	}
	if tmps := tempFiles(t, dir); len(tmps) != 0 {
		t.Errorf("temp files left: %q", tmps)
	}
}

// mountTmpfs mounts a tmpfs of size bytes on a new directory, or skips.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "mnt")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "size="+size+",mode=0700"); err != nil {
		t.Skipf("cannot mount a tmpfs to test a full and a read-only file system (%v); TestSetFaults covers the same paths", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

func TestSetTmpfsFullAndReadOnly(t *testing.T) {
	mnt := mountTmpfs(t, "256k")
	if err := os.Chown(mnt, os.Geteuid(), os.Getegid()); err != nil {
		t.Fatal(err)
	}
	k, err := Open(mnt)
	if err != nil {
		t.Fatal(err)
	}
	old := bytes.Repeat([]byte("o"), 64<<10)
	mustSet(t, k, "a", old)

	// Disk full: the new value does not fit next to the old one.
	err = k.Set(keyring.Item{Key: "a", Data: bytes.Repeat([]byte("n"), 1<<20)})
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Set on a full file system: %v, want ENOSPC", err)
	}
	wantData(t, k, "a", old)
	if tmps := tempFiles(t, mnt); len(tmps) != 0 {
		t.Errorf("temp files left after ENOSPC: %q", tmps)
	}
	// Space is back once the failed write is gone.
	mustSet(t, k, "a", bytes.Repeat([]byte("m"), 64<<10))
	mustSet(t, k, "a", old)

	// A temp file of a dead writer, then the file system turns read-only.
	if err := os.WriteFile(filepath.Join(mnt, ".tmp-dead"), []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("", mnt, "", unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
		t.Fatalf("remount read-only: %v", err)
	}
	err = k.Set(keyring.Item{Key: "a", Data: []byte("new")})
	if !errors.Is(err, syscall.EROFS) || !strings.Contains(err.Error(), mnt) {
		t.Fatalf("Set on a read-only file system: %v, want EROFS naming %s", err, mnt)
	}
	if err := k.Remove("a"); !errors.Is(err, syscall.EROFS) {
		t.Errorf("Remove on a read-only file system: %v, want EROFS", err)
	}
	// Reading still works, and so does Open, even though it cannot clean.
	k2, err := Open(mnt)
	if err != nil {
		t.Fatalf("Open on a read-only file system: %v", err)
	}
	wantData(t, k2, "a", old)

	if err := unix.Mount("", mnt, "", unix.MS_REMOUNT, "size=256k,mode=0700"); err != nil {
		t.Fatalf("remount read-write: %v", err)
	}
	if _, err := Open(mnt); err != nil {
		t.Fatal(err)
	}
	if tmps := tempFiles(t, mnt); len(tmps) != 0 {
		t.Errorf("Open on a writable file system left temp files: %q", tmps)
	}
}

// Open removes temporary files of dead writers, never one whose writer still
// holds its flock, and never anything that is not a regular temp file.
func TestOpenRemovesStaleTemps(t *testing.T) {
	k, dir := newKeyring(t)
	mustSet(t, k, "a", []byte("v"))
	stale := filepath.Join(dir, ".tmp-stale")
	live := filepath.Join(dir, ".tmp-live")
	for _, p := range []string{stale, live} {
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, ".tmp-dir"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, ".tmp-fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "a.wsx"), filepath.Join(dir, ".tmp-link")); err != nil {
		t.Fatal(err)
	}
	// A writer's lock: a separate open file description, as in another process.
	lf, err := os.OpenFile(live, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	if err := unix.Flock(int(lf.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}

	within(t, "Open", func() { _, err = Open(dir) })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale temp file not removed: %v", err)
	}
	if _, err := os.Lstat(live); err != nil {
		t.Errorf("live writer's temp file removed: %v", err)
	}
	for _, name := range []string{".tmp-dir", ".tmp-fifo", ".tmp-link", "a.wsx"} {
		if _, err := os.Lstat(filepath.Join(dir, name)); err != nil {
			t.Errorf("%s removed: %v", name, err)
		}
	}
	wantData(t, k, "a", []byte("v"))

	lf.Close() // the writer dies
	if _, err := Open(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(live); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temp file of a dead writer not removed: %v", err)
	}
}

// A temp file appears in the directory already locked: a cleaner in
// another process cannot take it from a live writer.
func TestSetTempLockedWhenNamed(t *testing.T) {
	k, dir := newKeyring(t)
	var created []string
	k.hooks.AfterCreate = func(name string) {
		created = append(created, name)
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); !errors.Is(err, unix.EWOULDBLOCK) {
			t.Errorf("a cleaner's flock on a live writer's temp file: %v, want EWOULDBLOCK", err)
		}
	}
	data := []byte("value")
	mustSet(t, k, "a", data)
	if len(created) != 1 {
		t.Errorf("Set created %d temp files, want 1", len(created))
	}
	k.hooks = atomicfile.Hooks{}
	wantData(t, k, "a", data)
}

// Where temp files are created by name (file systems without O_TMPFILE),
// a Set whose fresh temp file is removed by a cleaner before the writer
// takes its lock notices, and writes through a new temp file.
func TestSetSurvivesCleanerRace(t *testing.T) {
	k, dir := newKeyring(t)
	var created []string
	k.hooks.Named = true
	k.hooks.AfterCreate = func(name string) {
		created = append(created, name)
		if len(created) == 1 {
			// What a cleaner in another process does in this window: take
			// the (still free) lock and unlink the file.
			p := filepath.Join(dir, name)
			f, err := os.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
				t.Fatalf("cleaner cannot lock an unlocked temp file: %v", err)
			}
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
		}
	}
	data := []byte("value")
	mustSet(t, k, "a", data)
	if len(created) != 2 {
		t.Errorf("Set created %d temp files, want 2 (one removed, one used)", len(created))
	}
	k.hooks = atomicfile.Hooks{}
	wantData(t, k, "a", data)
	if tmps := tempFiles(t, dir); len(tmps) != 0 {
		t.Errorf("temp files left: %q", tmps)
	}
}
