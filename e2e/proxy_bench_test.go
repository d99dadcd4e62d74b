package e2e

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"os"
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
// SECONDS" lines, and with $NGINX set "dl-nginx SECONDS", the download
// through nginx. The first request of each run opens the connection
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
	if [ -n "${NGINX:-}" ]; then
		curl -sS --noproxy '*' -o /dev/null -w 'dl-nginx %{time_total}\n' -H "Authorization: Bearer $API_TOKEN" "$NGINX/big"
	fi
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
//
// Where nginx is installed, the download is also made through nginx as a
// TLS-terminating reverse proxy in front of the same host
// (dl-nginx-ratio): the anchor for the download, what decrypting and
// encrypting again alone costs on the machine, with no value put in and
// nothing masked or recorded.
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
			if u := startNginx(b, r); u != "" {
				env = append(append([]string(nil), env...), "NGINX="+u)
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
			if len(times["dl-nginx"]) > 0 {
				dn := med("dl-nginx")
				b.ReportMetric(mb/dn, "dl-nginx-MB/s")
				b.ReportMetric(dd/dn, "dl-nginx-ratio")
			}
			if r.api.count("value") == 0 {
				b.Fatal(fmt.Sprintf("no request arrived with the value: %v", r.api.got))
			}
		})
	}
}

// startNginx runs nginx, when installed, as a TLS-terminating reverse
// proxy in front of r's API host, with a certificate of r's CA: it
// decrypts, verifies the host's certificate, and encrypts again, with
// what it proxies kept in memory (its configuration, key and log are
// files of the rig). It returns its https:// URL, or "" without nginx or
// when it does not start.
func startNginx(tb testing.TB, r *proxyRig) string {
	tb.Helper()
	bin, err := exec.LookPath("nginx")
	if err != nil {
		if _, err = os.Stat("/usr/sbin/nginx"); err != nil {
			return ""
		}
		bin = "/usr/sbin/nginx"
	}
	dir := filepath.Join(r.dir, "nginx")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		tb.Fatal(err)
	}
	leaf := r.ca.leaf(tb)
	key, err := x509.MarshalPKCS8PrivateKey(leaf.PrivateKey)
	if err != nil {
		tb.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Certificate[0]}), 0o600); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key}), 0o600); err != nil {
		tb.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr, port := l.Addr().String(), l.Addr().(*net.TCPAddr).Port
	l.Close()
	conf := fmt.Sprintf(`daemon off;
master_process off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path %[1]s/body;
	proxy_temp_path %[1]s/proxy;
	fastcgi_temp_path %[1]s/fastcgi;
	uwsgi_temp_path %[1]s/uwsgi;
	scgi_temp_path %[1]s/scgi;
	proxy_buffers 16 256k;
	proxy_buffer_size 256k;
	proxy_max_temp_file_size 0;
	server {
		listen %[2]s ssl;
		ssl_certificate %[3]s;
		ssl_certificate_key %[4]s;
		location / {
			proxy_pass %[5]s;
			proxy_http_version 1.1;
			proxy_ssl_verify on;
			proxy_ssl_trusted_certificate %[6]s;
		}
	}
}
`, dir, addr, certFile, keyFile, r.apiURL, r.caFile)
	confFile := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o600); err != nil {
		tb.Fatal(err)
	}
	c := exec.Command(bin, "-p", dir, "-c", confFile)
	var stderr bytes.Buffer
	c.Stderr = &stderr
	if err := c.Start(); err != nil {
		tb.Fatal(err)
	}
	if !waitPort(port, c) {
		// The anchor is left out; wsx's own figures still stand.
		c.Process.Kill()
		c.Wait()
		log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
		tb.Logf("nginx did not start, the download is not made through it: %s%s", stderr.Bytes(), log)
		return ""
	}
	tb.Cleanup(func() {
		c.Process.Kill()
		c.Wait()
	})
	return "https://" + addr
}
