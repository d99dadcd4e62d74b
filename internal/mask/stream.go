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
// alphabets with 1.
var wrapAlpha = func() (t [256]uint8) {
	for _, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_") {
		t[c] = 1
	}
	return t
}()

// allWrapAlpha reports whether every byte of b is of the wrap alphabet.
// It tests 8 bytes at a time, with one branch: a line of an encoding is
// all of it, so the test rarely stops early where it matters.
func allWrapAlpha(b []byte) bool {
	t := &wrapAlpha
	for len(b) >= 8 {
		if t[b[0]]&t[b[1]]&t[b[2]]&t[b[3]]&t[b[4]]&t[b[5]]&t[b[6]]&t[b[7]] == 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if t[c] == 0 {
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
	prune     int          // cps is pruned when it is this long

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

	// The fork reads the stream as it is from where a decoration may
	// begin, as long as what it reads can still be part of a pattern
	// that overlaps one (see fork).
	forkOn   bool
	forkS    int32 // its automaton state
	forkAt   int64 // stream offset of the next byte it reads
	forkFrom int64 // it reports matches that start here or later
	// unordered is set once the fork reported a match: matches may then
	// come out of the order of their end.
	unordered bool
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
	// Matches and held tails reach back at most maxLen view bytes. The
	// checkpoints before that go when they have come to fill half of cps,
	// so that a run of decorations costs no pass over cps each.
	if len(m.cps) < m.prune {
		return
	}
	drop := 0
	for drop+1 < len(m.cps) && m.cps[drop+1].f <= m.fed-int64(m.a.maxLen)-1 {
		drop++
	}
	if drop > 0 {
		m.baseDelta = m.cps[drop-1].delta
		m.cps = append(m.cps[:0], m.cps[drop:]...)
	}
	m.prune = max(16, 2*len(m.cps))
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
	if m.forkOn {
		s = min(s, m.forkAt-int64(m.a.keep[m.forkS]))
	}
	return s
}

// possible is the length in stream bytes of the longest possible
// beginning of a value at the end of what was fed. Of the fork's, only
// those that start at forkFrom or later count: it reports no other, and
// its state, taken from the view's, may spell one that starts before.
func (m *matcher) possible() int {
	n := int(m.a.keep[m.s])
	if m.forkOn {
		t, room := m.forkS, m.forkAt-m.forkFrom
		for t != 0 && int64(m.a.keep[t]) > room {
			t = m.a.fail[t]
		}
		n = max(n, int(m.a.keep[t]))
	}
	return n
}

// A pattern that occurs in the stream as it is but overlaps a decoration
// (its edge is part of an SGR sequence, say, or it holds a line break
// that wraps an encoding) never shows in the view. The fork finds it: at
// the first byte of a decoration that such a pattern may overlap, it
// starts from the view's state and reads the stream as it is, and it stops
// once no beginning of a pattern it holds reaches back to the end of the
// last decoration.
//
// It reads the view up to that first byte and the stream from there on;
// where those differ, before the end of the last decoration left out
// (forkFrom), it reports nothing: a pattern in the stream that starts
// there overlaps that decoration, and is found by the fork that was
// running then. Such a fork runs until nothing it holds overlaps a
// decoration, so when a new one starts, every beginning of a pattern in
// the stream lies after the last decoration, in bytes the view holds too.
// Its matches come after those of the view that end later, and
// duplicate some of them; Find and the Writer put them in order.
//
// Most decorations need no fork: a pattern that overlaps a wrapping line
// break holds a line break, and one that overlaps an SGR sequence either
// holds its ESC or starts inside it, at a byte where mayStart says a
// pattern may start.

// startFork starts the fork at stream offset at, where it has read up
// to, in state s; it reports matches from offset from on.
func (m *matcher) startFork(at int64, s int32, from int64) {
	if !m.forkOn {
		m.forkOn, m.forkS, m.forkAt, m.forkFrom = true, s, at, from
	}
}

// sgrEnd has the fork read up to stream offset to, where a possible SGR
// sequence ended, and notes that it is over. p holds the stream from
// offset base. When the sequence was one and the fork did not start at
// its ESC, it starts at the first byte inside the sequence where a
// pattern may start, if any.
func (m *matcher) sgrEnd(p []byte, base, at, to int64, match func(start, end int64, pat int32)) {
	if at >= 0 {
		if m.gapEnd() == to { // an SGR sequence, left out of the view
			for k := at + 1 - base; k < to-base; k++ {
				if !m.a.first[p[k]] {
					continue
				}
				if k+3 > int64(len(p)) || m.a.mayStart(p[k], p[k+1], p[k+2]) {
					m.startFork(base+k, 0, base+k)
					break
				}
			}
		}
	}
	m.forkTo(p, base, to, match)
}

// forkTo has the fork, if it runs, read the stream up to offset to; p
// holds the stream from offset base.
func (m *matcher) forkTo(p []byte, base, to int64, match func(start, end int64, pat int32)) {
	if !m.forkOn {
		return
	}
	a, s := m.a, m.forkS
	pending := len(m.esc) > 0 || m.cr // a decoration not yet complete
	gapEnd := m.gapEnd()
	for at := m.forkAt; at < to; {
		s = a.step(s, p[at-base])
		at++
		// The longest match that starts where the stream is read as it is.
		for t := s; a.match[t] != 0; t = a.fail[t] {
			if l := int64(a.match[t]); at-l >= m.forkFrom {
				match(at-l, at, a.pat[t])
				m.unordered = true
				break
			}
		}
		if !pending && at-int64(a.keep[s]) >= gapEnd {
			m.forkOn = false
			break
		}
	}
	m.forkS, m.forkAt = s, to
}

// feed reads p, calling match for each pattern that ends in it with the
// stream offsets it spans and the pattern's index.
func (m *matcher) feed(p []byte, match func(start, end int64, pat int32)) {
	base := m.raw // stream offset of p[0]
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
		m.forkTo(p, base, m.raw, match)
	}
	if len(m.esc) > 0 {
		i += m.continueSGR(p[i:], match)
		if len(m.esc) == 0 {
			m.sgrEnd(p, base, -1, m.raw, match)
		}
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
		if m.forkOn {
			m.forkTo(p, base, m.raw, match)
		}
		if cutLen != 0 && m.a.breaks {
			m.startFork(m.raw, m.s, m.gapEnd())
		}
		if cutLen > 0 { // a wrapping line break
			i += cutLen
			m.raw += int64(cutLen)
			m.gap(m.raw)
			m.forkTo(p, base, m.raw, match)
			continue
		}
		if cutLen < 0 { // the CR of a possible wrapping CRLF, last byte of p
			m.cr = true
			m.raw++
			break
		}
		// An ESC: an SGR sequence to leave out, or an ordinary byte.
		escAt := int64(-1) // the fork waits for the sequence's end
		if m.a.escs {
			m.startFork(m.raw, m.s, m.gapEnd())
		} else if !m.forkOn {
			escAt = m.raw
		}
		if n := sgrLen(p[i:]); n > 0 { // all of it in p
			m.raw += int64(n)
			m.lineTail(p[i : i+n]) // ESC: a decorated line is no wrapped encoding
			m.gap(m.raw)
			i += n
			m.sgrEnd(p, base, escAt, m.raw, match)
			continue
		}
		m.esc = append(m.esc[:0], 0x1b)
		m.raw++
		i++
		i += m.continueSGR(p[i:], match)
		if len(m.esc) == 0 {
			m.sgrEnd(p, base, escAt, m.raw, match)
		}
	}
	if len(m.esc) > 0 && !m.forkOn { // at the ESC, in the view's state there
		m.startFork(m.raw-int64(len(m.esc)), m.s, m.gapEnd())
	}
	m.forkTo(p, base, m.raw, match)
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
// the 8 bytes at some multiple q of minWrap-7, and with them wrapWords
// 8-byte words in a row of those at q plus or minus multiples of 8:
// wrapRun reads the words at each q and looks closer only at one that
// wrapWord passes, with enough neighbours that pass too.
func wrapRun(b []byte) int {
	const span = wrapWords * 8
	for q := 0; q+8 <= len(b); q += minWrap - 7 {
		if !wrapWord(binary.LittleEndian.Uint64(b[q:])) {
			continue
		}
		lo, hi := q, q+8
		for hi-lo < span && lo >= 8 && wrapWord(binary.LittleEndian.Uint64(b[lo-8:])) {
			lo -= 8
		}
		for hi-lo < span && hi+8 <= len(b) && wrapWord(binary.LittleEndian.Uint64(b[hi:])) {
			hi += 8
		}
		if hi-lo < span || !allWrapAlpha(b[q:q+8]) {
			continue
		}
		lo = q
		for lo > 0 && q-lo < minWrap && wrapAlpha[b[lo-1]] != 0 {
			lo--
		}
		hi = q + 8
		for hi < len(b) && hi-lo < minWrap && wrapAlpha[b[hi]] != 0 {
			hi++
		}
		if hi-lo >= minWrap {
			return lo
		}
	}
	return -1
}

// wrapWord reports whether the 8 bytes of x may all be of the wrap
// alphabet: none is below '+' (space, line breaks, most punctuation) or
// above 'z'.
func wrapWord(x uint64) bool {
	return ((x-'+'*ones)&^x|x|(x+(0x7f-'z')*ones))&high == 0
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

// sgrLen returns the length of the SGR sequence b begins with, or 0 when
// it begins with none or with one not complete in b.
func sgrLen(b []byte) int {
	if len(b) < 3 || b[0] != 0x1b || b[1] != '[' {
		return 0
	}
	for i := 2; i < len(b) && i <= 2+maxSGRParams; i++ {
		if b[i] == 'm' {
			return i + 1
		}
		if !sgrParam(b[i]) {
			return 0
		}
	}
	return 0
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

// gapEnd is the stream offset where the last decoration the view left out ends.
func (m *matcher) gapEnd() int64 {
	if k := len(m.cps); k > 0 {
		return m.cps[k-1].f + m.cps[k-1].delta
	}
	return 0
}
