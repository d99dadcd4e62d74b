package mask

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Marker replaces every masked run of output bytes.
const Marker = "***"

// MinMaskLen is the shortest value masked or found. Shorter values would
// hide ordinary text everywhere; callers warn about them.
const MinMaskLen = 4

// maxFormsLen is the largest value masked in all its forms (encodings,
// whole multi-line value). It covers tokens, passwords and PEM keys up to
// RSA 4096. A larger value (file secrets reach 1 MiB) is masked line by
// line, or as a whole when it has no line break, which keeps the automaton
// near one state per value byte.
const maxFormsLen = 8 << 10

// Form is the way a value appears in a match.
type Form uint8

// Forms of a value.
const (
	Raw       Form = iota // the value itself (LF or CRLF line breaks)
	Line                  // one line of a multi-line or large value
	Base64                // standard base64, at any alignment, padded or not
	Base64URL             // URL-safe base64
	Hex                   // hex digits, lower or upper case
	URL                   // URL query or path escaping
	JSON                  // the inside of a JSON string
)

var formNames = [...]string{"raw", "line", "base64", "base64url", "hex", "url", "json"}

func (f Form) String() string {
	if int(f) < len(formNames) {
		return formNames[f]
	}
	return "form(" + strconv.Itoa(int(f)) + ")"
}

// A Masker finds secret values, and the common encodings of them, in
// bytes: Find reports where, Writer and Mask replace them by Marker. It is
// one Aho–Corasick automaton over every pattern, immutable once built and
// safe to share: each output stream gets its own Writer. The automaton is
// built when the first bytes are to be searched, so a program that prints
// nothing costs no automaton.
type Masker struct {
	once     sync.Once
	values   [][]byte // until built
	ac       *automaton
	patterns [][]byte
	origin   []origin // per pattern: the value and form it came from
}

type origin struct {
	value int
	form  Form
}

// A Match is one occurrence found by Find: input bytes [Off, Off+Len) are
// a form of the value at index Value of the values given to New.
type Match struct {
	Off, Len int
	Value    int
	Form     Form
}

// New builds a masker for values. Values shorter than MinMaskLen are
// neither masked nor found.
//
// For each value of MinMaskLen bytes or more, the patterns are:
//   - the value, without the line break it ends in, if any (so masked
//     output keeps its lines); for a multi-line value also its LF and CRLF
//     forms and each line (surrounding blanks trimmed) of at least
//     MinMaskLen bytes;
//   - base64, standard and URL alphabets, at each of the three byte offsets
//     the value can start at inside a larger encoded blob: the characters
//     that depend on the value alone, and the tail with and without padding
//     for a value that ends the blob;
//   - hex in lower and upper case; URL query and path escaping (upper and
//     lower case percent escapes); JSON string escaping with and without
//     HTML escaping;
//   - for each of those with SGR sequences in it, the same without the
//     sequences when that leaves MinMaskLen bytes or more (a value that
//     shows fewer is masked only where it is printed byte for byte, not
//     wherever its visible bytes are).
//
// Every pattern is found both where it is printed byte for byte, whatever
// bytes surround it, and where decorations (SGR colour sequences, line
// breaks that wrap an encoding) stand between its bytes.
//
// New keeps a copy of the values; their patterns and the automaton are
// made on first use.
func New(values [][]byte) *Masker {
	m := &Masker{values: make([][]byte, len(values))}
	for i, v := range values {
		if len(v) >= MinMaskLen {
			m.values[i] = bytes.Clone(v)
		}
	}
	return m
}

// build makes the patterns of m's values and the automaton over them.
//
// A pattern with SGR sequences in it never shows in the view the
// automaton reads (decorations taken out); the matcher's fork, which reads
// the stream as it is around decorations, finds it where it is printed
// byte for byte, and masks it whole, its escape bytes included. Its form
// without the sequences (stripSGR) joins the patterns when it is
// MinMaskLen bytes or more, so the value is masked in other colours too; a
// shorter one is left out, as a short value is, and the value is then
// masked only where it appears byte for byte.
func (m *Masker) build() {
	seen := map[string]bool{}
	add := func(p []byte, o origin) {
		seen[string(p)] = true
		m.patterns = append(m.patterns, p)
		m.origin = append(m.origin, o)
	}
	for i, v := range m.values {
		if len(v) < MinMaskLen {
			continue
		}
		for _, f := range patternsFor(v) {
			p := f.b
			if len(p) < MinMaskLen || seen[string(p)] {
				continue
			}
			add(p, origin{i, f.form})
			if s := stripSGR(p); len(s) >= MinMaskLen && len(s) < len(p) && !seen[string(s)] {
				add(s, origin{i, f.form})
			}
		}
	}
	m.values = nil
	m.ac = buildAutomaton(m.patterns)
}

// stripSGR returns p without the SGR sequences the view leaves out (see
// stream.go), or p itself when it has none.
func stripSGR(p []byte) []byte {
	var out []byte
	last := 0
	for i := 0; i < len(p); i++ {
		if n := sgrLen(p[i:]); n > 0 {
			out = append(out, p[last:i]...)
			last = i + n
			i += n - 1
		}
	}
	if last == 0 {
		return p
	}
	return append(out, p[last:]...)
}

// automaton returns the automaton over m's patterns, built on first use.
func (m *Masker) automaton() *automaton {
	m.once.Do(m.build)
	return m.ac
}

// Mask returns b with every pattern replaced, as a Writer would print it
// once closed.
func (m *Masker) Mask(b []byte) []byte {
	var buf bytes.Buffer
	w := m.writer(&buf, 0)
	_, _ = w.Write(b) // a bytes.Buffer does not fail
	_ = w.Close()
	return buf.Bytes()
}

// Find returns the occurrences of every value's forms in b, in order of
// their end. An occurrence inside a longer one (a value's base64 body
// inside its padded tail, a line inside the whole value) is left out;
// occurrences that overlap without one containing the other are both
// reported.
func (m *Masker) Find(b []byte) []Match {
	ac := m.automaton()
	if len(ac.match) <= 1 {
		return nil
	}
	var all []Match
	match := func(start, end int64, pat int32) {
		o := m.origin[pat]
		all = append(all, Match{Off: int(start), Len: int(end - start), Value: o.value, Form: o.form})
	}
	mt := newMatcher(ac)
	mt.feed(b, match)
	mt.end(match)
	if mt.unordered {
		slices.SortStableFunc(all, func(x, y Match) int {
			if c := cmp.Compare(x.Off+x.Len, y.Off+y.Len); c != 0 {
				return c
			}
			return cmp.Compare(y.Off, x.Off)
		})
	}
	var out []Match
	for _, f := range all {
		for len(out) > 0 && out[len(out)-1].Off >= f.Off {
			out = out[:len(out)-1]
		}
		out = append(out, f)
	}
	return out
}

// formed is one pattern and the form it stands for.
type formed struct {
	b    []byte
	form Form
}

// patternsFor lists the byte strings that reveal v (duplicates possible).
func patternsFor(v []byte) []formed {
	if len(v) > maxFormsLen {
		if bytes.IndexByte(v, '\n') < 0 {
			return []formed{{v, Raw}}
		}
		var ps []formed
		for line := range bytes.SplitSeq(v, []byte("\n")) {
			ps = append(ps, formed{bytes.TrimSpace(line), Line})
		}
		return ps
	}
	// A final line break is not part of what is hidden, so the output
	// keeps its lines ("content=***\n" rather than "content=***" joined
	// to the next line). Its encoded forms still cover it.
	raw := v
	bases := [][]byte{v}
	if trimmed := bytes.TrimRight(v, "\r\n"); len(trimmed) != len(v) && len(trimmed) > 0 {
		bases = append(bases, trimmed)
		if len(trimmed) >= MinMaskLen {
			raw = trimmed
		}
	}
	ps := []formed{{raw, Raw}}
	if bytes.ContainsAny(v, "\r\n") {
		lf := bytes.ReplaceAll(raw, []byte("\r\n"), []byte("\n"))
		crlf := bytes.ReplaceAll(lf, []byte("\n"), []byte("\r\n"))
		ps = append(ps, formed{lf, Raw}, formed{crlf, Raw})
		for line := range bytes.SplitSeq(lf, []byte("\n")) {
			ps = append(ps, formed{bytes.TrimSpace(line), Line})
		}
	}
	for _, b := range bases {
		ps = append(ps, encodedForms(b)...)
	}
	return ps
}

// encodedForms returns the base64, hex, URL and JSON forms of v.
func encodedForms(v []byte) []formed {
	var ps []formed
	for ei, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		form := Base64
		if ei == 1 {
			form = Base64URL
		}
		for k := range 3 {
			// Encode v after k filler bytes. Character c stands for bits
			// [6c, 6c+6) of the input; it depends on v alone when those
			// bits lie inside v, i.e. in [8k, 8(k+len(v))).
			buf := make([]byte, k+len(v))
			copy(buf[k:], v)
			full := enc.EncodeToString(buf)
			start := (8*k + 5) / 6
			end := 8 * (k + len(v)) / 6
			ps = append(ps,
				formed{[]byte(full[start:end]), form},                      // v inside a blob
				formed{[]byte(full[start:]), form},                         // v ends the blob, padded
				formed{[]byte(strings.TrimRight(full[start:], "=")), form}, // v ends the blob, unpadded
			)
		}
	}
	h := hex.EncodeToString(v)
	ps = append(ps, formed{[]byte(h), Hex}, formed{[]byte(strings.ToUpper(h)), Hex})

	for _, e := range []string{url.QueryEscape(string(v)), url.PathEscape(string(v))} {
		ps = append(ps, formed{[]byte(e), URL}, formed{lowerEscapes(e), URL})
	}

	for _, html := range []bool{true, false} {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(html)
		if enc.Encode(string(v)) == nil {
			s := bytes.TrimSpace(buf.Bytes())
			ps = append(ps, formed{s[1 : len(s)-1], JSON})
		}
	}
	return ps
}

// lowerEscapes returns s with the hex digits of its %XX escapes in lower case.
func lowerEscapes(s string) []byte {
	b := []byte(s)
	for i := 0; i+2 < len(b); i++ {
		if b[i] == '%' {
			b[i+1] = lowerHex(b[i+1])
			b[i+2] = lowerHex(b[i+2])
			i += 2
		}
	}
	return b
}

func lowerHex(c byte) byte {
	if c >= 'A' && c <= 'F' {
		return c + 'a' - 'A'
	}
	return c
}

// automaton is an Aho–Corasick automaton over the patterns. State 0 is the
// root. Transitions out of the root are a dense table; other states keep
// their children sorted in edge arrays and fall back along fail links.
type automaton struct {
	root     [256]int32
	edgeOff  []int32 // children of s are edge[edgeOff[s]:edgeOff[s+1]]
	edgeByte []byte
	edgeNext []int32
	fail     []int32
	// match[s] is the length of the longest pattern that is a suffix of
	// the string spelled by s (0: none).
	match []int32
	// pat[s] is the index of that pattern.
	pat []int32
	// keep[s] is the length of the longest suffix of the string spelled
	// by s that a longer pattern could still extend: the bytes a stream
	// in state s must hold back.
	keep   []int32
	maxLen int
	// starts is a hashed set of the first three bytes of every pattern.
	// In the root state, a position whose next three bytes are not in it
	// cannot start a match and is skipped without stepping.
	starts [1 << (startBits - 6)]uint64

	// Block skipping (Wu–Manber): window is the length of the shortest
	// pattern, capped; shift[h], for the hash h of a 4-byte block, is how
	// far the start of a window ending in that block may move without
	// passing the start of a match: window-4 minus the largest offset at
	// which the block occurs in the first window bytes of a pattern, or
	// window-3 when it occurs in none (hash collisions only make shifts
	// smaller). 0 when window is under 6, where it would not pay.
	window int
	shift  []uint8
	// escs and breaks are set when a pattern holds an ESC, a CR or LF:
	// one that may overlap an SGR sequence or a wrapping line break
	// without starting inside it.
	escs, breaks bool
	// first marks the bytes a pattern starts with.
	first [256]bool
	// inBlock has bit h set when shift[h] is less than window-3: the
	// first test of every step, 32 KiB where shift is 256 KiB, so the
	// common step (a block in no pattern) stays in the L1 cache and a few
	// pages of the TLB rather than missing both.
	inBlock []uint64
}

const (
	startBits = 18
	// shiftBits sizes the shift table (256 KiB); maxWindow bounds the
	// blocks per pattern in it, and so its load.
	shiftBits = 18
	maxWindow = 48
)

func startHash(c0, c1, c2 byte) uint32 {
	return (uint32(c0)<<16 | uint32(c1)<<8 | uint32(c2)) * 0x9E3779B1 >> (32 - startBits)
}

func (a *automaton) mayStart(c0, c1, c2 byte) bool {
	h := startHash(c0, c1, c2)
	return a.starts[h>>6]&(1<<(h&63)) != 0
}

// shiftHash hashes the 4-byte block b[0:4].
func shiftHash(b []byte) uint32 {
	return binary.LittleEndian.Uint32(b) * 0x9E3779B1 >> (32 - shiftBits)
}

// skip returns the first position from i on where a match may start,
// reading p from the root state; it stops short of the last three bytes of
// p, which the caller steps through. No match, nor any prefix of a pattern
// that reaches past the returned position, starts at a skipped position.
func (a *automaton) skip(p []byte, i int) int {
	if m := a.window; m > 0 && i >= 0 && i+m <= len(p) {
		far := m - 3
		inBlock := a.inBlock[:1<<(shiftBits-6)]
		shift := a.shift[:1<<shiftBits]
		// last[k:k+4] is the last block of the window that starts at k.
		last := p[m-4:]
		for i+4 <= len(last) {
			h := shiftHash(last[i : i+4])
			if inBlock[h>>6]&(1<<(h&63)) == 0 {
				i += far
				continue
			}
			if sh := shift[h]; sh != 0 {
				i += int(sh)
				continue
			}
			if a.mayStart(p[i], p[i+1], p[i+2]) {
				return i
			}
			i++
		}
	}
	// Less than a window left. A pattern is a window long or longer, so
	// one that starts from i on, up to the last three bytes, reaches past
	// the end of p and holds p's last block in its first window bytes:
	// unless that block is in inBlock, none does.
	if n := len(p); a.window > 0 && i+3 < n {
		h := shiftHash(p[n-4 : n])
		if a.inBlock[h>>6]&(1<<(h&63)) == 0 {
			return n - 3
		}
	}
	for i+3 < len(p) && !a.mayStart(p[i], p[i+1], p[i+2]) {
		i++
	}
	return i
}

// buildShift fills the block-skip table for patterns.
func (a *automaton) buildShift(patterns [][]byte) {
	m := maxWindow
	for _, p := range patterns {
		m = min(m, len(p))
	}
	if len(patterns) == 0 || m < 6 {
		return
	}
	a.window = m
	a.shift = make([]uint8, 1<<shiftBits)
	a.inBlock = make([]uint64, 1<<(shiftBits-6))
	for i := range a.shift {
		a.shift[i] = uint8(m - 3)
	}
	for _, p := range patterns {
		for j := 0; j+4 <= m; j++ {
			h := shiftHash(p[j : j+4])
			a.shift[h] = min(a.shift[h], uint8(m-4-j))
			a.inBlock[h>>6] |= 1 << (h & 63)
		}
	}
}

func buildAutomaton(patterns [][]byte) *automaton {
	a := &automaton{}
	// The trie, as first-child / next-sibling lists; the root's children
	// in a dense table.
	total := 1
	for _, p := range patterns {
		total += len(p)
	}
	var (
		label  = append(make([]byte, 0, total), 0)
		first  = append(make([]int32, 0, total), -1)
		next   = append(make([]int32, 0, total), -1)
		depth  = append(make([]int32, 0, total), 0)
		term   = append(make([]int32, 0, total), -1)
		rootAt [256]int32
	)
	for i := range rootAt {
		rootAt[i] = -1
	}
	child := func(s int32, c byte) int32 {
		if s == 0 {
			return rootAt[c]
		}
		for k := first[s]; k >= 0; k = next[k] {
			if label[k] == c {
				return k
			}
		}
		return -1
	}
	for pi, p := range patterns {
		a.maxLen = max(a.maxLen, len(p))
		a.first[p[0]] = true
		a.escs = a.escs || bytes.IndexByte(p, 0x1b) >= 0
		a.breaks = a.breaks || bytes.ContainsAny(p, "\r\n")
		h := startHash(p[0], p[1], p[2]) // patterns have MinMaskLen >= 3 bytes
		a.starts[h>>6] |= 1 << (h & 63)
		s := int32(0)
		for _, c := range p {
			k := child(s, c)
			if k < 0 {
				k = int32(len(label))
				label = append(label, c)
				first = append(first, -1)
				next = append(next, first[s])
				depth = append(depth, depth[s]+1)
				term = append(term, -1)
				first[s] = k
				if s == 0 {
					rootAt[c] = k
				}
			}
			s = k
		}
		if term[s] < 0 {
			term[s] = int32(pi)
		}
	}

	a.buildShift(patterns)

	// Flatten the children, sorted by byte, so lookups can bisect.
	n := len(label)
	a.edgeOff = make([]int32, n+1)
	a.edgeByte = make([]byte, 0, n)
	a.edgeNext = make([]int32, 0, n)
	var kids []int32
	for s := range n {
		a.edgeOff[s] = int32(len(a.edgeByte))
		kids = kids[:0]
		for k := first[s]; k >= 0; k = next[k] {
			kids = append(kids, k)
		}
		slices.SortFunc(kids, func(x, y int32) int { return int(label[x]) - int(label[y]) })
		for _, k := range kids {
			a.edgeByte = append(a.edgeByte, label[k])
			a.edgeNext = append(a.edgeNext, k)
		}
	}
	a.edgeOff[n] = int32(len(a.edgeByte))
	for c := range 256 {
		a.root[c] = max(rootAt[c], 0)
	}
	first, next = nil, nil

	a.fail = make([]int32, n)
	a.match = make([]int32, n)
	a.pat = make([]int32, n)
	a.keep = make([]int32, n)
	// Breadth-first: a state's fail link is shallower, so it is known
	// when its children need it; step follows fail links as reading does.
	queue := make([]int32, 0, n)
	for j := a.edgeOff[0]; j < a.edgeOff[1]; j++ {
		queue = append(queue, a.edgeNext[j])
	}
	for qi := 0; qi < len(queue); qi++ {
		u := queue[qi]
		for j := a.edgeOff[u]; j < a.edgeOff[u+1]; j++ {
			v := a.edgeNext[j]
			a.fail[v] = a.step(a.fail[u], a.edgeByte[j])
			queue = append(queue, v)
		}
	}
	for _, s := range queue {
		if term[s] >= 0 {
			a.match[s], a.pat[s] = depth[s], term[s]
		} else {
			a.match[s], a.pat[s] = a.match[a.fail[s]], a.pat[a.fail[s]]
		}
		if a.edgeOff[s+1] > a.edgeOff[s] {
			a.keep[s] = depth[s]
		} else {
			a.keep[s] = a.keep[a.fail[s]]
		}
	}
	return a
}

// step returns the state after reading c in state s.
func (a *automaton) step(s int32, c byte) int32 {
	for s != 0 {
		lo, hi := a.edgeOff[s], a.edgeOff[s+1]
		if hi-lo <= 8 {
			for j := lo; j < hi; j++ {
				if b := a.edgeByte[j]; b >= c {
					if b == c {
						return a.edgeNext[j]
					}
					break
				}
			}
		} else {
			for lo < hi {
				mid := int32(uint32(lo+hi) >> 1)
				if a.edgeByte[mid] < c {
					lo = mid + 1
				} else {
					hi = mid
				}
			}
			if lo < a.edgeOff[s+1] && a.edgeByte[lo] == c {
				return a.edgeNext[lo]
			}
		}
		s = a.fail[s]
	}
	return a.root[c]
}
