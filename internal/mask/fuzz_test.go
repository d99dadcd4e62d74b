package mask

import (
	"bytes"
	"testing"
)

// FuzzMasker: arbitrary values, input and split points. The streamed output
// equals the reference (union of all pattern occurrences, one Marker per
// run), never contains a value of MinMaskLen bytes or more, and equals the
// input when no pattern occurs in it.
func FuzzMasker(f *testing.F) {
	f.Add([]byte("secret"), []byte("secretive"), []byte("a secretive secret"), []byte{3, 9})
	f.Add([]byte("abcdef"), []byte("defghi"), []byte("xxabcdefghiyy"), []byte{1, 2, 3, 4, 5})
	f.Add([]byte("line1\nline2"), []byte("tok3n"), []byte("line1\r\nline2 dG9rM24= 746f6b336e"), []byte{7})
	f.Add([]byte("p@ss w&rd"), []byte("ab"), []byte(`{"p":"p@ss w\u0026rd"} p%40ss+w%26rd`), []byte{0, 255})
	f.Add([]byte("\x00\xff\x00\xff"), []byte("\xe2\x82\xac\xe2"), []byte("\x00\xff\x00\xff\xe2\x82\xac\xe2\x82"), []byte{2, 2})
	f.Add([]byte("aaaa"), []byte("aaab"), []byte("aaaaaaaaaaab"), []byte{1, 1, 1})
	// Values long enough for block skipping.
	f.Add([]byte("sk_live_4eC39HqLyjWDarjtT1zdp7dc"), []byte("ghp_16C7e42F292c6912E7710c838347Ae178B4a"),
		[]byte("key=sk_live_4eC39HqLyjWDarjtT1zdp7dc tok=ghp_16C7e42F292c6912E7710c83 ghp_16C7e42F292c6912E7710c838347Ae178B4a"), []byte{40, 3})
	// Decorations: SGR between characters, base64 wrapped at 64 (CRLF).
	f.Add([]byte("s3cr3t-value"), []byte("0123456789abcdef0123456789abcdef0123456789abcdef"),
		[]byte("x \x1b[31ms3\x1b[0mcr\x1b[1;32m3t-value\x1b[m \x1b[9"), []byte{5, 9, 20})
	f.Add([]byte("c3VwZXItc2VjcmV0LXRva2Vu"), []byte("abcd"),
		[]byte("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0NTY3ODljM1Z3WlhJdGMy\r\nVmpjbVYwTFhSdmEyVnU=\r\n"), []byte{63, 2, 1})
	// A value that is, or whose edges are, part of an SGR sequence or a
	// wrapping line break.
	f.Add([]byte("1234"), []byte("38;5;2"), []byte("a\x1b[1234m b\x1b[38;5;214m c\x1b[0m"), []byte{3, 1})
	f.Add([]byte("tok\x1b[3"), []byte("0mab12"), []byte("tok\x1b[31m x \x1b[0mab12 \x1b[1m\x1b[0mab12"), []byte{4, 2})
	f.Add([]byte("xy\nzw"), []byte("QUJD\r\n"), []byte("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAxy\nzw\n"), []byte{59, 1})
	f.Fuzz(func(t *testing.T, v1, v2, in, splits []byte) {
		if len(v1) > 256 || len(v2) > 256 || len(in) > 4096 {
			return
		}
		values := [][]byte{v1, v2}
		m := New(values)
		var cuts []int
		pos := 0
		for _, s := range splits {
			pos += int(s)
			cuts = append(cuts, pos)
		}
		out := maskSplit(t, m, in, cuts)
		assertNoValue(t, out, values, "fuzz")
		found := false
		view, _ := naiveView(in)
		for _, p := range m.pats() {
			if bytes.Contains(view, p) || bytes.Contains(in, p) {
				found = true
				break
			}
		}
		if !found && !bytes.Equal(out, in) {
			t.Fatalf("input without any value changed")
		}
		// Checked before the reference, so that these fail on their
		// own. Every pattern printed as it is, whatever surrounds it, is
		// masked: none is left whole in the output (unless the Marker
		// could make it up again).
		for _, p := range m.pats() {
			if bytes.Contains(in, p) && !bytes.Contains(p, []byte("*")) && bytes.Contains(out, p) {
				t.Fatalf("a pattern printed as it is shows")
			}
		}
		want := naiveMask(m, in)
		if !bytes.Equal(out, want) {
			t.Fatalf("output differs from reference")
		}
		if got := m.Mask(in); !bytes.Equal(got, want) {
			t.Fatalf("Mask differs from reference")
		}
	})
}
