package e2e

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// BenchmarkAccessHooks times the start-up cost of the `accessed` hooks:
// `wsx exec -- node -e 0` (and python3 -c 0) with the hooks and with
// --no-trace, interleaved, with 20 secrets and an agent serving the store.
// hook-ms is the difference of the medians: what the hook adds to each
// node or python process.
func BenchmarkAccessHooks(b *testing.B) {
	dir := b.TempDir()
	w := newWSXRunner(b, dir)
	w.run(nil, true, "init")
	benchSecrets(b, w, 20)
	env := startBenchAgent(b, w, dir)
	wsx := filepath.Join(binDir, "wsx")
	for _, rt := range [][]string{{"node", "-e", "0"}, {"python3", "-c", "0"}} {
		if _, err := exec.LookPath(rt[0]); err != nil {
			continue // scripts/deps.sh installs both
		}
		b.Run(rt[0], func(b *testing.B) {
			t := alternate(b,
				func() { runQuiet(b, env, dir, nil, append([]string{wsx, "exec", "--"}, rt...)...) },
				func() { runQuiet(b, env, dir, nil, append([]string{wsx, "exec", "--no-trace", "--"}, rt...)...) })
			with, without := median(t[0]), median(t[1])
			b.ReportMetric(with, "wsx-ms")
			b.ReportMetric(without, "anchor-ms")
			b.ReportMetric(with-without, "hook-ms")
		})
	}
}
