package exec

import (
	"errors"
	"io"
	"os"
	"time"

	"github.com/wsxdev/wsx/internal/oneproc"
	"golang.org/x/sys/unix"
)

// pipeSize is the kernel buffer asked for each output pipe and the size of
// the reads from it: large reads keep the system calls per byte, and so the
// masking supervisor's cost, close to what the child's own writes take.
const pipeSize = 1 << 20

// firstRead is the size of the first reads from an output pipe.
const firstRead = 32 << 10

// outPipe carries one output stream of the child to w.
type outPipe struct {
	r, w *os.File
	done chan error
}

// newOutPipe makes a pipe whose write end is the child's stream and starts
// copying its read end to w.
func newOutPipe(w io.Writer) (*outPipe, error) {
	r, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	// Best effort: the default (64 KiB) still works, only slower.
	_, _ = unix.FcntlInt(pw.Fd(), unix.F_SETPIPE_SZ, pipeSize)
	p := &outPipe{r: r, w: pw, done: make(chan error, 1)}
	go func() {
		// Small at first: most commands print little, and a buffer of
		// pipeSize costs its page faults up front; it grows to pipeSize
		// once a read fills it.
		buf := make([]byte, firstRead)
		var werr error
		for {
			n, err := r.Read(buf)
			if n > 0 && werr == nil {
				if _, werr = w.Write(buf[:n]); werr != nil {
					r.Close() // the child gets EPIPE rather than a full pipe
				}
			}
			if err != nil {
				if errors.Is(err, io.EOF) || errors.Is(err, os.ErrClosed) {
					err = nil
				}
				if werr == nil {
					werr = err
				}
				p.done <- werr
				return
			}
			if n == len(buf) && len(buf) < pipeSize {
				// Output enough to fill a read: the masking gets the
				// process's Ps back.
				oneproc.Restore()
				buf = make([]byte, pipeSize)
			}
		}
	}()
	return p, nil
}

// started closes our copy of the write end once the child holds its own.
func (p *outPipe) started() { p.w.Close() }

// wait waits for the copy to end, at most d after the child exited (a
// background grandchild may hold the pipe open), and returns its error.
func (p *outPipe) wait(d time.Duration) error {
	select {
	case err := <-p.done:
		return err
	case <-time.After(d):
		p.r.Close()
		return <-p.done
	}
}

// pipeOutputs gives each of the writers out and errw (the same writer once
// when they are equal) a pipe the child writes to, returning the pipes'
// write ends in their place.
func pipeOutputs(out, errw io.Writer) (io.Writer, io.Writer, []*outPipe, error) {
	var pipes []*outPipe
	fail := func(err error) (io.Writer, io.Writer, []*outPipe, error) {
		for _, p := range pipes {
			p.started()
			p.wait(0)
		}
		return nil, nil, nil, err
	}
	same := sameWriter(out, errw)
	if out != nil {
		p, err := newOutPipe(out)
		if err != nil {
			return fail(err)
		}
		pipes = append(pipes, p)
		out = p.w
	}
	if same {
		errw = out
	} else if errw != nil {
		p, err := newOutPipe(errw)
		if err != nil {
			return fail(err)
		}
		pipes = append(pipes, p)
		errw = p.w
	}
	return out, errw, pipes, nil
}

// growPipe asks for a pipeSize buffer on w when it is a pipe: fewer,
// larger writes where our output goes.
func growPipe(w io.Writer) {
	f, ok := w.(*os.File)
	if !ok {
		return
	}
	fd, ok := fileFD(f)
	if !ok {
		return
	}
	var st unix.Stat_t
	if unix.Fstat(fd, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFIFO {
		_, _ = unix.FcntlInt(uintptr(fd), unix.F_SETPIPE_SZ, pipeSize)
	}
}
