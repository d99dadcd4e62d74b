package secrets

import (
	"bufio"
	"io"
	"strings"
	"unicode/utf8"
)

// writeColumns writes lines (without their "\n"), whose cells are
// separated by tabs, as newTable(w, padding) would: every cell but the
// last of its line padded with spaces to its column's widest cell, in
// runes, plus padding. It lays out 10 000 rows several times faster than
// text/tabwriter, which works cell by cell; lines that do not all have the
// same number of cells go through the tabwriter.
func writeColumns(w io.Writer, lines []string, padding int) error {
	cols := -1
	for _, l := range lines {
		n := strings.Count(l, "\t")
		if cols >= 0 && n != cols {
			t := newTable(w, padding)
			for _, l := range lines {
				io.WriteString(t, l+"\n")
			}
			return t.Flush()
		}
		cols = n
	}
	widths := make([]int, max(cols, 0))
	widest := 0
	for _, l := range lines {
		for i := range widths {
			cell, rest, _ := strings.Cut(l, "\t")
			widths[i] = max(widths[i], utf8.RuneCountInString(cell))
			widest = max(widest, widths[i])
			l = rest
		}
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	pad := strings.Repeat(" ", padding+widest)
	for _, l := range lines {
		for i := range widths {
			cell, rest, _ := strings.Cut(l, "\t")
			bw.WriteString(cell)
			bw.WriteString(pad[:widths[i]+padding-utf8.RuneCountInString(cell)])
			l = rest
		}
		bw.WriteString(l)
		bw.WriteByte('\n')
	}
	return bw.Flush()
}
