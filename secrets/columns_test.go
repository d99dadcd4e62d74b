package secrets

import (
	"bytes"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
)

// writeColumns lays out what the tabwriter of newTable does, byte for byte.
func TestWriteColumnsAsTabwriter(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	cells := []string{"", "-", "token", "API_TOKEN", "ключ", "日本語の説明", "a b c", "DAMAGED", "90d (due in 3d), old value kept", "x\\x1b"}
	for iter := range 300 {
		ncols := r.IntN(7)
		if iter%50 == 0 {
			ncols = 5 // the list's own shape
		}
		lines := make([]string, r.IntN(30))
		for i := range lines {
			n := ncols
			if iter%7 == 3 && r.IntN(4) == 0 {
				n = r.IntN(7) // lines of other shapes: the tabwriter's blocks
			}
			parts := make([]string, n+1)
			for j := range parts {
				parts[j] = cells[r.IntN(len(cells))]
			}
			lines[i] = strings.Join(parts, "\t")
		}
		for _, padding := range []int{1, 2} {
			var want, got bytes.Buffer
			tw := newTable(&want, padding)
			for _, l := range lines {
				io.WriteString(tw, l+"\n")
			}
			if err := tw.Flush(); err != nil {
				t.Fatal(err)
			}
			if err := writeColumns(&got, lines, padding); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want.Bytes()) {
				t.Fatalf("lines %q, padding %d:\n got %q\nwant %q", lines, padding, got.String(), want.String())
			}
		}
	}
}
