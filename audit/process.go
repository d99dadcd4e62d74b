package audit

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/wsxdev/wsx/internal/mask"
)

// ErrNoProcess is wrapped when a process does not exist, or exited while
// it was being read.
var ErrNoProcess = errors.New("no such process")

// maxCmdline bounds how much of /proc/PID/cmdline is read.
const maxCmdline = 256 << 10

// Self describes the calling process. When /proc cannot be read it returns
// what the os package knows.
func Self() Process {
	p, err := ProcessInfo(os.Getpid())
	if err != nil {
		return Process{PID: os.Getpid(), PPID: os.Getppid(), Argv: append([]string(nil), os.Args...)}
	}
	return p
}

// ProcessInfo describes process pid from /proc/PID/{stat,exe,cmdline,cwd}.
// A field it may not read (another user's process) is left empty; only a
// missing process is an error (wrapping ErrNoProcess). Start is the start
// time from stat: ProcessInfo reads stat again at the end and fails if it
// changed, so the fields all belong to one process even if the pid was
// reused meanwhile. Argv is as the process has it: mask it with MaskArgv
// before recording it.
func ProcessInfo(pid int) (Process, error) {
	return processInfo("/proc", pid)
}

// processInfo is ProcessInfo on a proc file system mounted at proc.
func processInfo(proc string, pid int) (Process, error) {
	if pid <= 0 {
		return Process{}, fmt.Errorf("process %d: %w", pid, ErrNoProcess)
	}
	dir := filepath.Join(proc, strconv.Itoa(pid))
	ppid, start, err := readStat(dir, pid)
	if err != nil {
		return Process{}, err
	}
	p := Process{PID: pid, PPID: ppid, Start: start}
	p.Exe, _ = os.Readlink(filepath.Join(dir, "exe"))
	p.Cwd, _ = os.Readlink(filepath.Join(dir, "cwd"))
	p.Argv = readCmdline(filepath.Join(dir, "cmdline"))
	if _, again, err := readStat(dir, pid); err != nil || again != start {
		return Process{}, fmt.Errorf("process %d: exited while being read: %w", pid, ErrNoProcess)
	}
	return p, nil
}

// ParentArgv reads only what a walk up the process tree needs of process
// pid: its parent, its start time and its command line (from
// /proc/PID/{stat,cmdline}). The process worth recording is then read
// whole with ProcessInfo, whose Start tells whether it is still the same.
func ParentArgv(pid int) (ppid int, start uint64, argv []string, err error) {
	if pid <= 0 {
		return 0, 0, nil, fmt.Errorf("process %d: %w", pid, ErrNoProcess)
	}
	dir := filepath.Join("/proc", strconv.Itoa(pid))
	if ppid, start, err = readStat(dir, pid); err != nil {
		return 0, 0, nil, err
	}
	return ppid, start, readCmdline(filepath.Join(dir, "cmdline")), nil
}

// StartTime returns the start time of process pid (clock ticks after
// boot, /proc/PID/stat field 22): with the pid, it tells the process from
// a later one that got the same pid.
func StartTime(pid int) (uint64, error) {
	if pid <= 0 {
		return 0, fmt.Errorf("process %d: %w", pid, ErrNoProcess)
	}
	_, start, err := readStat(filepath.Join("/proc", strconv.Itoa(pid)), pid)
	return start, err
}

func readStat(dir string, pid int) (ppid int, start uint64, err error) {
	b, err := readProc(filepath.Join(dir, "stat"), maxStat)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return 0, 0, fmt.Errorf("process %d: %w", pid, ErrNoProcess)
		}
		return 0, 0, fmt.Errorf("process %d: %w", pid, err)
	}
	ppid, start, err = parseStat(b, pid)
	if err != nil {
		return 0, 0, fmt.Errorf("process %d: %w", pid, err)
	}
	return ppid, start, nil
}

// parseStat reads ppid (field 4) and start time (field 22) from the
// contents of /proc/PID/stat. The command name (field 2) is in parentheses
// and may itself hold spaces and parentheses, so fields are counted from
// the last ')'.
func parseStat(b []byte, pid int) (ppid int, start uint64, err error) {
	open := bytes.IndexByte(b, '(')
	end := bytes.LastIndexByte(b, ')')
	if open < 1 || end < open {
		return 0, 0, errors.New("malformed stat: no command name")
	}
	if string(bytes.TrimSpace(b[:open])) != strconv.Itoa(pid) {
		return 0, 0, errors.New("malformed stat: pid does not match")
	}
	fields := strings.Fields(string(b[end+1:]))
	// fields[0] is field 3 (state), so field N is fields[N-3].
	if len(fields) < 22-2 {
		return 0, 0, errors.New("malformed stat: too few fields")
	}
	pp, err := strconv.Atoi(fields[4-3])
	if err != nil || pp < 0 {
		return 0, 0, errors.New("malformed stat: bad ppid")
	}
	st, err := strconv.ParseUint(fields[22-3], 10, 64)
	if err != nil {
		return 0, 0, errors.New("malformed stat: bad start time")
	}
	return pp, st, nil
}

// maxStat bounds what is read of /proc/PID/stat (a few hundred bytes; the
// command name in it is at most 64).
const maxStat = 4 << 10

// readProc reads at most limit bytes of a file under /proc with plain
// system calls: open, read to the end, close. os.Open would also try to
// register each with the poller (six calls more per file), and the agent
// reads a few of these for a request. The files read here (stat,
// cmdline) give all they have to one read with room for it, so a read
// that comes back short is the end.
func readProc(path string, limit int) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	for err == unix.EINTR {
		fd, err = unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	b := make([]byte, 0, min(limit, 1024))
	for len(b) < limit {
		if len(b) == cap(b) {
			b = slices.Grow(b, min(cap(b), limit-len(b)))
		}
		room := min(cap(b), limit) - len(b)
		n, err := unix.Read(fd, b[len(b):len(b)+room])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "read", Path: path, Err: err}
		}
		if n <= 0 {
			break
		}
		b = b[:len(b)+n]
		if n < room {
			break
		}
	}
	return b, nil
}

// readCmdline returns the NUL-separated arguments in a cmdline file, nil
// when it is empty or unreadable.
func readCmdline(path string) []string {
	b, err := readProc(path, maxCmdline)
	if err != nil || len(b) == 0 {
		return nil
	}
	b = bytes.TrimSuffix(b, []byte{0})
	return strings.Split(string(b), "\x00")
}

// MaskArgv returns a copy of argv in which every occurrence of each value
// of at least mask.MinMaskLen bytes (shorter ones would mask ordinary
// text without protecting anything), anywhere in an element (as in
// "--token=VALUE"), is replaced by "***". A value ending in line breaks is
// also masked without them (as a shell's "$(cat file)" passes it), when
// what is left has mask.MinMaskLen bytes. Overlapping occurrences, of one value
// or of several, are masked as one run, so no fragment of a value is left
// between two masks.
func MaskArgv(argv []string, values [][]byte) []string {
	if argv == nil {
		return nil
	}
	var trimmed [][]byte
	for _, v := range values {
		if t := bytes.TrimRight(v, "\r\n"); len(t) != len(v) && len(t) >= mask.MinMaskLen {
			trimmed = append(trimmed, t)
		}
	}
	if trimmed != nil {
		values = append(slices.Clip(values), trimmed...)
	}
	out := make([]string, len(argv))
	for i, a := range argv {
		out[i] = maskString(a, values)
	}
	return out
}

func maskString(s string, values [][]byte) string {
	var covered []bool
	for _, v := range values {
		if len(v) < mask.MinMaskLen || len(v) > len(s) {
			continue
		}
		vs := string(v)
		if !strings.Contains(s, vs) {
			continue
		}
		if covered == nil {
			covered = make([]bool, len(s))
		}
		marked := 0 // covered[:marked] is settled for this value
		forEachMatch(s, vs, func(start int) {
			for k := max(start, marked); k < start+len(vs); k++ {
				covered[k] = true
			}
			marked = start + len(vs)
		})
	}
	if covered == nil {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if !covered[i] {
			b.WriteByte(s[i])
			i++
			continue
		}
		b.WriteString("***")
		for i < len(s) && covered[i] {
			i++
		}
	}
	return b.String()
}

// forEachMatch calls fn with the start of every occurrence of v in s,
// overlapping ones included, in increasing order, in O(len(s)+len(v))
// time (Knuth-Morris-Pratt).
func forEachMatch(s, v string, fn func(start int)) {
	fail := make([]int, len(v))
	for i, k := 1, 0; i < len(v); i++ {
		for k > 0 && v[i] != v[k] {
			k = fail[k-1]
		}
		if v[i] == v[k] {
			k++
		}
		fail[i] = k
	}
	for i, k := 0, 0; i < len(s); i++ {
		for k > 0 && s[i] != v[k] {
			k = fail[k-1]
		}
		if s[i] == v[k] {
			k++
		}
		if k == len(v) {
			fn(i - len(v) + 1)
			k = fail[k-1]
		}
	}
}
