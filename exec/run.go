package exec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/creack/pty"
	"github.com/wsxdev/wsx/internal/mask"
	"github.com/wsxdev/wsx/internal/nodump"
	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// PTY modes.
const (
	PTYAuto   = "auto"   // a pty when masking and stdout is a terminal
	PTYAlways = "always" // always a pty
	PTYNever  = "never"  // pipes
)

// drainDelay bounds how long Run keeps reading the child's output after it
// exited (a background grandchild may hold it open), and how long a child
// has between SIGTERM and SIGKILL when the context is cancelled.
const drainDelay = 2 * time.Second

// forwarded are the signals Supervise passes to the child (forwardSignals).
var forwarded = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGWINCH}

// Errors of Supervise and ExecInPlace.
var (
	// ErrNoCommand is returned for an empty Argv.
	ErrNoCommand = errors.New("no command given")
	// ErrStart is wrapped when the command could not be started: not
	// found, not executable, not a valid program.
	ErrStart = errors.New("cannot start")
)

// Options describe one command run by Supervise or ExecInPlace.
type Options struct {
	Argv []string // command and arguments; Argv[0] is looked up in Env's PATH
	// Env is the child's whole environment, normally from BuildEnv. Run
	// adds the file secrets' paths and EnvMarker. Nil means empty.
	Env    []string
	Dir    string // working directory; "" for ours
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer // unused under a pty, where stderr shares the terminal

	// Mask replaces Values (and the content of Files) in the output by
	// mask.Marker. Values shorter than mask.MinMaskLen are not masked.
	Mask   bool
	Values [][]byte
	Files  []FileSecret

	PTY              string // PTYAuto (""), PTYAlways or PTYNever
	StdoutIsTerminal bool

	// group overrides the detection of whether the child joins our
	// process group: 0 detect, 1 join, -1 own group.
	group int
	// ctty overrides the detection of our controlling terminal: 0 detect,
	// 1 there is one, -1 there is none.
	ctty int
	// fileMode forces the memfd fallback for file secrets.
	fileMode fileMode
	// path is Argv[0] found in Env's PATH already (Run); "": look it up.
	path string
	// built says Env came from BuildEnv (Run): without file secrets it
	// is the child's as it is.
	built bool
}

// Supervise runs opts.Argv and returns its exit status: the child's code, or
// 128+N if signal N killed it. err is non-nil when the child could not be
// started or waited for, or its output could not be delivered; exitCode is
// then 1 unless the child ran to completion.
//
// Signals INT, TERM, HUP, QUIT and WINCH sent to this process are passed to
// the child; no other signal is caught. They stay caught once caught
// (forwardSignals): outside a run each does what it would uncaught. The
// child gets SIGHUP if this process dies (Pdeathsig), and its output then
// has nowhere to go but a closed pipe or pty.
//
// Three set-ups:
//   - pty (PTYAlways, or PTYAuto with Mask and StdoutIsTerminal): the child
//     is a session leader on a new pty that carries its stdin, stdout,
//     stderr and /dev/tty. Our stdin is copied in (our terminal, if stdin is
//     one, in raw mode meanwhile), the pty's output goes through the masker
//     to Stdout, the window size follows ours. INT and QUIT go to the pty's
//     foreground process group, TERM and HUP to the child's, WINCH becomes a
//     resize.
//   - pipes, when this process is in the foreground of its controlling
//     terminal: the child stays in our process group, so it can use the
//     terminal and gets the keyboard's INT, QUIT and WINCH from the kernel
//     directly; Run forwards only TERM and HUP, to the child.
//   - pipes otherwise: the child gets its own process group and all five
//     signals are forwarded to it.
//
// With Mask, Stdout and Stderr each go through their own masking Writer
// (one, if they are the same writer). Under pipes, what the child writes
// to our controlling terminal (/dev/tty) is not masked: Supervise then
// prints TTYNote on Stderr.
func Supervise(ctx context.Context, opts Options) (exitCode int, err error) {
	if len(opts.Argv) == 0 {
		return 1, ErrNoCommand
	}
	usePTY := false
	switch opts.PTY {
	case PTYAlways:
		usePTY = true
	case PTYAuto, "":
		usePTY = opts.Mask && opts.StdoutIsTerminal
	case PTYNever:
	default:
		return 1, fmt.Errorf("pty mode %q: want auto, always or never", opts.PTY)
	}

	// Forwarding stops after the file secrets are removed: a signal sent
	// to the child and to wsx together (Ctrl-C), reaching wsx only after
	// the child ended, then goes to this run, not to its default action
	// while the files are still there.
	stopSignals := func() {}
	defer func() { stopSignals() }()
	xdg, _ := lookupEnv(opts.Env, "XDG_RUNTIME_DIR")
	files, err := openFiles(opts.Files, opts.fileMode, []string{xdg, "/dev/shm"})
	if err != nil {
		return 1, err
	}
	defer files.close()
	env, path, err := opts.childEnv(files)
	if err != nil {
		return 1, err
	}

	var masker *mask.Masker
	if opts.Mask {
		vals := append(append([][]byte(nil), opts.Values...), files.content...)
		masker = mask.New(vals)
	}

	cmd := osexec.CommandContext(ctx, path)
	cmd.Args = opts.Argv
	cmd.Env = env
	cmd.Dir = opts.Dir
	cmd.ExtraFiles = files.extra
	cmd.WaitDelay = drainDelay

	sigc, stop := forwardSignals()
	stopSignals = stop

	if usePTY {
		return runPTY(cmd, opts, masker, sigc, files)
	}
	if masker != nil && opts.Stderr != nil && (opts.ctty > 0 || opts.ctty == 0 && hasTerminal()) {
		fmt.Fprintln(opts.Stderr, TTYNote)
	}
	return runPipes(cmd, opts, masker, sigc, files)
}

// runPipes runs cmd with its output through pipes.
func runPipes(cmd *osexec.Cmd, opts Options, masker *mask.Masker, sigc chan os.Signal, files *fileSet) (int, error) {
	join := opts.group > 0 || opts.group == 0 && foregroundOfTerminal()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: !join, Pdeathsig: syscall.SIGHUP}
	cmd.Stdin = opts.Stdin

	var closers []*mask.Writer
	out, errw := opts.Stdout, opts.Stderr
	if masker != nil {
		same := sameWriter(out, errw)
		if out != nil {
			mw := masker.Writer(out)
			closers = append(closers, mw)
			out = mw
		}
		if same {
			errw = out
		} else if errw != nil {
			mw := masker.Writer(errw)
			closers = append(closers, mw)
			errw = mw
		}
	}
	var pipes []*outPipe
	if masker != nil {
		growPipe(opts.Stdout)
		var err error
		if out, errw, pipes, err = pipeOutputs(out, errw); err != nil {
			return 1, fmt.Errorf("output pipe: %w", err)
		}
	}
	cmd.Stdout, cmd.Stderr = out, errw

	target := func() int { // the child, or its process group
		if join {
			return cmd.Process.Pid
		}
		return -cmd.Process.Pid
	}
	cmd.Cancel = func() error { return syscall.Kill(target(), syscall.SIGTERM) }

	err := start(cmd)
	for _, p := range pipes {
		p.started()
	}
	if err != nil {
		for _, p := range pipes {
			p.wait(0)
		}
		return 1, fmt.Errorf("%w %s: %w", ErrStart, opts.Argv[0], err)
	}
	files.closeFDs() // the child holds its own copies

	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case s := <-sigc:
				sig := s.(syscall.Signal)
				if join && sig != syscall.SIGTERM && sig != syscall.SIGHUP {
					continue // the terminal already sent it to the child
				}
				_ = syscall.Kill(target(), sig)
			case <-stop:
				return
			}
		}
	}()

	werr := cmd.Wait()
	var cerr error
	for _, p := range pipes {
		if err := p.wait(drainDelay); err != nil && cerr == nil {
			cerr = err
		}
	}
	for _, c := range closers {
		if err := c.Close(); err != nil && cerr == nil {
			cerr = err
		}
	}
	return finish(cmd, opts, werr, cerr)
}

// finish turns the outcome of Wait into an exit status and error.
func finish(cmd *osexec.Cmd, opts Options, werr, outErr error) (int, error) {
	ps := cmd.ProcessState
	if ps == nil {
		return 1, fmt.Errorf("wait %s: %w", opts.Argv[0], werr)
	}
	code := exitStatus(ps)
	var ee *osexec.ExitError
	if werr != nil && !errors.As(werr, &ee) && !errors.Is(werr, osexec.ErrWaitDelay) {
		return code, fmt.Errorf("output of %s: %w", opts.Argv[0], werr)
	}
	if outErr != nil {
		return code, fmt.Errorf("output of %s: %w", opts.Argv[0], outErr)
	}
	return code, nil
}

// exitStatus is the child's exit code, or 128+N when signal N killed it.
func exitStatus(ps *os.ProcessState) int {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

// runPTY runs cmd on a new pty.
func runPTY(cmd *osexec.Cmd, opts Options, masker *mask.Masker, sigc chan os.Signal, files *fileSet) (int, error) {
	ptmx, tty, err := openPTY()
	if err != nil {
		return 1, fmt.Errorf("open pty: %w", err)
	}
	defer ptmx.Close()
	defer tty.Close()

	inTerm := terminalFile(opts.Stdin)
	sizeSrc := inTerm
	if sizeSrc == nil && opts.StdoutIsTerminal {
		sizeSrc = terminalFile(opts.Stdout)
	}
	copySize(ptmx, sizeSrc)

	veof := byte(4)
	if t, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS); err == nil {
		veof = t.Cc[unix.VEOF]
		if inTerm == nil {
			// Input that is not typed should not be echoed into the output.
			t.Lflag &^= unix.ECHO
			_ = unix.IoctlSetTermios(int(tty.Fd()), unix.TCSETS, t)
		}
	}

	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0, Pdeathsig: syscall.SIGHUP}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }

	var out io.Writer = io.Discard
	if opts.Stdout != nil {
		out = opts.Stdout
	}
	var mw *mask.Writer
	if masker != nil {
		mw = masker.Writer(out)
		out = mw
	}

	if err := start(cmd); err != nil {
		return 1, fmt.Errorf("%w %s: %w", ErrStart, opts.Argv[0], err)
	}
	tty.Close()
	files.closeFDs()

	if inTerm != nil {
		if fd, ok := fileFD(inTerm); ok {
			if st, err := term.MakeRaw(fd); err == nil {
				defer term.Restore(fd, st)
			}
		}
	}

	outDone := make(chan error, 1)
	go func() {
		_, err := io.Copy(out, ptmx)
		var pe *os.PathError
		if errors.As(err, &pe) && errors.Is(pe.Err, syscall.EIO) {
			err = nil // every slave fd closed
		}
		if err != nil {
			ptmx.Close() // the child gets a hangup instead of a full buffer
		}
		outDone <- err
	}()

	stopIn := make(chan struct{})
	go pumpInput(ptmx, opts.Stdin, veof, stopIn)

	stopSig := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-sigc:
				sig := s.(syscall.Signal)
				switch sig {
				case syscall.SIGWINCH:
					if sizeSrc != nil {
						copySize(ptmx, sizeSrc) // the kernel signals the pty's foreground group
						continue
					}
					_ = syscall.Kill(-foregroundGroup(ptmx, cmd.Process.Pid), sig)
				case syscall.SIGINT, syscall.SIGQUIT:
					_ = syscall.Kill(-foregroundGroup(ptmx, cmd.Process.Pid), sig)
				default:
					_ = syscall.Kill(-cmd.Process.Pid, sig)
				}
			case <-stopSig:
				return
			}
		}
	}()
	defer close(stopSig)

	werr := cmd.Wait()
	close(stopIn)
	var oerr error
	select {
	case oerr = <-outDone:
	case <-time.After(drainDelay):
		ptmx.Close()
		oerr = <-outDone
	}
	if mw != nil {
		if err := mw.Close(); err != nil && oerr == nil {
			oerr = err
		}
	}
	return finish(cmd, opts, werr, oerr)
}

// start starts cmd with the core file limit wsx was started with.
func start(cmd *osexec.Cmd) error {
	restore := nodump.ForChild()
	defer restore()
	return cmd.Start()
}

// openPTY opens a pty pair with a master that Close can interrupt.
func openPTY() (ptmx, tty *os.File, err error) {
	p, t, err := pty.Open()
	if err != nil {
		return nil, nil, err
	}
	// pty.Open leaves the master in blocking mode, where a pending Read
	// survives Close. Re-wrap a non-blocking duplicate for the poller.
	fd, err := unix.FcntlInt(p.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	p.Close()
	if err != nil {
		t.Close()
		return nil, nil, err
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		t.Close()
		return nil, nil, err
	}
	return os.NewFile(uintptr(fd), "/dev/ptmx"), t, nil
}

// pumpInput copies in to the pty until in ends or stop closes. When input
// that is not a terminal ends, the child reads end-of-file.
func pumpInput(ptmx *os.File, in io.Reader, veof byte, stop chan struct{}) {
	if in == nil {
		_, _ = ptmx.Write([]byte{veof})
		return
	}
	if f, ok := in.(*os.File); ok {
		if fd, ok := fileFD(f); ok {
			pumpFD(ptmx, fd, veof, stop, terminalFile(f) != nil)
			return
		}
	}
	last := byte('\n')
	buf := make([]byte, 32<<10)
	for {
		n, err := in.Read(buf)
		if n > 0 {
			if _, werr := ptmx.Write(buf[:n]); werr != nil {
				return
			}
			last = buf[n-1]
		}
		if err != nil {
			sendEOF(ptmx, veof, last)
			return
		}
	}
}

// pumpFD copies from a file descriptor, polling so that it stops when the
// child has exited instead of taking one more read from our stdin.
func pumpFD(ptmx *os.File, fd int, veof byte, stop chan struct{}, isTerm bool) {
	r, w, err := os.Pipe()
	if err != nil {
		return
	}
	defer r.Close()
	go func() { <-stop; w.Close() }()
	rfd, _ := fileFD(r)
	last := byte('\n')
	buf := make([]byte, 32<<10)
	for {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}, {Fd: int32(rfd), Events: unix.POLLIN}}
		if _, err := unix.Poll(fds, -1); err != nil {
			if err == unix.EINTR {
				continue
			}
			return
		}
		if fds[1].Revents != 0 {
			return
		}
		if fds[0].Revents == 0 {
			continue
		}
		n, err := unix.Read(fd, buf)
		if err == unix.EINTR || err == unix.EAGAIN {
			continue
		}
		if n > 0 {
			if _, werr := ptmx.Write(buf[:n]); werr != nil {
				return
			}
			last = buf[n-1]
			continue
		}
		if !isTerm {
			sendEOF(ptmx, veof, last)
		}
		return
	}
}

// sendEOF makes the child's next read return end-of-file: one VEOF ends the
// file at a line start; after a partial line a first one flushes the line.
func sendEOF(ptmx *os.File, veof, last byte) {
	if last != '\n' {
		_, _ = ptmx.Write([]byte{veof})
	}
	_, _ = ptmx.Write([]byte{veof})
}

// foregroundGroup returns the pty's foreground process group, or pid.
func foregroundGroup(ptmx *os.File, pid int) int {
	var pg int
	if fd, ok := fileFD(ptmx); ok {
		if g, err := unix.IoctlGetInt(fd, unix.TIOCGPGRP); err == nil && g > 0 {
			pg = g
		}
	}
	if pg == 0 {
		pg = pid
	}
	return pg
}

// copySize gives the pty the window size of src, or 80x24.
func copySize(ptmx, src *os.File) {
	ws := &unix.Winsize{Row: 24, Col: 80}
	if src != nil {
		if fd, ok := fileFD(src); ok {
			if w, err := unix.IoctlGetWinsize(fd, unix.TIOCGWINSZ); err == nil && w.Row > 0 && w.Col > 0 {
				ws = w
			}
		}
	}
	if fd, ok := fileFD(ptmx); ok {
		_ = unix.IoctlSetWinsize(fd, unix.TIOCSWINSZ, ws)
	}
}

// terminalFile returns x as a file when it is a terminal.
func terminalFile(x any) *os.File {
	f, ok := x.(*os.File)
	if !ok || f == nil {
		return nil
	}
	if fd, ok := fileFD(f); ok && term.IsTerminal(fd) {
		return f
	}
	return nil
}

// IsTerminal reports whether w is a terminal, without switching it to
// blocking mode as File.Fd would.
func IsTerminal(w io.Writer) bool { return terminalFile(w) != nil }

// fileFD returns f's descriptor without switching it to blocking mode (as
// File.Fd does).
func fileFD(f *os.File) (int, bool) {
	sc, err := f.SyscallConn()
	if err != nil {
		return 0, false
	}
	fd := -1
	if sc.Control(func(u uintptr) { fd = int(u) }) != nil || fd < 0 {
		return 0, false
	}
	return fd, true
}

// TTYNote is what Supervise prints on Stderr when it masks through pipes while
// this process has a controlling terminal: the child can open that
// terminal (/dev/tty) and write to it past the masking.
const TTYNote = "wsx: note: output is masked, but what the command writes to the terminal itself (/dev/tty) is not; --pty always masks that too"

// hasTerminal reports whether this process has a controlling terminal.
func hasTerminal() bool {
	fd, err := unix.Open("/dev/tty", unix.O_RDONLY|unix.O_NOCTTY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return false
	}
	unix.Close(fd)
	return true
}

// foregroundOfTerminal reports whether this process has a controlling
// terminal and is in its foreground process group.
func foregroundOfTerminal() bool {
	fd, err := unix.Open("/dev/tty", unix.O_RDONLY|unix.O_NOCTTY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	pg, err := unix.IoctlGetInt(fd, unix.TIOCGPGRP)
	return err == nil && pg == unix.Getpgrp()
}

// sameWriter reports whether a and b are the same comparable writer.
func sameWriter(a, b io.Writer) (same bool) {
	if a == nil || b == nil {
		return false
	}
	defer func() {
		if recover() != nil {
			same = false // incomparable dynamic type
		}
	}()
	return a == b
}

// LookPath finds file in the PATH of env, as Run and ExecInPlace do.
// Relative PATH entries are ignored, so a command never resolves to the
// current directory by accident; the error then wraps os/exec's
// ErrNotFound. A name with a slash is used as is, if it is an executable
// regular file (else the error wraps fs.ErrNotExist or fs.ErrPermission).
func LookPath(file string, env []string) (string, error) {
	return lookPath(file, env, "")
}

// childEnv returns the child's whole environment, opts.Env with the
// paths of the file secrets (and EnvMarker: BuildEnv) unless Run built it
// already and there are none, and where opts.Argv[0] is found in its
// PATH; the error wraps ErrStart.
func (opts Options) childEnv(files *fileSet) (env []string, path string, err error) {
	env = opts.Env
	if !opts.built || len(files.env) > 0 {
		env = BuildEnv(opts.Env, files.env)
	}
	path, err = opts.lookPath(env)
	if err != nil {
		return nil, "", fmt.Errorf("%w %s: %w", ErrStart, opts.Argv[0], err)
	}
	return env, path, nil
}

// lookPath finds opts.Argv[0] in the PATH of env, the child's whole
// environment, unless Run found it already (in the same PATH).
func (opts Options) lookPath(env []string) (string, error) {
	if opts.path != "" && opts.Dir == "" && lookupPATH(env) == lookupPATH(opts.Env) {
		return opts.path, nil
	}
	return lookPath(opts.Argv[0], env, opts.Dir)
}

// lookupPATH returns env's PATH.
func lookupPATH(env []string) string {
	v, _ := lookupEnv(env, "PATH")
	return v
}

// lookPath is LookPath with a name containing a slash taken relative to
// dir ("" for the current directory) and checked: it must be an
// executable regular file, or the error wraps fs.ErrNotExist or
// fs.ErrPermission.
func lookPath(file string, env []string, dir string) (string, error) {
	if strings.Contains(file, "/") {
		p := file
		if dir != "" && !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		fi, err := os.Stat(p)
		if err != nil {
			return "", err
		}
		if !fi.Mode().IsRegular() || fi.Mode()&0o111 == 0 {
			return "", &fs.PathError{Op: "exec", Path: file, Err: fs.ErrPermission}
		}
		return file, nil
	}
	pathEnv, _ := lookupEnv(env, "PATH")
	for _, d := range filepath.SplitList(pathEnv) {
		if d == "" || !filepath.IsAbs(d) {
			continue
		}
		p := filepath.Join(d, file)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%q: %w", file, osexec.ErrNotFound)
}

// ExecInPlace replaces this process with opts.Argv: no supervisor, no
// masking, no signal handling, the child's exit status is ours. It uses
// Argv, Env, Dir and Files; file secrets are memfds inherited across the
// exec (ErrNoMemfd where memfd is unavailable: use Supervise). It returns only on
// failure.
func ExecInPlace(opts Options) error {
	if len(opts.Argv) == 0 {
		return ErrNoCommand
	}
	files, err := openFiles(opts.Files, filesInPlace, nil)
	if err != nil {
		return err
	}
	defer files.close()
	env, path, err := opts.childEnv(files)
	if err != nil {
		return err
	}
	if opts.Dir != "" {
		// A relative path is then taken from Dir, as Supervise does.
		old, err := os.Getwd()
		if err != nil {
			return fmt.Errorf("exec %s: %w", opts.Argv[0], err)
		}
		if err := os.Chdir(opts.Dir); err != nil {
			return fmt.Errorf("exec %s: %w", opts.Argv[0], err)
		}
		defer os.Chdir(old)
	}
	releaseSignals()
	restore := nodump.ForChild()
	err = unix.Exec(path, opts.Argv, env) // restores the open-files limit the Go runtime raised
	restore()
	return fmt.Errorf("%w %s: %w", ErrStart, opts.Argv[0], err)
}
