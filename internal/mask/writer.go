package mask

import (
	"errors"
	"io"
	"slices"
	"sync"
	"time"
)

// FlushDelay is how long a Writer keeps back the bytes that could begin a
// secret when no more input arrives, as long as they are at most MaxShown
// bytes of it. After it they are written as they are, so a prompt that ends
// in a few bytes that could start a value still appears.
const FlushDelay = 10 * time.Millisecond

// MaxShown is the most bytes of a value a Writer lets out before the value
// is complete, however slowly it is written: a possible beginning of a
// value longer than MaxShown bytes is held until a byte rules the value
// out, or until Close.
const MaxShown = 3

// outChunk bounds the input a Writer reads before passing on what it
// resolved, and the output it gathers in its own buffer, so a single huge
// write does not double in memory. Output that is a run of the input
// itself is passed on from the caller's buffer, without a copy.
const outChunk = 256 << 10

// ErrClosed is returned by Write on a closed Writer.
var ErrClosed = errors.New("masking writer closed")

// Writer masks one output stream. It passes bytes through as soon as no
// pattern can cover them; it holds back only the longest tail of the input
// that is the beginning of some pattern (never more than the longest
// pattern minus one byte). When that beginning is at most MaxShown bytes
// long, it goes out FlushDelay after the last write; a longer one waits for
// the byte that completes or rules out the value, or for Close. Where matches overlap or touch, their union is replaced by a single
// Marker, so no fragment of a longer or overlapping value shows.
//
// Write and Close are safe for concurrent use; each stream (stdout,
// stderr) should still have its own Writer so their bytes do not mingle
// inside a pattern.
type Writer struct {
	mu    sync.Mutex
	mk    *Masker
	a     *automaton // nil until the first Write
	m     *matcher
	match func(start, end int64, pat int32)
	w     io.Writer

	pos     int64      // input bytes consumed
	emitted int64      // input bytes resolved (passed on or masked)
	hold    []byte     // input [emitted, pos)
	ivs     []interval // pending masked ranges from ivs[ivHead], sorted, disjoint, not touching
	ivHead  int
	inMask  bool   // the last resolved byte was masked
	out     []byte // output not yet passed on, after cur[pendA:pendB]
	// cur[pendA:pendB] is output not yet passed on: a run of the input of
	// the Write in progress (cur), passed on without a copy. When it is
	// not empty, out is.
	cur          []byte
	pendA, pendB int

	delay  time.Duration // 0: held bytes wait for the next Write or Close
	err    error
	closed bool
	timer  *time.Timer
	armed  bool
	last   time.Time
}

type interval struct{ start, end int64 }

// Writer returns a Writer that masks what it is given and writes the result
// to w. Close flushes the bytes held back; it does not close w.
func (m *Masker) Writer(w io.Writer) *Writer {
	return m.writer(w, FlushDelay)
}

func (m *Masker) writer(w io.Writer, delay time.Duration) *Writer {
	mw := &Writer{mk: m, w: w, delay: delay}
	mw.match = func(start, end int64, _ int32) { mw.addInterval(start, end) }
	return mw
}

// Write masks p and passes on everything that can no longer be part of a
// secret. On an error from the underlying writer it returns 0 and that
// error, now and on every later call.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return 0, ErrClosed
	}
	if w.err != nil {
		return 0, w.err
	}
	if w.a == nil {
		w.a = w.mk.automaton()
		w.m = newMatcher(w.a)
	}
	w.cur = p
	defer func() { w.cur = nil }()
	if len(w.a.match) <= 1 { // no patterns: pass through
		w.emitInput(0, len(p))
		w.pos += int64(len(p))
		w.emitted = w.pos
		return w.finish(len(p))
	}

	holdBase := w.emitted // stream offset of hold[0]
	start := w.pos        // stream offset of p[0]
	for off := 0; off < len(p); off += outChunk {
		end := min(off+outChunk, len(p))
		w.m.feed(p[off:end], w.match)
		w.pos = start + int64(end)
		w.commit(w.m.safe(), holdBase, start, p)
		if err := w.flushOut(); err != nil {
			return 0, err
		}
	}

	// The new hold is stream [emitted, pos): a tail of the old hold and/or
	// of p. Shift the old part to the front, then append from p.
	var n int
	if w.emitted < start {
		n = copy(w.hold, w.hold[w.emitted-holdBase:])
		w.hold = append(w.hold[:n], p...)
	} else {
		w.hold = append(w.hold[:0], p[w.emitted-start:]...)
	}
	return w.finish(len(p))
}

// finish passes on the gathered output and arms the flush timer when bytes
// are held. The caller holds mu.
func (w *Writer) finish(n int) (int, error) {
	if err := w.flushOut(); err != nil {
		return 0, err
	}
	if w.pos > w.emitted && w.delay > 0 {
		w.last = time.Now()
		if !w.armed {
			w.armed = true
			if w.timer == nil {
				w.timer = time.AfterFunc(w.delay, w.onTimer)
			} else {
				w.timer.Reset(w.delay)
			}
		}
	}
	return n, nil
}

// onTimer flushes the held bytes once FlushDelay has passed since the last
// write, unless they may be the beginning of a value longer than MaxShown.
func (w *Writer) onTimer() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.armed = false
	if w.closed || w.err != nil || w.pos == w.emitted {
		return
	}
	if d := time.Since(w.last); d < w.delay {
		w.armed = true
		w.timer.Reset(w.delay - d)
		return
	}
	if w.m.possible() > MaxShown {
		return // the next Write or Close decides
	}
	w.flushHeld()
	_ = w.flushOut() // the error is kept for the next Write
}

// Close passes on the bytes still held back (masked where they complete a
// pattern) and stops the timer. It does not close the underlying writer.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	if w.timer != nil {
		w.timer.Stop()
	}
	if w.err != nil || w.m == nil { // an error, or nothing written
		return w.err
	}
	w.m.end(w.match)
	w.flushHeld()
	return w.flushOut()
}

// flushHeld resolves every held byte. The automaton keeps its state, so a
// value whose beginning was flushed still has the rest masked.
func (w *Writer) flushHeld() {
	w.commit(w.pos, w.emitted, w.pos, nil)
	w.hold = w.hold[:0]
}

// held reports how many input bytes are held back.
func (w *Writer) held() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return int(w.pos - w.emitted)
}

// flushOut passes on the output gathered so far.
func (w *Writer) flushOut() error {
	w.flushPend()
	if len(w.out) > 0 && w.err == nil {
		_, w.err = w.w.Write(w.out)
	}
	w.out = w.out[:0]
	return w.err
}

// flushPend passes on cur[pendA:pendB].
func (w *Writer) flushPend() {
	if w.pendB > w.pendA && w.err == nil {
		_, w.err = w.w.Write(w.cur[w.pendA:w.pendB])
	}
	w.pendA, w.pendB = 0, 0
}

// emitInput outputs cur[a:b], without a copy where it can. After copied
// output (held bytes) it is copied too, for one write rather than two: a
// write of the held bytes on their own measured slower through
// `wsx exec -- cat` than the copy.
func (w *Writer) emitInput(a, b int) {
	switch {
	case len(w.out) > 0:
		w.out = append(w.out, w.cur[a:b]...)
	case w.pendB > w.pendA && w.pendB == a:
		w.pendB = b
	default:
		w.flushPend()
		w.pendA, w.pendB = a, b
	}
}

// emit outputs b, copied.
func (w *Writer) emit(b []byte) {
	w.flushPend()
	w.out = append(w.out, b...)
}

// addInterval records that input [a, b) is masked. Matches mostly come
// in order of their end, so the intervals it joins are the last ones.
func (w *Writer) addInterval(a, b int64) {
	a = max(a, w.emitted) // earlier bytes went out on a timed flush
	if a >= b {
		return
	}
	i := len(w.ivs) // ivs[i:] touch or overlap [a, b), or lie after it
	for i > w.ivHead && w.ivs[i-1].end >= a {
		i--
	}
	j := i // ivs[j:] lie after [a, b)
	for j < len(w.ivs) && w.ivs[j].start <= b {
		a, b = min(a, w.ivs[j].start), max(b, w.ivs[j].end)
		j++
	}
	if j < len(w.ivs) { // rare: a match of the fork ending before the last
		w.ivs = slices.Replace(w.ivs, i, j, interval{a, b})
		return
	}
	w.ivs = w.ivs[:i]
	if w.ivHead > 0 && w.ivHead == len(w.ivs) {
		w.ivs, w.ivHead = w.ivs[:0], 0
	} else if w.ivHead > 64 && w.ivHead > len(w.ivs)/2 {
		n := copy(w.ivs, w.ivs[w.ivHead:])
		w.ivs, w.ivHead = w.ivs[:n], 0
	}
	w.ivs = append(w.ivs, interval{a, b})
}

// commit resolves input [emitted, safe). The input is read from hold
// (stream offsets from holdBase up to start) and p (from start).
func (w *Writer) commit(safe, holdBase, start int64, p []byte) {
	for w.emitted < safe {
		pending := w.ivHead < len(w.ivs)
		if pending && w.ivs[w.ivHead].start <= w.emitted {
			if !w.inMask {
				w.emit([]byte(Marker))
				w.inMask = true
			}
			iv := w.ivs[w.ivHead]
			if iv.end <= safe {
				w.emitted = iv.end
				w.ivHead++
			} else {
				w.emitted = safe
			}
			continue
		}
		next := safe
		if pending && w.ivs[w.ivHead].start < next {
			next = w.ivs[w.ivHead].start
		}
		x := w.emitted
		if x < start {
			e := min(next, start)
			w.emit(w.hold[x-holdBase : e-holdBase])
			x = e
		}
		if x < next {
			w.emitInput(int(x-start), int(next-start))
		}
		w.inMask = false
		w.emitted = next
	}
	if w.ivHead == len(w.ivs) {
		w.ivs, w.ivHead = w.ivs[:0], 0
	}
}
