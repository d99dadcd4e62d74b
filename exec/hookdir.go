package exec

import (
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// The access hooks are the same for every run of one wsx version, so
// they are written once: to a directory of the user's own on a RAM
// filesystem, wsx-hooks-UID, as node-TAG.js and py-TAG/sitecustomize.py,
// where TAG names their content. Each run adds only its pipe,
// access-PID-N, and removes it when it ends.
//
// Another user cannot change them: the directory is used only when it is
// a real directory of this user with mode 0700 (in a shared /dev/shm
// another user could take the name first; the run then writes the hooks
// to a directory of its own, as it would without sharing), and, in the
// sticky /dev/shm, nobody else can rename or remove it. A file of ours
// that is not what wsx wrote (wrong type, mode or size: a write cut short)
// is replaced; a file is written under a temporary name and renamed, so
// a run never loads half of one.

// hookTag names this version's hooks: FNV-1a of their content, a
// checksum, not a digest, as it only tells versions apart in a directory
// no one else can write to.
var hookTag = sync.OnceValue(func() string {
	h := fnv.New64a()
	for _, s := range []string{nodeHook, "\x00", pyHook} {
		io.WriteString(h, s)
	}
	return strconv.FormatUint(h.Sum64(), 36)
})

// pipeSeq tells apart the pipes of the runs of one process.
var pipeSeq atomic.Uint64

// hookPlace is where one run's hooks and pipe are.
type hookPlace struct {
	node, pyDir string // the node hook; the directory holding sitecustomize.py
	fifo        string // the pipe the hooks report on
	runDir      string // a directory of this run's own, removed at the end; "" when shared
}

// placeHooks puts the hooks in the shared directory on the first RAM
// filesystem among candidates, or, when another user holds its name, in
// a fresh run directory; it makes the run's pipe beside them.
func placeHooks(candidates []string) (hookPlace, error) {
	base := ramBase(candidates)
	if base == "" {
		return hookPlace{}, ErrNoRAMFS
	}
	var p hookPlace
	dir := filepath.Join(base, "wsx-hooks-"+strconv.Itoa(os.Getuid()))
	if err := ownDir(dir); err != nil {
		if dir, err = newRunDir(candidates); err != nil {
			return hookPlace{runDir: dir}, err
		}
		p.runDir = dir
	}
	wrote, err := p.writeHooks(dir)
	if err != nil {
		return p, err
	}
	if p.runDir == "" && (wrote || os.Getpid()%32 == 0) {
		// Now and then, not on every run: reading the directory costs
		// more than the empty pipes it finds.
		sweepPipes(dir)
	}
	p.fifo = filepath.Join(dir, "access-"+strconv.Itoa(os.Getpid())+"-"+strconv.FormatUint(pipeSeq.Add(1), 10))
	err = unix.Mkfifo(p.fifo, 0o600)
	if errors.Is(err, unix.EEXIST) {
		// Left by a process that had our pid and was killed.
		unix.Unlink(p.fifo)
		err = unix.Mkfifo(p.fifo, 0o600)
	}
	if err != nil {
		p.fifo = ""
		return p, fmt.Errorf("pipe: %w", err)
	}
	return p, nil
}

// writeHooks makes sure dir holds this version's hooks; wrote says it
// had to write one.
func (p *hookPlace) writeHooks(dir string) (wrote bool, err error) {
	tag := hookTag()
	p.node = filepath.Join(dir, "node-"+tag+".js")
	p.pyDir = filepath.Join(dir, "py-"+tag)
	w1, err := ensureHook(p.node, nodeHook)
	if err != nil {
		return false, fmt.Errorf("node hook: %w", err)
	}
	if err := ownDir(p.pyDir); err != nil {
		return false, fmt.Errorf("python hook: %w", err)
	}
	w2, err := ensureHook(filepath.Join(p.pyDir, "sitecustomize.py"), pyHook)
	if err != nil {
		return false, fmt.Errorf("python hook: %w", err)
	}
	return w1 || w2, nil
}

// remove removes the run's pipe, and its run directory if it has one.
func (p hookPlace) remove() {
	if p.fifo != "" {
		unix.Unlink(p.fifo)
	}
	if p.runDir != "" {
		os.RemoveAll(p.runDir)
	}
}

// ramBase is the first of candidates that is an absolute path to a
// directory on a RAM filesystem, or "".
func ramBase(candidates []string) string {
	for _, c := range candidates {
		if c != "" && filepath.IsAbs(c) && isRAMFS(c) {
			return c
		}
	}
	return ""
}

// ownDir makes dir, 0700, or checks that it is a directory of this user
// with mode 0700 (not a symlink).
func ownDir(dir string) error {
	var st unix.Stat_t
	err := unix.Lstat(dir, &st)
	if errors.Is(err, unix.ENOENT) {
		err = unix.Mkdir(dir, 0o700)
		if err == nil {
			// Ours and fresh: the umask may have taken bits away.
			if err := unix.Chmod(dir, 0o700); err != nil {
				return fmt.Errorf("%s: %w", dir, err)
			}
			return nil
		}
		if errors.Is(err, unix.EEXIST) {
			err = unix.Lstat(dir, &st) // made by a run beside this one?
		}
	}
	if err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR || int(st.Uid) != os.Getuid() || st.Mode&0o7777 != 0o700 {
		return fmt.Errorf("%s is not a 0700 directory of this user", dir)
	}
	return nil
}

// ensureHook makes p a 0400 regular file with content, unless it is one
// of this user of that size already; wrote says it wrote it.
func ensureHook(p string, content string) (wrote bool, err error) {
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err == nil {
		if st.Mode&unix.S_IFMT == unix.S_IFREG && int(st.Uid) == os.Getuid() && st.Mode&0o7777 == 0o400 && st.Size == int64(len(content)) {
			return false, nil
		}
	}
	tmp := p + ".tmp-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatUint(pipeSeq.Add(1), 10)
	if err := writeRunFile(tmp, []byte(content)); err != nil {
		unix.Unlink(tmp)
		return false, err
	}
	if err := os.Rename(tmp, p); err != nil {
		unix.Unlink(tmp)
		return false, err
	}
	return true, nil
}

// sweepPipes removes from dir the pipes of runs whose process is gone
// (killed before they could remove them).
func sweepPipes(dir string) {
	f, err := os.Open(dir)
	if err != nil {
		return
	}
	names, _ := f.Readdirnames(-1)
	f.Close()
	for _, n := range names {
		rest, ok := strings.CutPrefix(n, "access-")
		if !ok {
			continue
		}
		pid, _, _ := strings.Cut(rest, "-")
		if id, err := strconv.Atoi(pid); err == nil && id > 0 && unix.Kill(id, 0) == unix.ESRCH {
			unix.Unlink(filepath.Join(dir, n))
		}
	}
}
