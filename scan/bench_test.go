package scan

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// BenchmarkScanTree scans Go's own source tree (about 150 MB of real
// code, tests and binary fixtures, on every machine with Go) with 100
// stored values and every rule, the way `wsx scan` does outside git. It
// reports MB/s; `go test -run '^$' -bench ScanTree -benchtime 3x ./scan/`.
func BenchmarkScanTree(b *testing.B) {
	root := filepath.Join(runtime.GOROOT(), "src")
	r := rand.New(rand.NewPCG(5, 6))
	var vals []Value
	for i := range 100 {
		vals = append(vals, Value{Secret: fmt.Sprintf("SECRET_%d", i), Bytes: []byte(tokenChars(r, alnum, 32))})
	}
	m, _ := NewValueMatcher(vals)
	for _, c := range []struct {
		name   string
		values Matcher
		rules  []*Rule
	}{
		{"all", m, nil},
		{"values", m, []*Rule{}},
		{"rules", nil, nil},
	} {
		b.Run(c.name, func(b *testing.B) {
			var bytes int64
			for b.Loop() {
				res, err := Run(context.Background(), Options{Dir: root, Values: c.values, Rules: c.rules, Git: "/nonexistent"})
				if err != nil {
					b.Fatal(err)
				}
				bytes = res.Bytes
			}
			b.SetBytes(bytes)
		})
	}
}

// BenchmarkFindRules is the rules alone over Go's net/http sources, in
// one buffer.
func BenchmarkFindRules(b *testing.B) {
	var buf []byte
	files, _ := filepath.Glob(filepath.Join(runtime.GOROOT(), "src", "net", "http", "*.go"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		buf = append(buf, data...)
	}
	if len(buf) < 1<<20 {
		b.Fatalf("only %d bytes of source", len(buf))
	}
	rs := newRuleSet(Rules())
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		rs.find(buf)
	}
}
