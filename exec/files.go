package exec

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// FileSecret is a secret released to a child as a file: the variable Name
// holds a path the child, and every process it starts, can open and read
// while the command runs.
type FileSecret struct {
	Name    string
	Content []byte
}

// Errors of file secrets.
var (
	// ErrNoRAMFS: memfd is unavailable and no memory-backed directory
	// (/dev/shm, $XDG_RUNTIME_DIR on tmpfs) exists. File secrets are never
	// written to a disk-backed path.
	ErrNoRAMFS = errors.New("no memory-backed filesystem for file secrets")
	// ErrNoMemfd: ExecInPlace cannot release file secrets without memfd,
	// as nothing would remain to remove the fallback files; use Run.
	ErrNoMemfd = errors.New("memfd unavailable: file secrets need a supervising process")
)

// RAM filesystem magic numbers (statfs f_type).
const (
	tmpfsMagic = 0x01021994
	ramfsMagic = 0x858458f6
)

// fileSet is the materialised form of a list of file secrets.
type fileSet struct {
	env     []Injected // Name=path for each secret
	extra   []*os.File // memfds to pass as the child's fds 3, 4, ...
	dir     string     // fallback directory, removed by close
	content [][]byte
}

// fileMode chooses how file secrets are materialised.
type fileMode int

const (
	// filesForChild: 0400 files in a per-run 0700 directory on a RAM
	// filesystem, removed when the command ends (and swept by the next
	// run after a kill -9): every descendant can open the path. Where no
	// RAM filesystem exists, a memfd passed as the child's fd 3, 4, ...
	// (/dev/fd/N: the direct child only).
	filesForChild fileMode = iota
	// filesInPlace: a memfd inherited across the exec at its own number,
	// named /proc/PID/fd/N of the command itself, so its descendants can
	// open it while the command lives; the memory goes with the last fd.
	filesInPlace
	filesMemfdOnly // the memfd fallback of filesForChild (tests)
)

// openFiles materialises files. ramDirs are the candidate bases for the
// directory, tried in order.
func openFiles(files []FileSecret, mode fileMode, ramDirs []string) (*fileSet, error) {
	fs := &fileSet{}
	if len(files) == 0 {
		return fs, nil
	}
	for _, f := range files {
		if !validEnvName(f.Name) {
			return nil, fmt.Errorf("file secret %q: name is not a variable name: %w", f.Name, ErrBadEnv)
		}
		fs.content = append(fs.content, f.Content)
	}
	if mode == filesForChild {
		err := fs.openRAMDir(files, ramDirs)
		if err == nil {
			return fs, nil
		}
		fs.close()
		fs.env = nil
		if !errors.Is(err, ErrNoRAMFS) {
			return nil, err
		}
	}
	if err := fs.openMemfds(files, mode); err != nil {
		fs.close()
		if mode == filesInPlace {
			return nil, fmt.Errorf("%w: %w", ErrNoMemfd, err)
		}
		return nil, fmt.Errorf("%w: %w", ErrNoRAMFS, err)
	}
	return fs, nil
}

// openMemfds creates one sealed memfd per secret.
func (fs *fileSet) openMemfds(files []FileSecret, mode fileMode) error {
	for i, f := range files {
		flags := unix.MFD_ALLOW_SEALING
		if mode != filesInPlace {
			// Our copy must not leak into other children; the child's
			// copy (ExtraFiles, dup2) has close-on-exec cleared.
			flags |= unix.MFD_CLOEXEC
		}
		fd, err := unix.MemfdCreate("wsx-"+f.Name, flags)
		if err != nil {
			return fmt.Errorf("memfd_create: %w", err)
		}
		file := os.NewFile(uintptr(fd), "memfd:wsx-"+f.Name)
		fs.extra = append(fs.extra, file)
		if err := writeAll(fd, f.Content); err != nil {
			return fmt.Errorf("write memfd: %w", err)
		}
		if _, err := unix.Seek(fd, 0, 0); err != nil {
			return fmt.Errorf("seek memfd: %w", err)
		}
		seals := unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals); err != nil {
			return fmt.Errorf("seal memfd: %w", err)
		}
		// The child opens /dev/fd/N; that needs /proc. Check on our copy.
		if _, err := os.Stat("/dev/fd/" + strconv.Itoa(fd)); err != nil {
			return fmt.Errorf("/dev/fd unusable: %w", err)
		}
		path := "/proc/" + strconv.Itoa(os.Getpid()) + "/fd/" + strconv.Itoa(fd)
		if mode != filesInPlace {
			path = "/dev/fd/" + strconv.Itoa(3+i)
		}
		fs.env = append(fs.env, Injected{Name: f.Name, Value: []byte(path)})
	}
	return nil
}

// openRAMDir writes each secret to a 0400 file in a fresh run directory
// (newRunDir).
func (fs *fileSet) openRAMDir(files []FileSecret, candidates []string) error {
	dir, err := newRunDir(candidates)
	if dir != "" {
		fs.dir = dir
	}
	if err != nil {
		return err
	}
	for i, f := range files {
		p := filepath.Join(dir, strconv.Itoa(i)+"-"+f.Name)
		if err := writeRunFile(p, f.Content); err != nil {
			return fmt.Errorf("file secret %s: %w", f.Name, err)
		}
		fs.env = append(fs.env, Injected{Name: f.Name, Value: []byte(p)})
	}
	return nil
}

// newRunDir makes a fresh 0700 directory for this run on the first
// candidate that is a RAM filesystem, after removing the directories of
// runs that are gone. It returns ErrNoRAMFS when no candidate is one; on
// another error, the directory it made, if any, for the caller to remove.
func newRunDir(candidates []string) (string, error) {
	base := ramBase(candidates)
	if base == "" {
		return "", ErrNoRAMFS
	}
	sweepRunDirs(base)
	dir, err := os.MkdirTemp(base, runDirPrefix(os.Getpid(), processStart(os.Getpid()))+"*")
	if err != nil {
		return "", fmt.Errorf("file secrets: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return dir, fmt.Errorf("file secrets: %w", err)
	}
	return dir, nil
}

// writeRunFile creates p, 0400, with content; p must not exist.
func writeRunFile(p string, content []byte) error {
	fd, err := unix.Open(p, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o400)
	if err != nil {
		return err
	}
	err = writeAll(fd, content)
	unix.Close(fd)
	return err
}

// closeFDs closes our copies of the memfds once the child holds its own;
// the memory goes when the last copy closes, i.e. when the child is done.
func (fs *fileSet) closeFDs() {
	for _, f := range fs.extra {
		f.Close()
	}
	fs.extra = nil
}

// close releases everything: the memfds and the fallback directory.
func (fs *fileSet) close() {
	fs.closeFDs()
	if fs.dir != "" {
		os.RemoveAll(fs.dir)
		fs.dir = ""
	}
}

// isRAMFS reports whether dir is a directory on tmpfs or ramfs.
func isRAMFS(dir string) bool {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return false
	}
	if st.Type != tmpfsMagic && st.Type != ramfsMagic {
		return false
	}
	fi, err := os.Stat(dir)
	return err == nil && fi.IsDir()
}

func writeAll(fd int, b []byte) error {
	for len(b) > 0 {
		n, err := unix.Write(fd, b)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// runDirPrefix names the file-secret directory of the run in process pid,
// started at start (clock ticks after boot), so a later run can tell
// whether its owner is gone even when the pid was reused.
func runDirPrefix(pid int, start string) string {
	return "wsx-exec-" + strconv.Itoa(pid) + "-" + start + "-"
}

// processStart returns field 22 of /proc/PID/stat, the process's start
// time, or "" when pid does not exist.
func processStart(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return ""
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return ""
	}
	return f[19]
}

// sweepRunDirs removes, under base, the file-secret directories this user
// owns whose run is gone (killed before it could remove them).
func sweepRunDirs(base string) {
	entries, err := os.ReadDir(base)
	if err != nil {
		return
	}
	uid := os.Getuid()
	for _, e := range entries {
		name := e.Name()
		rest, ok := strings.CutPrefix(name, "wsx-exec-")
		if !ok || !e.IsDir() { // IsDir is false for a symlink
			continue
		}
		f := strings.SplitN(rest, "-", 3)
		if len(f) != 3 {
			continue
		}
		pid, err := strconv.Atoi(f[0])
		if err != nil || pid <= 0 || processStart(pid) == f[1] {
			continue // still running
		}
		p := filepath.Join(base, name)
		var st unix.Stat_t
		if unix.Lstat(p, &st) != nil || int(st.Uid) != uid || st.Mode&unix.S_IFMT != unix.S_IFDIR {
			continue
		}
		os.RemoveAll(p)
	}
}
