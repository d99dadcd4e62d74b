package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The benchmarks of this package time wsx and the tool it replaces (its
// anchor) alternately in the same loop, so that a busy machine slows both
// alike, and report the median of each and their ratio as metrics:
// scripts/bench.sh reads them. Run them with -benchtime Nx.

// interleave runs wsx and anchor alternately, b.N times each, the one that
// goes first changing every iteration, and reports the median time of
// each in ms (wsx-ms, anchor-ms) and wsx-ms/anchor-ms (ratio).
func interleave(b *testing.B, wsx, anchor func()) {
	b.Helper()
	t := alternate(b, wsx, anchor)
	reportPair(b, median(t[0]), median(t[1]))
}

func reportPair(b *testing.B, wsx, anchor float64) {
	b.ReportMetric(wsx, "wsx-ms")
	b.ReportMetric(anchor, "anchor-ms")
	b.ReportMetric(wsx/anchor, "ratio")
}

// alternate runs every f once per iteration of b.Loop, starting each
// iteration with the next one in turn, and returns the times of each (ms).
func alternate(b *testing.B, fs ...func()) [][]float64 {
	b.Helper()
	times := make([][]float64, len(fs))
	for i := 0; b.Loop(); i++ {
		for k := range fs {
			j := (i + k) % len(fs)
			start := time.Now()
			fs[j]()
			times[j] = append(times[j], float64(time.Since(start).Nanoseconds())/1e6)
		}
	}
	return times
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(v))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// runQuiet runs argv with env in dir, stdin from in, and fails b when it
// fails; it returns stdout.
func runQuiet(b *testing.B, env []string, dir string, in []byte, argv ...string) []byte {
	b.Helper()
	c := exec.Command(argv[0], argv[1:]...)
	c.Dir, c.Env = dir, env
	c.Stdin = bytes.NewReader(in)
	var out, errOut bytes.Buffer
	c.Stdout, c.Stderr = &out, &errOut
	if err := c.Run(); err != nil {
		b.Fatalf("%v: %v\n%s", argv, err, errOut.Bytes())
	}
	return out.Bytes()
}

// BenchmarkCredentialFill times `git credential fill` for one credential
// answered by wsx through a running agent (the store unlocked there, as
// after `wsx unlock`), with the helper `wsx git setup` writes (the
// git-credential-wsx beside wsx), against
// git's own store helper (the same credential in clear in a credentials
// file), interleaved.
func BenchmarkCredentialFill(b *testing.B) {
	if _, err := exec.LookPath("git"); err != nil {
		b.Skip("git is missing")
	}
	req := []byte("protocol=https\nhost=git.example.test\n\n")
	want := []byte("\npassword=" + canary + "\n")
	fill := func(env []string, dir, helper string) func() {
		return func() {
			out := runQuiet(b, env, dir, req, "git", "-c", "credential.helper="+helper, "credential", "fill")
			if !bytes.Contains(out, want) {
				b.Fatalf("git credential fill with %s: no or another password", helper)
			}
		}
	}

	dir := b.TempDir()
	w := newWSXRunner(b, dir)
	w.run(nil, true, "init")
	w.run([]byte(canary+"\n"), true, "add", "BENCH_TOKEN", "--type", "token",
		"--host", "git.example.test", "--username", "x-access-token")
	w.run(nil, true, "git", "setup", "--global")
	helper := string(bytes.TrimSpace(runQuiet(b, w.env, dir, nil, "git", "config", "--global", "--get", "credential.helper")))
	if !strings.HasSuffix(helper, "/git-credential-wsx") {
		b.Fatalf("wsx git setup wrote credential.helper = %s", helper)
	}
	env := startBenchAgent(b, w, dir)

	sdir := b.TempDir()
	home := filepath.Join(sdir, "home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		b.Fatal(err)
	}
	creds := filepath.Join(sdir, "credentials")
	if err := os.WriteFile(creds, []byte("https://x-access-token:"+canary+"@git.example.test\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	interleave(b, fill(env, dir, helper), fill(gitEnv(home), sdir, "store --file="+creds))
}

// startBenchAgent starts `wsx agent -s` for w's store, stops it when b
// ends, and returns w's environment with the passphrase file spoilt, so a
// run that opened the store itself instead of asking the agent would fail.
func startBenchAgent(b *testing.B, w *wsxRunner, dir string) []string {
	b.Helper()
	_, pid, err := startAgent(w.env)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { stopAgent(pid) })
	return append(slices.Clip(w.env), "WSX_PASSPHRASE_FILE="+filepath.Join(dir, "no-such-file"))
}

// initLine is a line of GODEBUG=inittrace=1 output.
var initLine = regexp.MustCompile(`(?m)^init \S+ @\S+ ms, ([0-9.]+) ms clock, ([0-9]+) bytes, ([0-9]+) allocs$`)

// initTrace runs argv with GODEBUG=inittrace=1 and returns the sum of the
// package initialisers' clock time (ms) and allocations.
func initTrace(b *testing.B, argv ...string) (ms, allocs float64) {
	b.Helper()
	c := exec.Command(argv[0], argv[1:]...)
	c.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	var errOut bytes.Buffer
	c.Stderr = &errOut
	if err := c.Run(); err != nil {
		b.Fatalf("%v: %v\n%s", argv, err, errOut.Bytes())
	}
	for _, m := range initLine.FindAllSubmatch(errOut.Bytes(), -1) {
		t, _ := strconv.ParseFloat(string(m[1]), 64)
		a, _ := strconv.ParseFloat(string(m[3]), 64)
		ms += t
		allocs += a
	}
	return ms, allocs
}

// floorBin builds, once, the smallest Go program that writes a line, with
// the flags of `make build`: Go's own start-up cost, the floor of wsx's.
var floorBin = sync.OnceValues(func() (string, error) {
	dir := filepath.Join(binDir, "floor")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	src := "package main\n\nimport \"os\"\n\nfunc main() { os.Stdout.WriteString(\"floor\\n\") }\n"
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o600); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module floor\n"), 0o600); err != nil {
		return "", err
	}
	c := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", "floor", ".")
	c.Dir = dir
	c.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=", "GOWORK=off")
	if out, err := c.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build the floor program: %v\n%s", err, out)
	}
	return filepath.Join(dir, "floor"), nil
})

// BenchmarkStartup measures what `wsx --version` costs before and around
// main, interleaved with the smallest Go program: the sum of package
// initialisers from GODEBUG=inittrace=1 (init-ms, init-allocs; floor-init-ms
// for the small program) and the wall time of the whole run (wsx-ms,
// anchor-ms, ratio).
func BenchmarkStartup(b *testing.B) {
	floor, err := floorBin()
	if err != nil {
		b.Fatal(err)
	}
	wsx := filepath.Join(binDir, "wsx")
	var wms, fms, allocs []float64
	t := alternate(b,
		func() { runQuiet(b, nil, "", nil, wsx, "--version") },
		func() { runQuiet(b, nil, "", nil, floor) },
		func() {
			ms, a := initTrace(b, wsx, "--version")
			wms, allocs = append(wms, ms), append(allocs, a)
		},
		func() {
			ms, _ := initTrace(b, floor)
			fms = append(fms, ms)
		})
	reportPair(b, median(t[0]), median(t[1]))
	b.ReportMetric(median(wms), "init-ms")
	b.ReportMetric(median(allocs), "init-allocs")
	b.ReportMetric(median(fms), "floor-init-ms")
}

// TestStartupModules keeps out of the wsx binary the modules whose package
// initialisers every wsx process would pay before main and that it does
// not need: urfave/cli's Markdown man-page renderer (left out by the
// Makefile's tags, which the e2e build shares) and go-git with what it
// brings, which the tests use but wsx does not.
func TestStartupModules(t *testing.T) {
	out, err := exec.Command("go", "version", "-m", filepath.Join(binDir, "wsx")).CombinedOutput()
	if err != nil {
		t.Fatalf("go version -m: %v\n%s", err, out)
	}
	for _, mod := range []string{
		"github.com/russross/blackfriday", "github.com/cpuguy83/go-md2man",
		"github.com/go-git/", "github.com/ProtonMail/go-crypto", "github.com/kevinburke/ssh_config",
	} {
		if bytes.Contains(out, []byte("\t"+mod)) {
			t.Errorf("wsx links %s", mod)
		}
	}
	// The Makefile builds with the tags the e2e binary is built with.
	mk, err := os.ReadFile(filepath.Join("..", "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	tags := ""
	if m := regexp.MustCompile(`(?m)^TAGS\s*:=\s*(.*)$`).FindSubmatch(mk); m != nil {
		tags = string(bytes.TrimSpace(m[1]))
	}
	if tags != buildTags {
		t.Errorf("Makefile TAGS %q, e2e builds with %q", tags, buildTags)
	}
}
