package mask

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// naiveView is the reference for the view the automaton reads: in without
// its SGR sequences and without the line breaks that end a line of 60, 64
// or 76 base64 or hex characters. at[k] is the offset in in of view byte k.
func naiveView(in []byte) (view []byte, at []int) {
	lineStart := 0
	for i := 0; i < len(in); i++ {
		c := in[i]
		if c == 0x1b && i+1 < len(in) && in[i+1] == '[' {
			j := i + 2
			for j < len(in) && j-i-2 < maxSGRParams && (in[j] >= '0' && in[j] <= '9' || in[j] == ';' || in[j] == ':') {
				j++
			}
			if j < len(in) && in[j] == 'm' {
				i = j
				continue
			}
		}
		if c == '\n' {
			line := in[lineStart:i]
			lineStart = i + 1
			if wrapWidth(len(line)) && allWrapAlpha(line) {
				continue
			}
			if n := len(line); n > 0 && line[n-1] == '\r' && wrapWidth(n-1) && allWrapAlpha(line[:n-1]) {
				view, at = view[:len(view)-1], at[:len(at)-1] // and its CR
				continue
			}
		}
		view, at = append(view, c), append(at, i)
	}
	return view, at
}

// naiveMask is the reference: mark every byte covered by an occurrence of
// any of m's patterns in the view (and what lies between its first and
// last byte), and by an occurrence of any of them in the input as it is,
// then print each maximal run of marked bytes as one Marker.
func naiveMask(m *Masker, in []byte) []byte {
	marked := make([]bool, len(in))
	view, at := naiveView(in)
	for _, p := range m.pats() {
		for off := 0; ; {
			i := bytes.Index(view[off:], p)
			if i < 0 {
				break
			}
			for j := at[off+i]; j <= at[off+i+len(p)-1]; j++ {
				marked[j] = true
			}
			off += i + 1
		}
		for off := 0; ; {
			i := bytes.Index(in[off:], p)
			if i < 0 {
				break
			}
			for j := off + i; j < off+i+len(p); j++ {
				marked[j] = true
			}
			off += i + 1
		}
	}
	var out []byte
	for i := 0; i < len(in); i++ {
		if !marked[i] {
			out = append(out, in[i])
			continue
		}
		out = append(out, Marker...)
		for i+1 < len(in) && marked[i+1] {
			i++
		}
	}
	return out
}

// maskSplit writes in to a fresh timer-less Writer in pieces ending at
// cuts, checks the held-back bound after each write, and returns the output.
func maskSplit(t testing.TB, m *Masker, in []byte, cuts []int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := m.writer(&buf, 0)
	prev := 0
	for _, c := range append(cuts, len(in)) {
		if c < prev || c > len(in) {
			continue
		}
		if _, err := w.Write(in[prev:c]); err != nil {
			t.Fatalf("write: %v", err)
		}
		// Decorations (SGR, wrapping line breaks) may be held on top.
		if h, _ := naiveView(w.hold[:w.held()]); len(h) > max(m.automaton().maxLen-1, 0)+2+maxSGRParams {
			t.Fatalf("holding %d bytes, longest pattern is %d", len(h), m.automaton().maxLen)
		}
		prev = c
	}
	if err := w.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	return buf.Bytes()
}

// show quotes b for a failure message with every value, and every line of
// a multi-line value, replaced by its index: tests print names, not values.
func show(b []byte, values ...[]byte) string {
	for i, v := range values {
		tag := []byte(fmt.Sprintf("<value#%d>", i))
		if len(v) > 0 {
			b = bytes.ReplaceAll(b, v, tag)
		}
		for _, l := range bytes.Split(v, []byte("\n")) {
			if l = bytes.TrimSpace(l); len(l) >= MinMaskLen {
				b = bytes.ReplaceAll(b, l, tag)
			}
		}
	}
	return fmt.Sprintf("%q", b)
}

// assertNoValue fails, naming the value by index only, when out holds it.
func assertNoValue(t testing.TB, out []byte, values [][]byte, what string) {
	t.Helper()
	for i, v := range values {
		if len(v) >= MinMaskLen && !bytes.Contains(v, []byte("*")) && bytes.Contains(out, v) {
			t.Fatalf("%s: value #%d visible in output", what, i)
		}
	}
}

var testValues = [][]byte{
	[]byte("ghp_abcdefghijklmnopqrstuvwxyz0123456789"),
	[]byte("hunter2!pass"),
	[]byte("p%ss w/rd&x=\"q\"<y>"),
	[]byte("pässwörd€ünïcode"),
	[]byte("\x00\x01bin\xffary\x00"),
}

// SECURITY 43: a secret split at every possible point never appears.
func TestMaskEverySplitPoint(t *testing.T) {
	m := New(testValues)
	for vi, v := range testValues {
		in := append(append([]byte("before "), v...), " after\n"...)
		want := naiveMask(m, in)
		if !bytes.Equal(want, []byte("before *** after\n")) {
			t.Fatalf("value #%d: reference output %s", vi, show(want, testValues...))
		}
		for i := 0; i <= len(in); i++ {
			for j := i; j <= len(in); j += 3 {
				got := maskSplit(t, m, in, []int{i, j})
				assertNoValue(t, got, testValues, fmt.Sprintf("value #%d split %d,%d", vi, i, j))
				if !bytes.Equal(got, want) {
					t.Fatalf("value #%d split %d,%d: output differs from reference", vi, i, j)
				}
			}
		}
		// One byte per write.
		cuts := make([]int, len(in))
		for i := range cuts {
			cuts[i] = i
		}
		if got := maskSplit(t, m, in, cuts); !bytes.Equal(got, want) {
			t.Fatalf("value #%d byte by byte: output differs from reference", vi)
		}
	}
}

// randomText mixes plain text, values and encoded forms.
func randomText(r *rand.Rand, values [][]byte, n int) []byte {
	var b []byte
	alpha := "abcdefghijklmnopqrstuvwxyzABCDEF0123456789 =+/%\\\"\n\r\x1b[m"
	for len(b) < n {
		switch r.IntN(10) {
		case 0:
			v := values[r.IntN(len(values))]
			b = append(b, v...)
		case 1:
			v := values[r.IntN(len(values))]
			forms := encodedForms(v)
			b = append(b, forms[r.IntN(len(forms))].b...)
		case 2:
			v := values[r.IntN(len(values))]
			b = append(b, v[:r.IntN(len(v))]...) // a bare prefix
		default:
			for range r.IntN(20) {
				b = append(b, alpha[r.IntN(len(alpha))])
			}
		}
	}
	return b
}

func TestMaskRandomSplits(t *testing.T) {
	m := New(testValues)
	r := rand.New(rand.NewPCG(1, 2))
	for iter := range 300 {
		in := randomText(r, testValues, 200+r.IntN(2000))
		want := naiveMask(m, in)
		var cuts []int
		for range r.IntN(30) {
			cuts = append(cuts, r.IntN(len(in)+1))
		}
		cuts = sortedInts(cuts)
		got := maskSplit(t, m, in, cuts)
		assertNoValue(t, got, testValues, fmt.Sprintf("iteration %d", iter))
		if !bytes.Equal(got, want) {
			t.Fatalf("iteration %d: streaming output differs from reference (cuts %v)", iter, cuts)
		}
		if !bytes.Equal(m.Mask(in), want) {
			t.Fatalf("iteration %d: Mask differs from reference", iter)
		}
	}
}

func sortedInts(x []int) []int {
	for i := 1; i < len(x); i++ {
		for j := i; j > 0 && x[j] < x[j-1]; j-- {
			x[j], x[j-1] = x[j-1], x[j]
		}
	}
	return x
}

// SECURITY 48: overlapping secrets, one a prefix of another.
func TestMaskOverlapping(t *testing.T) {
	values := [][]byte{
		[]byte("abcdef"),
		[]byte("abcdefgh12"),
		[]byte("gh12XYZW"),
		[]byte("cdefg"),
	}
	m := New(values)
	cases := []struct{ in, want string }{
		{"<abcdef>", "<***>"},
		{"<abcdefgh12>", "<***>"},
		{"<abcdefgh12XYZW>", "<***>"},       // chained overlap: one marker
		{"<abcdefgh1>", "<***h1>"},          // "abcdef" and "cdefg" cover up to g
		{"<abcdefgh12XYZ>", "<***XYZ>"},     // longest-prefix candidate abandoned
		{"<xxcdefgyy>", "<xx***yy>"},        // inner value alone
		{"abcdeabcdef", "abcde***"},         // restart inside a partial match
		{"abcdefabcdef", "***"},             // touching matches merge
		{"gh12XYZ gh12XYZW", "gh12XYZ ***"}, // prefix of a value stays visible
	}
	for _, c := range cases {
		in := []byte(c.in)
		for i := 0; i <= len(in); i++ {
			got := maskSplit(t, m, in, []int{i})
			if string(got) != c.want {
				t.Errorf("case %s split at %d: got %s, want %s", show([]byte(c.in), values...), i, show(got, values...), show([]byte(c.want), values...))
				break
			}
		}
	}
}

// SECURITY 46: encoded forms.
func TestMaskEncodings(t *testing.T) {
	v := []byte("s3cr3t-T0ken/with+chars?&=")
	m := New([][]byte{v})
	r := rand.New(rand.NewPCG(3, 4))
	junk := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		return b
	}
	type enc struct {
		name string
		f    func([]byte) string
	}
	encs := []enc{
		{"base64 std", base64.StdEncoding.EncodeToString},
		{"base64 std raw", base64.RawStdEncoding.EncodeToString},
		{"base64 url", base64.URLEncoding.EncodeToString},
		{"base64 url raw", base64.RawURLEncoding.EncodeToString},
	}
	for _, e := range encs {
		for k := range 3 {
			for _, tail := range []int{0, 1, 2, 5} {
				blob := append(append(junk(k), v...), junk(tail)...)
				encoded := e.f(blob)
				in := []byte("data: " + encoded + "\n")
				out := maskSplit(t, m, in, []int{len(in) / 2})
				// Only characters mixing junk bits with value bits may
				// remain: at most 2 before and 2 after the marker, plus
				// the junk's own characters and padding.
				if !bytes.Contains(out, []byte(Marker)) {
					t.Fatalf("%s offset %d tail %d: not masked", e.name, k, tail)
				}
				visible := len(out) - len(Marker) - len("data: \n")
				junkChars := (k+tail)*4/3 + 4
				if visible > junkChars+2 {
					t.Fatalf("%s offset %d tail %d: %d encoded characters left visible", e.name, k, tail, visible)
				}
				if tail == 0 && !bytes.HasSuffix(out, []byte(Marker+"\n")) {
					t.Fatalf("%s offset %d: tail of a blob ending in the value left visible", e.name, k)
				}
			}
		}
	}

	forms := map[string]string{
		"hex lower":    hex.EncodeToString(v),
		"hex upper":    strings.ToUpper(hex.EncodeToString(v)),
		"query escape": url.QueryEscape(string(v)),
		"path escape":  url.PathEscape(string(v)),
		"lower escape": strings.ToLower(url.QueryEscape(string(v))), // lower-cases the value too
	}
	forms["lower escape"] = string(lowerEscapes(url.QueryEscape(string(v))))
	js, _ := json.Marshal(map[string]string{"token": string(v) + "<&>"})
	forms["json"] = string(js)
	for name, f := range forms {
		in := []byte("x=" + f + ";")
		out := maskSplit(t, m, in, []int{3})
		if bytes.Equal(out, in) || bytes.Contains(out, []byte(f)) {
			t.Fatalf("%s form not masked", name)
		}
	}
	if got := string(maskSplit(t, m, js, nil)); got != `{"token":"***\u003c\u0026\u003e"}` {
		t.Fatalf("json: got %s", show([]byte(got), v))
	}
}

const testPEM = "-----BEGIN OPENSSH PRIVATE KEY-----\n" +
	"b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n" +
	"QyNTUxOQAAACDgS1QmTgxl1Fa0G3eF1rD5Hq1qOuTnGG5GQoLZ6cJbawAAAJhL1fS0S9X0\n" +
	"tAAAAAtzc2gtZWQyNTUxOQAAACDgS1QmTgxl1Fa0G3eF1rD5Hq1qOuTnGG5GQoLZ6cJbaw\n" +
	"-----END OPENSSH PRIVATE KEY-----\n"

// SECURITY 45: multi-line values as LF, as CRLF (a pty), line by line.
func TestMaskMultiLine(t *testing.T) {
	m := New([][]byte{[]byte(testPEM)})
	crlf := strings.ReplaceAll(testPEM, "\n", "\r\n")
	lines := strings.Split(strings.TrimSpace(testPEM), "\n")
	inputs := map[string]string{
		"lf":          "key:\n" + testPEM + "end\n",
		"crlf":        "key:\r\n" + crlf + "end\r\n",
		"no trailing": "key: " + strings.TrimSpace(testPEM) + " end",
		"one line":    "line: " + lines[2] + "\n",
		"reversed":    lines[3] + "\n" + lines[1] + "\n",
	}
	for name, in := range inputs {
		for _, cut := range []int{0, 7, len(in) / 2, len(in) - 3} {
			out := maskSplit(t, m, []byte(in), []int{cut})
			for i, l := range lines {
				if bytes.Contains(out, []byte(l)) {
					t.Fatalf("%s cut %d: line %d visible", name, cut, i)
				}
			}
		}
	}
	if got := string(maskSplit(t, m, []byte(inputs["crlf"]), nil)); got != "key:\r\n***\r\nend\r\n" { // the final line break stays
		t.Fatalf("crlf: got %s", show([]byte(got), []byte(testPEM)))
	}
}

// SECURITY 49: ANSI colours, split runes, invalid UTF-8, NUL bytes.
func TestMaskBytesAround(t *testing.T) {
	m := New(testValues)
	cases := []struct{ in, want []byte }{
		{[]byte("\x1b[31m" + string(testValues[0]) + "\x1b[0m\n"), []byte("\x1b[31m***\x1b[0m\n")},
		{[]byte("\xff\xfe" + string(testValues[3]) + "\xc3"), []byte("\xff\xfe***\xc3")},
		{append(append([]byte{0, 0, 0xff}, testValues[4]...), 0, 1, 2), []byte("\x00\x00\xff***\x00\x01\x02")},
		{[]byte("\x00bin\xffar\x00 pässwörd€ünïcod\xc3"), []byte("\x00bin\xffar\x00 pässwörd€ünïcod\xc3")},
	}
	for ci, c := range cases {
		for i := 0; i <= len(c.in); i++ {
			if got := maskSplit(t, m, c.in, []int{i}); !bytes.Equal(got, c.want) {
				t.Fatalf("case %d split %d: got %s", ci, i, show(got, testValues...))
			}
		}
	}
}

// SECURITY 47: values of 1-3 bytes are neither masked nor found.
func TestMaskShortValues(t *testing.T) {
	values := [][]byte{[]byte("abc"), nil, []byte("abcd"), []byte("x")}
	m := New(values)
	if got := fmt.Sprint(m.Find([]byte("abc x abcd"))); got != "[{6 4 2 raw}]" {
		t.Fatalf("Find = %s, want only abcd", got)
	}
	if got := string(m.Mask([]byte("abc x abcd"))); got != "abc x ***" {
		t.Fatalf("got %s", show([]byte(got), values...))
	}
	empty := New(nil)
	in := []byte("anything at all")
	if got := maskSplit(t, empty, in, []int{3}); !bytes.Equal(got, in) {
		t.Fatalf("no values: output changed")
	}
}

// SECURITY 44: only a possible prefix is held back, and a short one not
// for long.
func TestMaskPromptFlush(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := []byte("secret-token-123")
		m := New([][]byte{v})
		var buf syncBuffer
		w := m.Writer(&buf)
		w.Write([]byte("Password: "))
		if got := buf.String(); got != "Password: " {
			t.Fatalf("a prompt that cannot start a value is held: got %s", show([]byte(got), v))
		}
		w.Write([]byte("for se"))
		if got := buf.String(); got != "Password: for " {
			t.Fatalf("before the delay: got %s", show([]byte(got), v))
		}
		if w.held() != 2 {
			t.Fatalf("holding %d bytes, want 2", w.held())
		}
		time.Sleep(FlushDelay / 2)
		w.Write([]byte("c"))
		time.Sleep(FlushDelay / 2)
		synctest.Wait()
		if got := buf.String(); got != "Password: for " {
			t.Fatalf("input within the delay flushed early: %s", show([]byte(got), v))
		}
		time.Sleep(FlushDelay)
		synctest.Wait()
		if got := buf.String(); got != "Password: for sec" {
			t.Fatalf("after the delay: got %s", show([]byte(got), v))
		}
		// The rest of the value still completes a match: masked.
		w.Write([]byte("ret-token-123 ok"))
		w.Close()
		if got := buf.String(); got != "Password: for sec*** ok" {
			t.Fatalf("after completion: got %s", show([]byte(got), v))
		}
	})
}

// SECURITY 68: a value written a byte at a time, with pauses from 30 ms to
// 1 s, or in two chunks 50 ms apart, shows at most its first MaxShown
// bytes; a beginning that turns out not to be a value comes out whole.
func TestMaskSlowWriter(t *testing.T) {
	v := []byte("ghp_16C7e42F292c6912E7710c838347Ae178B4a")
	for _, pause := range []time.Duration{30 * time.Millisecond, 200 * time.Millisecond, time.Second} {
		t.Run(pause.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m := New([][]byte{v})
				var buf syncBuffer
				w := m.Writer(&buf)
				w.Write([]byte("token: "))
				for i := range v {
					w.Write(v[i : i+1])
					time.Sleep(pause)
					synctest.Wait()
					if got := buf.String(); strings.Contains(got, string(v[:MaxShown+1])) {
						t.Fatalf("after %d bytes: %s shows more than %d bytes", i+1, show([]byte(got), v), MaxShown)
					}
				}
				w.Write([]byte(" ok\n"))
				if got := buf.String(); got != "token: "+string(v[:MaxShown])+"*** ok\n" {
					t.Fatalf("got %s", show([]byte(got), v))
				}
				// Not a value after all: released by the byte that rules it out.
				w.Write(v[:20])
				time.Sleep(5 * time.Second)
				synctest.Wait()
				if got := buf.String(); strings.Contains(got, string(v[:MaxShown+1])) {
					t.Fatalf("a long possible beginning went out: %s", show([]byte(got), v))
				}
				w.Write([]byte("!\n"))
				if got := buf.String(); !strings.HasSuffix(got, " ok\n"+string(v[:20])+"!\n") {
					t.Fatalf("a beginning that is not a value was not released: %s", show([]byte(got), v))
				}
				w.Close()
			})
		})
	}
	t.Run("chunks", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			m := New([][]byte{v})
			var buf syncBuffer
			w := m.Writer(&buf)
			w.Write(append([]byte(`{"token":"`), v[:17]...))
			time.Sleep(50 * time.Millisecond)
			synctest.Wait()
			w.Write(append(v[17:], `"}`...))
			w.Close()
			if got := buf.String(); got != `{"token":"***"}` {
				t.Fatalf("got %s", show([]byte(got), v))
			}
		})
	})
}

// A match held back and then flushed by the timer is masked, not passed;
// a beginning of a longer value is held past the delay.
func TestMaskFlushInsideMatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := New([][]byte{[]byte("abcd"), []byte("cdxy"), []byte("efghijkl")})
		var buf syncBuffer
		w := m.Writer(&buf)
		w.Write([]byte("x abcd"))
		time.Sleep(2 * FlushDelay)
		synctest.Wait()
		if got := buf.String(); got != "x ***" {
			t.Fatalf("got %q", got)
		}
		// "xy" completes the second value, which touches the first: one
		// Marker for both.
		w.Write([]byte("xy efghij"))
		time.Sleep(2 * FlushDelay)
		synctest.Wait()
		if got := buf.String(); got != "x *** " {
			t.Fatalf("got %q", got)
		}
		w.Write([]byte("kl y"))
		w.Close()
		if got := buf.String(); got != "x *** *** y" {
			t.Fatalf("got %q", got)
		}
	})
}

// A value with an SGR sequence in it: a prompt that only looks like its
// beginning once the colour codes before it are left out, and is not one
// as printed, goes out after the delay; a real beginning of it longer
// than MaxShown is held.
func TestMaskFlushPromptBeforeColourValue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := New([][]byte{[]byte("ab\x1b[0mcd")})
		var buf syncBuffer
		w := m.Writer(&buf)
		w.Write([]byte("a\x1b[1mb\x1b[0m"))
		time.Sleep(2 * FlushDelay)
		synctest.Wait()
		if got := buf.String(); got != "a\x1b[1mb\x1b[0m" {
			t.Fatalf("prompt held: got %q", got)
		}
		w.Write([]byte("> x ab\x1b[0m"))
		time.Sleep(2 * FlushDelay)
		synctest.Wait()
		if got := buf.String(); got != "a\x1b[1mb\x1b[0m> x " {
			t.Fatalf("beginning of the value not held: got %q", got)
		}
		w.Write([]byte("cd!"))
		w.Close()
		if got := buf.String(); got != "a\x1b[1mb\x1b[0m> x ***!" {
			t.Fatalf("got %q", got)
		}
	})
}

type syncBuffer struct {
	mu  chan struct{}
	buf bytes.Buffer
}

func (b *syncBuffer) lock() {
	if b.mu == nil {
		b.mu = make(chan struct{}, 1)
	}
	b.mu <- struct{}{}
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.lock()
	defer func() { <-b.mu }()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.lock()
	defer func() { <-b.mu }()
	return b.buf.String()
}

// SECURITY 49: 10 MB without a newline, bounded memory and hold-back.
func TestMaskLongLine(t *testing.T) {
	values := [][]byte{[]byte("Zq9-long-line-secret-Zq9"), []byte("aaaaaaaaaaaaaaaaaaab")}
	m := New(values)
	const size = 10 << 20
	in := make([]byte, 0, size+64)
	r := rand.New(rand.NewPCG(5, 6))
	for len(in) < size {
		if r.IntN(5000) == 0 {
			in = append(in, values[0]...)
			continue
		}
		// Mostly 'a': every byte may begin the second value.
		if r.IntN(8) == 0 {
			in = append(in, 'b'+byte(r.IntN(20)))
		} else {
			in = append(in, 'a')
		}
	}
	want := sha256.Sum256(naiveMask(m, in))

	h := sha256.New()
	cw := &countWriter{w: h}
	w := m.writer(cw, 0)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for off := 0; off < len(in); {
		n := min(1+r.IntN(100<<10), len(in)-off)
		w.Write(in[off : off+n])
		if w.held() > m.automaton().maxLen-1 {
			t.Fatalf("holding %d bytes, longest pattern %d", w.held(), m.automaton().maxLen)
		}
		off += n
	}
	w.Close()
	runtime.ReadMemStats(&after)
	if got := [32]byte(h.Sum(nil)); got != want {
		t.Fatalf("10 MB line: output differs from reference")
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 2<<20 {
		t.Fatalf("10 MB line: allocated %d bytes", alloc)
	}

	// One 10 MB write: passed on in bounded pieces.
	cw = &countWriter{w: h}
	w = m.writer(cw, 0)
	w.Write(in)
	w.Close()
	if cw.maxWrite > 2*outChunk+m.automaton().maxLen+len(Marker) {
		t.Fatalf("single write passed on as a %d-byte piece", cw.maxWrite)
	}
}

type countWriter struct {
	w        interface{ Write([]byte) (int, error) }
	maxWrite int
}

func (c *countWriter) Write(p []byte) (int, error) {
	c.maxWrite = max(c.maxWrite, len(p))
	return c.w.Write(p)
}

// Writes from several goroutines are serialised.
func TestMaskConcurrentWrites(t *testing.T) {
	v := []byte("concurrent-secret")
	m := New([][]byte{v})
	var buf syncBuffer
	w := m.writer(&buf, 0)
	done := make(chan struct{})
	for range 4 {
		go func() {
			for range 200 {
				w.Write(append([]byte("line "), append(v, '\n')...))
			}
			done <- struct{}{}
		}()
	}
	for range 4 {
		<-done
	}
	w.Close()
	if got := buf.String(); got != strings.Repeat("line ***\n", 800) {
		t.Fatalf("concurrent writes garbled or leaked")
	}
}

type failWriter struct{ n int }

func (f *failWriter) Write(p []byte) (int, error) {
	f.n++
	return 0, fmt.Errorf("broken pipe")
}

func TestMaskWriteError(t *testing.T) {
	m := New([][]byte{[]byte("abcdef")})
	fw := &failWriter{}
	w := m.writer(fw, 0)
	if _, err := w.Write([]byte("hello\n")); err == nil {
		t.Fatal("write error not reported")
	}
	if _, err := w.Write([]byte("again\n")); err == nil || fw.n != 1 {
		t.Fatalf("error not sticky (%d writes)", fw.n)
	}
	w2 := m.writer(&bytes.Buffer{}, 0)
	w2.Close()
	if _, err := w2.Write([]byte("x")); err != ErrClosed {
		t.Fatalf("write after close: %v", err)
	}
}

func BenchmarkMasker(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 8))
	const alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	var values [][]byte
	for range 100 {
		v := make([]byte, 20+r.IntN(21))
		for i := range v {
			v[i] = alnum[r.IntN(len(alnum))]
		}
		values = append(values, v)
	}
	m := New(values)
	var text []byte
	words := strings.Fields("the quick brown fox jumps over lazy dog INFO WARN request served in ms status 200 GET /api/v1/items")
	for len(text) < 8<<20 {
		if r.IntN(2000) == 0 {
			text = append(text, values[r.IntN(len(values))]...)
		} else {
			text = append(text, words[r.IntN(len(words))]...)
		}
		if r.IntN(12) == 0 {
			text = append(text, '\n')
		} else {
			text = append(text, ' ')
		}
	}
	b.SetBytes(int64(len(text)))
	b.ResetTimer()
	for b.Loop() {
		w := m.writer(discard{}, 0)
		for off := 0; off < len(text); off += 32 << 10 {
			w.Write(text[off:min(off+32<<10, len(text))])
		}
		w.Close()
	}
	b.ReportMetric(float64(len(m.pats())), "patterns")
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// Values over a two-letter alphabet overlap and nest everywhere.
func TestMaskRandomOverlaps(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for iter := range 300 {
		var values [][]byte
		for range 1 + r.IntN(4) {
			v := make([]byte, 4+r.IntN(6))
			for i := range v {
				v[i] = "ab"[r.IntN(2)]
			}
			values = append(values, v)
		}
		m := New(values)
		in := make([]byte, r.IntN(300))
		for i := range in {
			in[i] = "aab\n"[r.IntN(4)]
		}
		var cuts []int
		for range r.IntN(10) {
			cuts = append(cuts, r.IntN(len(in)+1))
		}
		got := maskSplit(t, m, in, sortedInts(cuts))
		assertNoValue(t, got, values, fmt.Sprintf("iteration %d", iter))
		if want := naiveMask(m, in); !bytes.Equal(got, want) {
			t.Fatalf("iteration %d: output differs from reference", iter)
		}
	}
}

// Values over maxFormsLen: masked line by line, or whole without lines.
func TestMaskLargeValues(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	var text []byte
	for len(text) <= maxFormsLen+100 {
		line := make([]byte, 64)
		for i := range line {
			line[i] = 'A' + byte(r.IntN(26))
		}
		text = append(append(text, line...), '\n')
	}
	blob := bytes.ReplaceAll(text, []byte("\n"), []byte("-"))
	m := New([][]byte{text, blob})
	lines := bytes.Split(bytes.TrimSpace(text), []byte("\n"))
	in := append(append([]byte("file: "), bytes.ReplaceAll(text, []byte("\n"), []byte("\r\n"))...), blob...)
	out := maskSplit(t, m, in, []int{100, len(in) / 2})
	for i, l := range lines {
		if bytes.Contains(out, l) {
			t.Fatalf("line %d visible", i)
		}
	}
	want := "file: " + strings.Repeat("***\r\n", len(lines)) + "***"
	if string(out) != want {
		t.Fatalf("large values: output of %d bytes differs", len(out))
	}
}

// A value that ends in a line break (a file read whole) is masked without
// it, so the output keeps its lines; its encoded forms still include it.
func TestMaskKeepsFinalLineBreak(t *testing.T) {
	v := []byte("file-secret-content\n")
	m := New([][]byte{v, []byte("abc\r\n")})
	cases := map[string]string{
		"content=file-secret-content\nnext\n":   "content=***\nnext\n",
		"content=file-secret-content\r\nnext\n": "content=***\r\nnext\n",
		"content=file-secret-content":           "content=***",
		// Too short without its line break: masked whole, as it was given.
		"x abc\r\n y": "x *** y",
		// base64 of the whole value, newline included.
		base64.StdEncoding.EncodeToString(v) + "\n": "***\n",
	}
	for in, want := range cases {
		for cut := range len(in) + 1 {
			if got := string(maskSplit(t, m, []byte(in), []int{cut})); got != want {
				t.Fatalf("input %d bytes, cut %d: got %s, want %q", len(in), cut, show([]byte(got), v), want)
			}
		}
	}
}

// Block skipping in the root state: values of 5 to 67 bytes over a small
// alphabet, so that blocks of the text often occur in patterns at every
// offset, against the reference, in random pieces and runs cut by SGR
// sequences (a run's last window bytes are skipped by a test of its last
// block).
func TestMaskBlockSkip(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	skipped := 0
	for iter := range 300 {
		var values [][]byte
		n := 5 + r.IntN(56)
		for range 1 + r.IntN(6) {
			v := make([]byte, n+r.IntN(8))
			for i := range v {
				v[i] = "abcd"[r.IntN(4)]
			}
			values = append(values, v)
		}
		m := New(values)
		if m.automaton().window > 0 {
			skipped++
		}
		in := make([]byte, 200+r.IntN(2000))
		for i := range in {
			in[i] = "abcdde \n"[r.IntN(8)]
		}
		// Plant some values, whole and cut short, and SGR sequences, which
		// end the automaton's runs, near the ends of values or anywhere.
		for range r.IntN(5) {
			v := values[r.IntN(len(values))]
			at := r.IntN(len(in))
			copy(in[at:], v[:r.IntN(len(v)+1)])
		}
		for range r.IntN(8) {
			at := r.IntN(len(in))
			in = append(in[:at], append([]byte("\x1b[0m"), in[at:]...)...)
		}
		var cuts []int
		for range r.IntN(6) {
			cuts = append(cuts, r.IntN(len(in)+1))
		}
		got := maskSplit(t, m, in, sortedInts(cuts))
		if want := naiveMask(m, in); !bytes.Equal(got, want) {
			t.Fatalf("iteration %d (window %d): output differs from reference", iter, m.automaton().window)
		}
	}
	if skipped < 200 {
		t.Fatalf("block skipping used in %d of 300 iterations", skipped)
	}
}

// Find reports each occurrence once, with its value and form, and leaves
// out occurrences inside a longer one.
func TestFind(t *testing.T) {
	v1, v2 := []byte("s3cr3t-t0ken-value"), []byte("an0ther s3cret/x")
	m := New([][]byte{[]byte("ab"), v1, v2})
	b64 := base64.StdEncoding.EncodeToString(v1)
	hx := strings.ToUpper(hex.EncodeToString(v2))
	in := "x " + string(v1) + " y=" + b64 + " z:" + hx + " q=" + url.QueryEscape(string(v2)) + " " + string(v1[:10])
	got := m.Find([]byte(in))
	type want struct {
		sub   string
		value int
		form  Form
	}
	wants := []want{{string(v1), 1, Raw}, {b64, 1, Base64}, {hx, 2, Hex}, {url.QueryEscape(string(v2)), 2, URL}}
	if len(got) != len(wants) {
		t.Fatalf("Find = %v, want %d matches", got, len(wants))
	}
	for i, w := range wants {
		g := got[i]
		if s := in[g.Off : g.Off+g.Len]; !strings.HasPrefix(w.sub, s) || g.Value != w.value || g.Form != w.form {
			t.Errorf("match %d = %v (%q), want %q of value %d as %v", i, g, show([]byte(s), v1, v2), show([]byte(w.sub), v1, v2), w.value, w.form)
		}
	}
	if m.Find([]byte("nothing here, ab")) != nil {
		t.Fatal("found something in text without values")
	}
}

// wrap breaks s into lines of width bytes, ending each with eol.
func wrap(s string, width int, eol string) string {
	var b strings.Builder
	for len(s) > width {
		b.WriteString(s[:width] + eol)
		s = s[width:]
	}
	return b.String() + s + eol
}

// SECURITY 70: a value with SGR colour codes between its characters, its
// base64 wrapped at 64 and 76 columns (LF and CRLF) and its hex wrapped at
// 60 (`xxd -p`) are masked, written whole or in pieces; Find reports them.
func TestMaskDecorated(t *testing.T) {
	v := []byte("ghp_16C7e42F292c6912E7710c838347Ae178B4a")
	m := New([][]byte{v})
	var sgr strings.Builder
	for i, c := range string(v) {
		fmt.Fprintf(&sgr, "\x1b[%dm%c\x1b[0m", 31+i%7, c)
	}
	r := rand.New(rand.NewPCG(7, 8))
	blob := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		return b
	}
	cases := map[string]struct {
		in   string
		form Form
	}{
		"sgr": {"token: " + sgr.String() + "\n", Raw},
	}
	for _, width := range []int{64, 76} {
		for _, eol := range []string{"\n", "\r\n"} {
			for _, lead := range []int{0, 1, 2, 40, 47} {
				data := append(append(blob(lead), v...), blob(30)...)
				cases[fmt.Sprintf("base64-%d-%q-%d", width, eol, lead)] = struct {
					in   string
					form Form
				}{wrap(base64.StdEncoding.EncodeToString(data), width, eol), Base64}
			}
		}
	}
	for _, lead := range []int{0, 5, 29} {
		data := append(append(blob(lead), v...), blob(30)...)
		cases[fmt.Sprintf("xxd-%d", lead)] = struct {
			in   string
			form Form
		}{wrap(hex.EncodeToString(data), 60, "\n"), Hex}
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			in := []byte(c.in)
			out := m.Mask(in)
			plain, _ := naiveView(out)
			plain = bytes.ReplaceAll(bytes.ReplaceAll(plain, []byte("\r"), nil), []byte("\n"), nil)
			for _, f := range patternsFor(v) {
				if len(f.b) >= 8 && bytes.Contains(plain, f.b) {
					t.Fatalf("the value's %v form shows: %q", f.form, out)
				}
			}
			found := m.Find(in)
			if len(found) == 0 || found[0].Form != c.form || found[0].Value != 0 {
				t.Fatalf("Find = %v, want a %v match", found, c.form)
			}
			for _, cut := range []int{1, 7, len(in) / 2, len(in) - 3} {
				if got := maskSplit(t, m, in, []int{cut, cut + 2}); !bytes.Equal(got, out) {
					t.Fatalf("split at %d: %q, whole: %q", cut, got, out)
				}
			}
		})
	}
	// Ordinary lines of other lengths keep their line breaks out of any
	// match.
	if got := m.Mask([]byte("ghp_16C7e42F\n292c6912E7710c838347Ae178B4a\n")); bytes.Contains(got, []byte(Marker)) {
		t.Fatalf("a value broken over ordinary lines was masked: %q", got)
	}
}

// TestMaskerBuildsOnFirstWrite checks that a masker whose writers are
// closed without output builds no automaton, and that one built on the
// first Write masks from the first byte.
func TestMaskerBuildsOnFirstWrite(t *testing.T) {
	const secret = "s3cr3t-value-0123456789"
	m := New([][]byte{[]byte(secret)})
	var quiet bytes.Buffer
	if err := m.Writer(&quiet).Close(); err != nil {
		t.Fatal(err)
	}
	if m.ac != nil || quiet.Len() != 0 {
		t.Fatalf("a writer closed without output built the automaton or wrote %q", quiet.Bytes())
	}
	var out bytes.Buffer
	w := m.Writer(&out)
	if _, err := w.Write([]byte("a " + secret[:5])); err != nil {
		t.Fatal(err)
	}
	if m.ac == nil {
		t.Fatal("the first Write did not build the automaton")
	}
	if _, err := w.Write([]byte(secret[5:] + " b\n")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), "a "+Marker+" b\n"; got != want {
		t.Fatalf("masked %q, want %q", got, want)
	}
}

// pats returns m's patterns, made on first use.
func (m *Masker) pats() [][]byte {
	m.automaton()
	return m.patterns
}

// BenchmarkMaskerOneValue masks text with one token's patterns, as a
// proxied download is, where the search for wrapped encodings rather than
// the automaton sets the pace: log lines of 60 to 100 bytes, plain and
// with SGR colour codes, base64 in lines of 70 (no wrap width: every line
// a candidate) and of 76.
func BenchmarkMaskerOneValue(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	m := New([][]byte{[]byte("ghp_16C7e42F292c6912E7710c838347Ae178B4a")})
	logText := benchLogText(r)
	// The same with its levels and numbers in colour, as a terminal
	// logger prints them.
	colourText := bytes.ReplaceAll(logText, []byte("INFO"), []byte("\x1b[32mINFO\x1b[0m"))
	colourText = bytes.ReplaceAll(colourText, []byte("WARN"), []byte("\x1b[1;33mWARN\x1b[0m"))
	colourText = bytes.ReplaceAll(colourText, []byte("200"), []byte("\x1b[38;5;40m200\x1b[m"))
	raw := make([]byte, 6<<20)
	for i := range raw {
		raw[i] = byte(r.Uint32())
	}
	enc := base64.StdEncoding.EncodeToString(raw)
	for _, tc := range []struct {
		name string
		text []byte
	}{{"log", logText}, {"log-colour", colourText}, {"base64-70", []byte(wrap(enc, 70, "\n"))}, {"base64-76", []byte(wrap(enc, 76, "\n"))}} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(tc.text)))
			for b.Loop() {
				w := m.writer(discard{}, 0)
				for off := 0; off < len(tc.text); off += 256 << 10 {
					w.Write(tc.text[off:min(off+256<<10, len(tc.text))])
				}
				w.Close()
			}
		})
	}
}

// TestWrapRun compares wrapRun with a byte-by-byte search on text made of
// runs of the wrap alphabet of every length around minWrap, cut by spaces,
// punctuation the word test lets through ('.', '@') and line breaks.
func TestWrapRun(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	first := func(b []byte) int {
		n := 0
		for i, c := range b {
			if wrapAlpha[c] == 0 {
				n = 0
				continue
			}
			if n++; n == minWrap {
				return i + 1 - minWrap
			}
		}
		return -1
	}
	const alpha = "ABCxyz019+/=-_"
	for range 20000 {
		var b []byte
		for len(b) < 300 {
			n := r.IntN(80)
			if r.IntN(4) == 0 {
				n = minWrap - 2 + r.IntN(4)
			}
			for range n {
				b = append(b, alpha[r.IntN(len(alpha))])
			}
			b = append(b, " .@\n\r\x1b\xc3"[r.IntN(7)])
		}
		b = b[r.IntN(minWrap):]
		want := first(b)
		got := wrapRun(b)
		switch {
		case want < 0 && got >= 0, want >= 0 && got < 0:
			t.Fatalf("wrapRun(%q) = %d, want %d", b, got, want)
		case want >= 0:
			// got may be inside the first run: no byte outside the wrap
			// alphabet lies between want and got.
			if got < want || !allWrapAlpha(b[want:got+1]) {
				t.Fatalf("wrapRun(%q) = %d, want %d", b, got, want)
			}
		}
	}
}

// TestMaskValueWithColourCodes: a value with SGR sequences in it (a file
// secret copied from coloured output) is masked whole, escape bytes
// included, where it is printed as it is, written whole or in pieces; in
// other colours its visible part is masked when that is at least
// MinMaskLen bytes. A value that shows fewer bytes masks only itself, not
// every occurrence of what it shows.
func TestMaskValueWithColourCodes(t *testing.T) {
	long := []byte("\x1b[31mERROR\x1b[0m db password hunter2\x1b[m")
	short := []byte("\x1b[1mab\x1b[0m")
	values := [][]byte{long, short}
	m := New(values)
	cases := []struct{ in, want string }{
		{"log: " + string(long) + "\n", "log: ***\n"},
		{"[" + string(short) + "]", "[***]"},
		{"\x1b[1;33mERROR\x1b[m db password hunter2.", "\x1b[1;33m***."},
		{"ab tab \x1b[32mab\x1b[0m " + string(short)[:len(short)-1], "ab tab \x1b[32mab\x1b[0m " + string(short)[:len(short)-1]},
		{string(short) + string(long), "***"},
	}
	for _, c := range cases {
		in := []byte(c.in)
		if got := m.Mask(in); string(got) != c.want {
			t.Errorf("Mask(%s) = %q, want %q", show(in, values...), got, c.want)
		}
		for cut := range len(in) + 1 {
			if got := maskSplit(t, m, in, []int{cut, cut + 3}); string(got) != c.want {
				t.Fatalf("split at %d: %q, want %q", cut, got, c.want)
			}
		}
	}
	got := fmt.Sprint(m.Find([]byte("x " + string(short) + " " + string(long))))
	if want := fmt.Sprintf("[{2 %d 1 raw} {%d %d 0 raw}]", len(short), 3+len(short), len(long)); got != want {
		t.Fatalf("Find = %s, want %s", got, want)
	}
}

// A value printed as it is is masked whatever bytes surround it, also when
// they and the value's edge make up an SGR sequence or a wrapping line
// break, which the view leaves out: the value as the parameters of an
// SGR sequence, overlapping its start or its end or two of them, split
// across writes anywhere. The view's own work still holds: a value with
// colour codes between its characters (SECURITY 70) is masked, one of 1-3
// bytes is not (SECURITY 47).
func TestMaskValueInDecoration(t *testing.T) {
	wrapLine := strings.Repeat("A", 58)
	cases := []struct {
		values   []string
		in, want string
	}{
		{[]string{"1234"}, "a\x1b[1234mb", "a\x1b[***mb"},
		{[]string{"1234"}, "\x1b[38;5;1234m", "\x1b[38;5;***m"},
		{[]string{"1234"}, "\x1b[1234", "\x1b[***"},
		{[]string{"12;34"}, "\x1b[12;34m\x1b[0m", "\x1b[***m\x1b[0m"},
		{[]string{"5;12"}, "\x1b[38;5;12mx\x1b[0m", "\x1b[38;***mx\x1b[0m"},
		{[]string{"0;31"}, "\x1b[0;31m\x1b[0;31m", "\x1b[***m\x1b[***m"},
		{[]string{"9876"}, "\x1b[39876m", "\x1b[3***m"},
		// The start of the value in the sequence, the rest after it.
		{[]string{"31mERROR"}, "x\x1b[31mERROR: db", "x\x1b[***: db"},
		{[]string{"mtoken"}, "\x1b[0mtoken", "\x1b[0***"},
		{[]string{"[0mtok"}, "\x1b[0mtok", "\x1b***"},
		{[]string{"\x1b[0mtok"}, "a\x1b[0mtok", "a***"},
		// The value before the sequence, its end in it.
		{[]string{"word\x1b"}, "word\x1b[0m", "***[0m"},
		{[]string{"word\x1b[3"}, "a word\x1b[31m", "a ***1m"},
		{[]string{"pass\x1b[1;3"}, "pass\x1b[1;31mx", "***1mx"},
		// Over two sequences.
		{[]string{"0m\x1b[1"}, "\x1b[0m\x1b[1m", "\x1b[***m"},
		{[]string{"m12\x1b[0"}, "\x1b[1m12\x1b[0m", "\x1b[1***m"},
		{[]string{"4m\x1b[1;2"}, "\x1b[4m\x1b[1;2m!", "\x1b[***m!"},
		// A line break left out as one that wraps an encoding.
		{[]string{"xy\nzw"}, wrapLine + "xy\nzw\n", wrapLine + "***\n"},
		{[]string{"xy\r\nzw"}, wrapLine + "xy\r\nzw\r\n", wrapLine + "***\r\n"},
		// What the view finds stays found.
		{[]string{"hunter22"}, "\x1b[1mhun\x1b[0mter\x1b[32m22\x1b[0m", "\x1b[1m***\x1b[0m"},
		{[]string{"abc", "12"}, "\x1b[12m abc \x1b[1abc", "\x1b[12m abc \x1b[1abc"},
	}
	for _, c := range cases {
		var values [][]byte
		for _, v := range c.values {
			values = append(values, []byte(v))
		}
		m := New(values)
		in := []byte(c.in)
		if got := m.Mask(in); string(got) != c.want {
			t.Errorf("Mask(%q) = %q, want %q", in, got, c.want)
			continue
		}
		if got := maskSplit(t, m, in, nil); string(got) != c.want {
			t.Errorf("Writer(%q) = %q, want %q", in, got, c.want)
			continue
		}
		for i := 0; i <= len(in); i++ {
			for j := i; j <= len(in); j++ {
				if got := maskSplit(t, m, in, []int{i, j}); string(got) != c.want {
					t.Fatalf("%q split at %d,%d: %q, want %q", in, i, j, got, c.want)
				}
			}
		}
		if c.in != c.want && len(m.Find(in)) == 0 {
			t.Errorf("Find(%q) found nothing", in)
		}
	}
	// Find gives the value's place in the input as it is.
	m := New([][]byte{[]byte("1234"), []byte("0m\x1b[1")})
	got := fmt.Sprint(m.Find([]byte("a\x1b[1234mb \x1b[0m\x1b[1m")))
	if want := "[{3 4 0 raw} {12 5 1 raw}]"; got != want {
		t.Errorf("Find = %s, want %s", got, want)
	}
	// The fork reports a value in a sequence after the view reported one
	// that ends later: Find puts them back in order.
	m = New([][]byte{[]byte("12mab"), []byte("cdefgh")})
	got = fmt.Sprint(m.Find([]byte("\x1b[12mabcdefgh")))
	if want := "[{2 5 0 raw} {7 6 1 raw}]"; got != want {
		t.Errorf("Find = %s, want %s", got, want)
	}
}

// TestMaskRawRandom compares the Writer with the reference on text made
// mostly of SGR sequences, digits and wrapped lines, with values drawn
// from the same bytes, so they often overlap a sequence's edges.
func TestMaskRawRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	pieces := []string{"\x1b[", "m", "\x1b[0m", "\x1b[38;5;", "1", "2", "3", ";", ":", "a", "b", " ", "\n", "\r\n", "\x1b", strings.Repeat("Q", 59)}
	gen := func(n int) []byte {
		var b []byte
		for len(b) < n {
			b = append(b, pieces[r.IntN(len(pieces))]...)
		}
		return b
	}
	for iter := range 3000 {
		var values [][]byte
		src := gen(200)
		for range 1 + r.IntN(3) {
			i := r.IntN(len(src) - 8)
			values = append(values, bytes.Clone(src[i:i+4+r.IntN(5)]))
		}
		m := New(values)
		in := gen(20 + r.IntN(300))
		// Plant the values as they are.
		for _, v := range values {
			if r.IntN(2) == 0 {
				k := r.IntN(len(in))
				in = append(in[:k], append(bytes.Clone(v), in[k:]...)...)
			}
		}
		want := naiveMask(m, in)
		var cuts []int
		for range r.IntN(6) {
			cuts = append(cuts, r.IntN(len(in)+1))
		}
		cuts = sortedInts(cuts)
		got := maskSplit(t, m, in, cuts)
		for _, p := range m.pats() {
			if bytes.Contains(in, p) && !bytes.Contains(p, []byte("*")) && bytes.Contains(got, p) {
				t.Fatalf("iteration %d: a pattern printed as it is shows in %q", iter, got)
			}
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("iteration %d: values %q in %q cuts %v:\n got %q\nwant %q", iter, values, in, cuts, got, want)
		}
		if got := m.Mask(in); !bytes.Equal(got, want) {
			t.Fatalf("iteration %d: Mask differs from reference", iter)
		}
	}
}

// BenchmarkMaskerFewValues masks log text, with no value in it, for a
// handful of values of 16 to 64 bytes, as `wsx exec` does for a command
// given a few tokens and passwords.
func BenchmarkMaskerFewValues(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	const alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"
	var values [][]byte
	for _, n := range []int{16, 24, 32, 40, 64} {
		v := make([]byte, n)
		for i := range v {
			v[i] = alnum[r.IntN(len(alnum))]
		}
		values = append(values, v)
	}
	m := New(values)
	text := benchLogText(r)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		w := m.writer(discard{}, 0)
		for off := 0; off < len(text); off += 256 << 10 {
			w.Write(text[off:min(off+256<<10, len(text))])
		}
		w.Close()
	}
}

// benchLogText returns 8 MiB of log lines of 60 to 100 bytes, words
// drawn with r.
func benchLogText(r *rand.Rand) []byte {
	words := strings.Fields("the quick brown fox jumps over lazy dog INFO WARN DEBUG request served in ms status 200 404 GET POST /api/v1/items user=42 id=7f3a latency=12.5ms")
	var text []byte
	line := 0
	for len(text) < 8<<20 {
		w := words[r.IntN(len(words))]
		text = append(text, w...)
		line += len(w) + 1
		if line > 60+r.IntN(40) {
			text = append(text, '\n')
			line = 0
		} else {
			text = append(text, ' ')
		}
	}
	return text
}
