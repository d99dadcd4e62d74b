package e2e

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// benchSecrets adds n token secrets of 20 to 40 random letters and digits
// to the store of w and returns their values.
func benchSecrets(b *testing.B, w *wsxRunner, n int) [][]byte {
	b.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	const alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	values := make([][]byte, n)
	for i := range values {
		v := make([]byte, 20+r.IntN(21))
		for j := range v {
			v[j] = alnum[r.IntN(len(alnum))]
		}
		values[i] = v
		w.run(append(v, '\n'), true, "add", fmt.Sprintf("BENCH_SECRET_%03d", i), "--type", "token")
	}
	return values
}

// BenchmarkExec times starting a trivial command through `wsx exec` with
// 20 secrets and masking on (stdout and stderr are pipes), a wsx agent
// serving the store unlocked (as after `wsx unlock`), against
// `env FOO=bar true`, interleaved.
func BenchmarkExec(b *testing.B) {
	dir := b.TempDir()
	w := newWSXRunner(b, dir)
	w.run(nil, true, "init")
	benchSecrets(b, w, 20)
	env := startBenchAgent(b, w, dir)
	wsx := filepath.Join(binDir, "wsx")
	interleave(b,
		func() { runQuiet(b, env, dir, nil, wsx, "exec", "--", "true") },
		func() { runQuiet(b, w.env, dir, nil, "env", "FOO=bar", "true") })
}

// benchBytes is the size of the text BenchmarkExecThroughput pipes
// through cat: WSX_BENCH_BYTES (a number of bytes, or with a K, M or G
// suffix), 1 GiB by default.
func benchBytes(b *testing.B) int64 {
	s := os.Getenv("WSX_BENCH_BYTES")
	if s == "" {
		return 1 << 30
	}
	mult := int64(1)
	switch {
	case strings.HasSuffix(s, "K"):
		mult, s = 1<<10, strings.TrimSuffix(s, "K")
	case strings.HasSuffix(s, "M"):
		mult, s = 1<<20, strings.TrimSuffix(s, "M")
	case strings.HasSuffix(s, "G"):
		mult, s = 1<<30, strings.TrimSuffix(s, "G")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		b.Fatalf("WSX_BENCH_BYTES=%q: want a positive size such as 64M", os.Getenv("WSX_BENCH_BYTES"))
	}
	return n * mult
}

// logText returns size bytes of log-like text (words, numbers, paths,
// lines of 60 to 100 bytes) in which no secret occurs.
func logText(size int) []byte {
	r := rand.New(rand.NewPCG(3, 4))
	words := strings.Fields("the quick brown fox jumps over lazy dog INFO WARN DEBUG request served in ms status 200 404 GET POST /api/v1/items user=42 id=7f3a latency=12.5ms")
	var buf bytes.Buffer
	line := 0
	for buf.Len() < size {
		w := words[r.IntN(len(words))]
		buf.WriteString(w)
		line += len(w) + 1
		if line > 60+r.IntN(40) {
			buf.WriteByte('\n')
			line = 0
		} else {
			buf.WriteByte(' ')
		}
	}
	return buf.Bytes()[:size]
}

// BenchmarkExecThroughput pipes text through `wsx exec -- cat` with 100
// secrets masked and through plain cat, interleaved: the bytes go from this
// process through a pipe to cat (wsx hands its stdin to the child
// untouched) and back through a pipe (through wsx's masking writer in the
// wsx case). The text holds no secret, so the output must equal the input
// in length. It reports the median MB/s of each (wsx-MB/s, anchor-MB/s) and
// their ratio. WSX_BENCH_BYTES sets the size (default 1 GiB).
func BenchmarkExecThroughput(b *testing.B) {
	size := benchBytes(b)
	block := logText(1 << 20)

	pipe := func(env []string, dir string, argv ...string) func() {
		return func() {
			c := exec.Command(argv[0], argv[1:]...)
			c.Dir, c.Env = dir, env
			in, err := c.StdinPipe()
			if err != nil {
				b.Fatal(err)
			}
			out, err := c.StdoutPipe()
			if err != nil {
				b.Fatal(err)
			}
			var errOut bytes.Buffer
			c.Stderr = &errOut
			if err := c.Start(); err != nil {
				b.Fatal(err)
			}
			go func() {
				defer in.Close()
				for left := size; left > 0; {
					n := min(left, int64(len(block)))
					if _, err := in.Write(block[:n]); err != nil {
						return
					}
					left -= n
				}
			}()
			got, err := io.Copy(io.Discard, out)
			if werr := c.Wait(); err == nil {
				err = werr
			}
			if err != nil {
				b.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, errOut.Bytes())
			}
			if got != size {
				b.Fatalf("%s: %d bytes out, %d in", strings.Join(argv, " "), got, size)
			}
		}
	}

	dir := b.TempDir()
	w := newWSXRunner(b, dir)
	// The KDF does not matter here: the cheapest keeps the set-up short.
	w.run(nil, true, "init", "--kdf-memory", "8", "--kdf-time", "1")
	benchSecrets(b, w, 100)
	t := alternate(b,
		pipe(w.env, dir, filepath.Join(binDir, "wsx"), "exec", "--pty", "never", "--", "cat"),
		pipe(w.env, dir, "cat"))
	mbs := func(ms float64) float64 { return float64(size) / 1e6 / (ms / 1e3) }
	ws, cs := mbs(median(t[0])), mbs(median(t[1]))
	b.ReportMetric(ws, "wsx-MB/s")
	b.ReportMetric(cs, "anchor-MB/s")
	b.ReportMetric(ws/cs, "ratio")
}
