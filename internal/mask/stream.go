package mask

import (
	"bytes"
	"encoding/binary"
)

// The automaton reads a view of the stream with decorations taken out, so
// a value still matches when a terminal colour code sits between two of
// its characters or its encoding is wrapped over lines:
//   - SGR sequences, ESC '[' then at most maxSGRParams of 0-9 ; : then 'm';
//   - a line break (LF or CRLF) that ends a line of exactly 60, 64 or 76
//     bytes of the base64 and hex alphabets (GNU base64 wraps at 76, PEM
//     and many tools at 64, `xxd -p` at 60).
//
// Everything else, other line breaks included, is read as it is. Matches
// are reported in stream offsets: a match spans the decorations inside it.
const maxSGRParams = 16

// sgrParam reports whether c may stand between ESC '[' and 'm' in an SGR
// sequence.
func sgrParam(c byte) bool { return c >= '0' && c <= '9' || c == ';' || c == ':' }

// wrapWidth reports whether a line of n bytes may be a wrapped encoding.
func wrapWidth(n int) bool { return n == 60 || n == 64 || n == 76 }

// wrapAlpha marks the bytes of the base64 (standard and URL) and hex
// alphabets.
var wrapAlpha = func() (t [256]bool) {
	for _, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_") {
		t[c] = true
	}
	return t
}()

func allWrapAlpha(b []byte) bool {
	for _, c := range b {
		if !wrapAlpha[c] {
			return false
		}
	}
	return true
}

// checkpoint says that view offsets from f on sit delta bytes further in
// the stream.
type checkpoint struct{ f, delta int64 }

// matcher runs the automaton over a stream, across calls to feed.
type matcher struct {
	a   *automaton
	s   int32 // automaton state
	raw int64 // stream bytes fed
	// fed is the number of view bytes read. The view offset of a stream
	// byte is its stream offset minus the delta of the last checkpoint at
	// or before it.
	fed       int64
	cps       []checkpoint // recent checkpoints, oldest first
	baseDelta int64        // the delta before cps[0]

	// esc holds an SGR sequence not yet complete when its input ended;
	// cr is set when the input ended in the CR of what may be a wrapping
	// CRLF.
	esc []byte
	cr  bool

	// The line being read: its length so far, and whether it is all of
	// the wrap alphabet (tracked while it is short enough to matter).
	lineLen   int
	lineAlpha bool
	// encLine is set when the last line read looked like one of an
	// encoding (encodingLike): the next is not skipped over.
	encLine bool

	// es is the state of a.esc, which reads the stream as it is, and
	// escRaw the stream bytes it has read.
	es     int32
	escRaw int64
}

func newMatcher(a *automaton) *matcher {
	return &matcher{a: a, lineAlpha: true}
}

// delta returns the distance between view offset f and its stream offset.
func (m *matcher) delta(f int64) int64 {
	for i := len(m.cps) - 1; i >= 0; i-- {
		if m.cps[i].f <= f {
			return m.cps[i].delta
		}
	}
	return m.baseDelta
}

// rawOf returns the stream offset of view offset f.
func (m *matcher) rawOf(f int64) int64 { return f + m.delta(f) }

// gap records that n stream bytes ending at stream offset end are not in
// the view.
func (m *matcher) gap(end int64) {
	d := end - m.fed
	if k := len(m.cps); k > 0 && m.cps[k-1].f == m.fed {
		m.cps[k-1].delta = d
	} else {
		m.cps = append(m.cps, checkpoint{m.fed, d})
	}
	// Matches and held tails reach back at most maxLen view bytes.
	drop := 0
	for drop+1 < len(m.cps) && m.cps[drop+1].f <= m.fed-int64(m.a.maxLen)-1 {
		drop++
	}
	if drop > 0 {
		m.baseDelta = m.cps[drop-1].delta
		m.cps = append(m.cps[:0], m.cps[drop:]...)
	}
}

// safe returns the stream offset before which no byte can belong to a
// match not yet reported: the start of the longest possible beginning of a
// value, or of an SGR sequence not yet complete.
func (m *matcher) safe() int64 {
	s := m.rawOf(m.fed - int64(m.a.keep[m.s]))
	if len(m.esc) > 0 {
		s = min(s, m.raw-int64(len(m.esc)))
	}
	if m.cr {
		s = min(s, m.raw-1)
	}
	if e := m.a.esc; e != nil {
		s = min(s, m.escRaw-int64(e.keep[m.es]))
	}
	return s
}

// possible is the length in view bytes (stream bytes for a pattern with
// SGR sequences in it) of the longest possible beginning of a value at the
// end of what was fed.
func (m *matcher) possible() int {
	n := int(m.a.keep[m.s])
	if e := m.a.esc; e != nil {
		n = max(n, int(e.keep[m.es]))
	}
	return n
}

// feedEsc reads p as it is with a.esc, calling match for each pattern
// with SGR sequences in it that ends in p. Its matches come after those of
// the view that end later; Find and the Writer put them in order.
func (m *matcher) feedEsc(p []byte, match func(start, end int64, pat int32)) {
	e, s := m.a.esc, m.es
	for k := 0; k < len(p); k++ {
		if s == 0 {
			k = e.skip(p, k) // as in run
		}
		s = e.step(s, p[k])
		if l := e.match[s]; l != 0 {
			end := m.escRaw + int64(k) + 1
			match(end-int64(l), end, m.a.escPat[e.pat[s]])
		}
	}
	m.es = s
	m.escRaw += int64(len(p))
}

// feed reads p, calling match for each pattern that ends in it with the
// stream offsets it spans and the pattern's index.
func (m *matcher) feed(p []byte, match func(start, end int64, pat int32)) {
	if m.a.esc != nil {
		m.feedEsc(p, match)
	}
	i := 0
	if m.cr && len(p) > 0 {
		m.cr = false
		if p[0] == '\n' {
			m.raw++
			m.gap(m.raw)
			m.lineLen, m.lineAlpha = 0, true
			i = 1
		} else {
			m.raw--
			m.stepBytes([]byte{'\r'}, match)
		}
	}
	if len(m.esc) > 0 {
		i += m.continueSGR(p[i:], match)
	}
	nextESC := -1 // not searched yet
	for i < len(p) {
		// The next cut: an ESC, or a line break that wraps an encoding.
		if nextESC < i {
			if k := bytes.IndexByte(p[i:], 0x1b); k >= 0 {
				nextESC = i + k
			} else {
				nextESC = len(p)
			}
		}
		cut, cutLen := nextESC, 0
		j := i
		if m.lineLen == 0 && !m.encLine {
			j = m.skipLines(p, j, cut)
		}
		for j < cut {
			k := bytes.IndexByte(p[j:cut], '\n')
			if k < 0 {
				// A CR that ends the input after a wrapped line waits
				// for the next byte.
				if cut == len(p) && p[cut-1] == '\r' && wrapWidth(m.lineLen+cut-1-j) &&
					m.lineAlpha && allWrapAlpha(p[j:cut-1]) {
					cut, cutLen = cut-1, -1
					m.lineLen += cut - j
					break
				}
				m.lineTail(p[j:cut])
				break
			}
			nl := j + k
			body := p[j:nl]
			if k > 0 && p[nl-1] == '\r' {
				body = body[:k-1]
			}
			if wrapWidth(m.lineLen+len(body)) && m.lineAlpha && allWrapAlpha(body) {
				cut, cutLen = j+len(body), nl+1-(j+len(body))
				m.lineLen, m.lineAlpha, m.encLine = 0, true, true
				break
			}
			// After a line like an encoding's the next is read line by
			// line: it is likely one too, which skipLines would stop at.
			m.encLine = len(body) >= minWrap && encodingLike(body)
			m.lineLen, m.lineAlpha = 0, true
			if m.encLine {
				j = nl + 1
			} else {
				j = m.skipLines(p, nl+1, cut)
			}
		}
		m.run(p, i, cut, match)
		i = cut
		if i >= len(p) {
			break
		}
		if cutLen > 0 { // a wrapping line break
			i += cutLen
			m.raw += int64(cutLen)
			m.gap(m.raw)
			continue
		}
		if cutLen < 0 { // the CR of a possible wrapping CRLF, last byte of p
			m.cr = true
			m.raw++
			break
		}
		// An ESC: an SGR sequence to leave out, or an ordinary byte.
		m.esc = append(m.esc[:0], 0x1b)
		m.raw++
		i++
		i += m.continueSGR(p[i:], match)
	}
}

// end reads what feed held at the end of the input (an unfinished SGR
// sequence, a CR) as ordinary bytes.
func (m *matcher) end(match func(start, end int64, pat int32)) {
	if m.cr {
		m.cr = false
		m.raw--
		m.stepBytes([]byte{'\r'}, match)
	}
	if len(m.esc) > 0 {
		held := m.esc
		m.esc = nil
		m.raw -= int64(len(held))
		m.stepBytes(held, match)
		m.esc = held[:0]
	}
}

// minWrap is the shortest line of a wrapped encoding (wrapWidth).
const minWrap = 60

// skipLines passes over the lines of p[j:cut], j the start of a line, up
// to the first that holds a run of minWrap bytes of the wrap alphabet:
// only such a line may be a wrapped encoding, whose line break feed leaves
// out. It returns the start of that line, or cut when there is none, with
// the line state set for the unfinished line at cut.
func (m *matcher) skipLines(p []byte, j, cut int) int {
	b := p[j:cut]
	r := wrapRun(b)
	if r < 0 {
		m.lineLen, m.lineAlpha = 0, true
		m.lineTail(b[bytes.LastIndexByte(b, '\n')+1:])
		return cut
	}
	return j + bytes.LastIndexByte(b[:r], '\n') + 1
}

// wrapRun returns where the first run of minWrap bytes of the wrap
// alphabet in b starts (or a point inside it), or -1. Such a run holds
// wrapWords whole 8-byte words of b, one of them at a multiple of
// wrapWords words: wrapRun reads those, a word at a time, and looks
// closer only at one that holds no byte below '+' (space, line breaks,
// most punctuation) and none above 0x7f.
func wrapRun(b []byte) int {
	for q := 0; q+8 <= len(b); q += wrapWords * 8 {
		x := binary.LittleEndian.Uint64(b[q:])
		if ((x-'+'*ones)&^x|x)&high != 0 || !allWrapAlpha(b[q:q+8]) {
			continue
		}
		lo := q
		for lo > 0 && q-lo < minWrap && wrapAlpha[b[lo-1]] {
			lo--
		}
		hi := q + 8
		for hi < len(b) && hi-lo < minWrap && wrapAlpha[b[hi]] {
			hi++
		}
		if hi-lo >= minWrap {
			return lo
		}
	}
	return -1
}

// encodingLike says whether line, of at least 8 bytes, begins and ends in
// 8 bytes none of them below '+' (space, line breaks, most punctuation)
// or above 0x7f, as a line of base64 or hex does.
func encodingLike(line []byte) bool {
	x := binary.LittleEndian.Uint64(line)
	y := binary.LittleEndian.Uint64(line[len(line)-8:])
	return ((x-'+'*ones)&^x|x|(y-'+'*ones)&^y|y)&high == 0
}

// Constants of the word tests: a byte below c in x shows in
// ((x-c*ones)&^x)&high (exactly, as a whole), one above 0x7f in x&high.
const (
	ones = 0x0101010101010101
	high = 0x8080808080808080
)

// wrapWords is how many whole 8-byte words any minWrap bytes hold at
// least.
const wrapWords = (minWrap - 7) / 8

// lineTail notes b, the bytes of a line that continues past them.
func (m *matcher) lineTail(b []byte) {
	if m.lineLen <= 76 {
		m.lineAlpha = m.lineAlpha && allWrapAlpha(b[:min(len(b), 77)])
	}
	m.lineLen = min(m.lineLen+len(b), 1<<20)
}

// continueSGR reads p as the continuation of the sequence in m.esc and
// returns how many bytes it consumed: the sequence is left out when it
// completes, read as ordinary bytes when it turns out not to be SGR.
func (m *matcher) continueSGR(p []byte, match func(start, end int64, pat int32)) int {
	for i, c := range p {
		ok := false
		switch {
		case len(m.esc) == 1:
			ok = c == '['
		case c == 'm':
			m.raw++
			m.lineTail(m.esc) // ESC: a decorated line is no wrapped encoding
			m.lineTail([]byte{c})
			m.esc = m.esc[:0]
			m.gap(m.raw)
			return i + 1
		case sgrParam(c):
			ok = len(m.esc) < 2+maxSGRParams
		}
		if !ok {
			// Not SGR: its bytes are read as they are, from the ESC on;
			// c is read by the caller.
			held := m.esc
			m.esc = nil
			m.raw -= int64(len(held))
			m.stepBytes(held, match)
			m.esc = held[:0]
			return i
		}
		m.esc = append(m.esc, c)
		m.raw++
	}
	return len(p)
}

// stepBytes reads b as ordinary bytes, one at a time (no skipping).
func (m *matcher) stepBytes(b []byte, match func(start, end int64, pat int32)) {
	a, s := m.a, m.s
	for _, c := range b {
		s = a.step(s, c)
		m.raw++
		m.fed++
		if l := a.match[s]; l != 0 {
			match(m.rawOf(m.fed-int64(l)), m.raw, a.pat[s])
		}
		if c == '\n' {
			m.lineLen, m.lineAlpha = 0, true
		} else {
			m.lineTail([]byte{c})
		}
	}
	m.s = s
}

// run reads p[i:j], which holds no cut, skipping where no match can start.
func (m *matcher) run(p []byte, i, j int, match func(start, end int64, pat int32)) {
	a, s := m.a, m.s
	seg := p[:j]
	rawBase := m.raw - int64(i) // stream offset of p[0]
	viewBase := m.fed - int64(i)
	for k := i; k < j; k++ {
		if s == 0 {
			// Skip bytes that cannot start a match. The state after a
			// skipped byte may differ from the automaton's, but only in
			// suffixes the following bytes rule out; with two bytes
			// still to read the states agree again before the end of seg.
			k = a.skip(seg, k)
		}
		s = a.step(s, seg[k])
		if l := a.match[s]; l != 0 {
			end := int64(k) + 1
			match(m.rawOf(viewBase+end-int64(l)), rawBase+end, a.pat[s])
		}
	}
	m.s = s
	m.raw += int64(j - i)
	m.fed += int64(j - i)
}
