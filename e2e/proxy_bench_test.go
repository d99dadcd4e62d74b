package e2e

import (
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// proxyBenchBytes is the size of the download BenchmarkProxy times.
const proxyBenchBytes = 100 << 20

// bigBlock is the text serveBig repeats, made once: making it for each
// request would add the same time to both downloads of BenchmarkProxy
// and bring their ratio closer to 1 than the proxy does.
var bigBlock = sync.OnceValue(func() []byte { return logText(1 << 20) })

// serveBig answers proxyBenchBytes of text.
func serveBig(w http.ResponseWriter, _ *http.Request) {
	block := bigBlock()
	w.Header().Set("Content-Length", strconv.Itoa(proxyBenchBytes))
	for n := 0; n < proxyBenchBytes; n += len(block) {
		if _, err := w.Write(block); err != nil {
			return
		}
	}
}

// proxyBenchScript runs inside `wsx exec --inject proxy`. Each round
// makes 50 requests on one connection through the proxy (each carrying
// the placeholder, so each is a substitution and a use recorded) and 50
// straight to the host, then downloads /big both ways; it prints
// "proxy SECONDS", "direct SECONDS", "dl-proxy SECONDS", "dl-direct
// SECONDS" lines. The first request of each run opens the connection
// and is left out. Both ways it is the same request from the same client
// (curl, its TLS settings) to the same server; only the proxy differs.
const proxyBenchScript = `set -eu
args=""
i=0
while [ $i -lt 50 ]; do args="$args -o /dev/null $API/api/user"; i=$((i+1)); done
r=0
while [ $r -lt $1 ]; do
	curl -sS -w 'proxy %{time_total}\n' -H "Authorization: Bearer $API_TOKEN" $args | tail -n +2
	curl -sS --noproxy '*' -w 'direct %{time_total}\n' -H "Authorization: Bearer $API_TOKEN" $args | tail -n +2
	curl -sS -o /dev/null -w 'dl-proxy %{time_total}\n' -H "Authorization: Bearer $API_TOKEN" "$API/big"
	curl -sS --noproxy '*' -o /dev/null -w 'dl-direct %{time_total}\n' -H "Authorization: Bearer $API_TOKEN" "$API/big"
	r=$((r+1))
done
`

// BenchmarkProxy times requests through `wsx exec --inject proxy`'s proxy
// against the same requests straight to the host, from curl in the same
// run: the median time of a request on a warm connection each way and
// their difference (overhead-ms), and a 100 MB download each way
// (dl-ratio: direct time over proxied time, so 1 is as fast). The
// store is served by a wsx agent ("agent") or opened by wsx exec itself
// ("local", where every use waits for its fsync).
func BenchmarkProxy(b *testing.B) {
	if _, err := exec.LookPath("curl"); err != nil {
		b.Skip("curl is missing")
	}
	for _, mode := range []string{"agent", "local"} {
		b.Run(mode, func(b *testing.B) {
			r := newProxyRig(b)
			env := r.env
			if mode == "agent" {
				_, pid, err := startAgent(r.w.env)
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { stopAgent(pid) })
				env = append(append([]string(nil), env...), "WSX_PASSPHRASE_FILE="+filepath.Join(r.dir, "no-such-file"))
			}
			times := map[string][]float64{}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				out := r.execEnv(b, env, "sh", "-c", proxyBenchScript, "sh", "2")
				for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
					k, v, ok := strings.Cut(l, " ")
					f, err := strconv.ParseFloat(v, 64)
					if !ok || err != nil {
						b.Fatalf("bench output line %q", l)
					}
					times[k] = append(times[k], f)
				}
			}
			b.StopTimer()
			med := func(k string) float64 {
				s := times[k]
				if len(s) == 0 {
					b.Fatalf("no %s figures", k)
				}
				sort.Float64s(s)
				return s[len(s)/2]
			}
			p, d := med("proxy")*1000, med("direct")*1000
			b.ReportMetric(p, "proxy-ms")
			b.ReportMetric(d, "direct-ms")
			b.ReportMetric(p-d, "overhead-ms")
			dp, dd := med("dl-proxy"), med("dl-direct")
			mb := float64(proxyBenchBytes) / 1e6
			b.ReportMetric(mb/dp, "dl-proxy-MB/s")
			b.ReportMetric(mb/dd, "dl-direct-MB/s")
			b.ReportMetric(dd/dp, "dl-ratio")
			if r.api.count("value") == 0 {
				b.Fatal(fmt.Sprintf("no request arrived with the value: %v", r.api.got))
			}
		})
	}
}
