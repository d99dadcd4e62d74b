package e2e

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsxdev/wsx/audit"
)

// testCA is a certificate authority for the hosts the proxy talks to in
// tests, which the wsx process trusts through SSL_CERT_FILE (Go's roots).
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(tb testing.TB) *testCA {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "wsx e2e upstream CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// serve starts h over TLS on 127.0.0.1 with a certificate of ca.
func (ca *testCA) serve(tb testing.TB, h http.Handler) *httptest.Server {
	tb.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{ca.leaf(tb)}}
	srv.StartTLS()
	tb.Cleanup(srv.Close)
	return srv
}

// leaf issues a certificate of ca for 127.0.0.1.
func (ca *testCA) leaf(tb testing.TB) tls.Certificate {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		tb.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// apiServer answers every request with what it got in Authorization,
// and counts the requests that carried want there and in ?key=.
type apiServer struct {
	want string
	mu   sync.Mutex
	got  map[string]int // "value", "placeholder", "other"
}

func (a *apiServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	auth := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	k := "other"
	switch {
	case auth == a.want && (r.URL.Query().Get("key") == "" || r.URL.Query().Get("key") == a.want):
		k = "value"
	case strings.HasPrefix(auth, "wsx_placeholder_"):
		k = "placeholder"
	}
	a.mu.Lock()
	a.got[k]++
	a.mu.Unlock()
	if r.URL.Path == "/big" {
		serveBig(w, r)
		return
	}
	io.WriteString(w, "you sent "+auth+"\n")
}

func (a *apiServer) count(k string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.got[k]
}

// proxyRig is a store with API_TOKEN (the canary, bound to the API
// server, the git server and a server whose certificate does not verify)
// and OTHER_TOKEN (bound to a second server), and those servers.
type proxyRig struct {
	w                     *wsxRunner
	dir                   string
	env                   []string
	api, other            *apiServer
	apiURL, otherURL, bad string
	gitURL, plainURL      string
	plain                 *apiServer
	gitRoot               string
	ca                    *testCA
	caFile                string // ca's certificate
}

func newProxyRig(t testing.TB) *proxyRig {
	dir := t.TempDir()
	ca := newTestCA(t)
	caFile := filepath.Join(dir, "upstream-ca.pem")
	if err := os.WriteFile(caFile, ca.pem, 0o600); err != nil {
		t.Fatal(err)
	}
	r := &proxyRig{dir: dir, ca: ca, caFile: caFile, api: &apiServer{want: canary, got: map[string]int{}}, other: &apiServer{want: "other-value-0123456789abcdef", got: map[string]int{}},
		plain: &apiServer{got: map[string]int{}}}
	r.apiURL = ca.serve(t, r.api).URL
	r.otherURL = ca.serve(t, r.other).URL
	badSrv := httptest.NewTLSServer(r.api) // httptest's own certificate: not trusted
	t.Cleanup(badSrv.Close)
	r.bad = badSrv.URL
	plainSrv := httptest.NewServer(r.plain)
	t.Cleanup(plainSrv.Close)
	r.plainURL = plainSrv.URL

	r.gitRoot = filepath.Join(dir, "srv")
	if err := os.MkdirAll(r.gitRoot, 0o700); err != nil {
		t.Fatal(err)
	}
	makeBareRepo(t, r.gitRoot, "repo", map[string]string{"README": "hello\n"})
	logf, err := os.OpenFile(filepath.Join(dir, "gitserver.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logf.Close() })
	g, err := newGitServer(r.gitRoot, "git", []byte(canary), logf)
	if err != nil {
		t.Fatal(err)
	}
	r.gitURL = ca.serve(t, g).URL

	r.w = newWSXRunner(t, dir)
	w := r.w
	w.run(nil, true, "init")
	host := func(u string) string { return strings.TrimPrefix(u, "https://") }
	w.run([]byte(canary+"\n"), true, "add", "API_TOKEN", "--type", "token", "--username", "git",
		"--host", host(r.apiURL), "--host", host(r.gitURL), "--host", host(r.bad))
	w.run([]byte(r.other.want+"\n"), true, "add", "OTHER_TOKEN", "--type", "token", "--host", host(r.otherURL))
	r.env = append(append([]string(nil), w.env...), "SSL_CERT_FILE="+caFile, "API="+r.apiURL, "OTHER="+r.otherURL, "BAD="+r.bad, "GITURL="+r.gitURL, "PLAIN="+r.plainURL)
	t.Cleanup(func() {
		if hits := scanForCanary(dir, w.transcript.Bytes()); len(hits) > 0 {
			t.Errorf("canary found in: %s", strings.Join(hits, ", "))
		}
	})
	return r
}

// exec runs `wsx exec --inject proxy -- ARGV` in the rig's directory.
func (r *proxyRig) exec(t testing.TB, argv ...string) string {
	t.Helper()
	return r.execEnv(t, r.env, argv...)
}

func (r *proxyRig) execEnv(t testing.TB, env []string, argv ...string) string {
	t.Helper()
	c := exec.Command(filepath.Join(binDir, "wsx"), append([]string{"exec", "--inject", "proxy", "--"}, argv...)...)
	c.Dir, c.Env = r.dir, env
	var out bytes.Buffer
	c.Stdout, c.Stderr = &out, &out
	err := c.Run()
	r.w.transcript.Write(out.Bytes())
	if err != nil {
		t.Fatalf("wsx exec %v: %v\n%s", argv, err, out.Bytes())
	}
	return out.String()
}

// records returns the audit log's proxy records.
func (r *proxyRig) records(t *testing.T) []audit.Record {
	t.Helper()
	var out []audit.Record
	for _, l := range bytes.Split(r.w.run(nil, true, "audit", "--json"), []byte("\n")) {
		if len(l) == 0 {
			continue
		}
		var rec audit.Record
		if err := json.Unmarshal(l, &rec); err != nil {
			t.Fatalf("audit line %q: %v", l, err)
		}
		if rec.Via == audit.ViaProxy {
			out = append(out, rec)
		}
	}
	return out
}

// checkChild checks what a client's run left: the child's environment
// (copied from /proc/PID/environ by the child itself) holds the
// placeholder and not the value, and so do the files it could read.
func (r *proxyRig) checkChild(t *testing.T, name string) {
	t.Helper()
	env, err := os.ReadFile(filepath.Join(r.dir, "environ-"+name))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(env, []byte(canary)) || !bytes.Contains(env, []byte("API_TOKEN=wsx_placeholder_")) {
		t.Errorf("%s: the child's environment does not hold the placeholder alone", name)
	}
	files, err := os.ReadFile(filepath.Join(r.dir, "files-"+name))
	if err != nil || !bytes.Contains(files, []byte("BEGIN CERTIFICATE")) {
		t.Errorf("%s: the child's files were not copied: %v", name, err)
	}
}

// checkRecords checks the audit log has, for the client prog, a use of
// API_TOKEN on the API host and a denial on the other host.
func (r *proxyRig) checkRecords(t *testing.T, prog string) {
	t.Helper()
	api, other := strings.TrimPrefix(r.apiURL, "https://"), strings.TrimPrefix(r.otherURL, "https://")
	var used, denied bool
	for _, rec := range r.records(t) {
		if rec.Context == nil || rec.Secret != "API_TOKEN" || !strings.Contains(rec.Context.Command, ", by "+prog) {
			continue
		}
		switch {
		case rec.Event == audit.EventUsed && rec.Context.Host == api && strings.HasPrefix(rec.Context.Command, "proxy: "+api+" GET /api"):
			used = true
		case rec.Event == audit.EventDenied && rec.Context.Host == other && rec.Result == audit.ResultDenied:
			denied = true
		}
	}
	if !used || !denied {
		t.Errorf("%s: used record %v, denied record %v", prog, used, denied)
	}
}

// childProof is shell that copies what the child can see to the rig's
// directory: its environment and the files its CA bundle's directory
// holds (the run directory of the proxy).
const childProof = `cat /proc/$$/environ > environ-$1; cat "$(dirname "$SSL_CERT_FILE")"/* > files-$1`

func TestProxyCurl(t *testing.T) {
	requireTools(t, "git", "curl")
	r := newProxyRig(t)
	script := `set -u
` + childProof + `
code() { curl -sS -o "out-$1" -w '%{http_code}\n' -H "Authorization: Bearer $API_TOKEN" "$2"; }
code good "$API/api/user?key=$API_TOKEN"
code other "$OTHER/api/user"
code plain "$PLAIN/api/user"
code bad "$BAD/api/user"
`
	out := r.exec(t, "sh", "-c", script, "sh", "curl")
	if out != "200\n200\n200\n502\n" {
		t.Fatalf("curl status codes %q, want good, other and plain 200, bad 502", out)
	}
	if r.api.count("value") != 1 || r.other.count("placeholder") != 1 || r.plain.count("placeholder") != 1 {
		t.Errorf("api got %v, other %v, plain %v", r.api.got, r.other.got, r.plain.got)
	}
	if b, _ := os.ReadFile(filepath.Join(r.dir, "out-good")); !bytes.Contains(b, []byte("you sent ***")) {
		t.Errorf("the echoed value is not masked: %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(r.dir, "out-bad")); !bytes.Contains(b, []byte("certificate")) {
		t.Errorf("bad host: %q", b)
	}
	r.checkChild(t, "curl")
	r.checkRecords(t, "curl")
	plain := strings.TrimPrefix(r.plainURL, "http://")
	found := false
	for _, rec := range r.records(t) {
		found = found || rec.Event == audit.EventDenied && rec.Context != nil && rec.Context.Host == plain
	}
	if !found {
		t.Error("no denied record for the placeholder sent over plain HTTP")
	}
}

func TestProxyPython(t *testing.T) {
	requireTools(t, "git", "curl", "python3")
	r := newProxyRig(t)
	script := `
import os, sys, subprocess, urllib.request, urllib.error
subprocess.run(["sh", "-c", ` + "'" + childProof + "'" + `, "sh", "python"], check=True)
tok = os.environ["API_TOKEN"]
for name, url in [("good", os.environ["API"] + "/api/user?key=" + tok), ("other", os.environ["OTHER"] + "/api/user"), ("bad", os.environ["BAD"] + "/api/user")]:
    req = urllib.request.Request(url, headers={"Authorization": "Bearer " + tok})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            print(resp.status, resp.read().decode().strip())
    except urllib.error.HTTPError as e:
        print(e.code, "certificate" in e.read().decode())
`
	out := r.exec(t, "python3", "-c", script)
	if !strings.Contains(out, "200 you sent ***\n") || !strings.Contains(out, "502 True\n") {
		t.Fatalf("python output %q", out)
	}
	if r.api.count("value") != 1 || r.other.count("placeholder") != 1 {
		t.Errorf("api got %v, other %v", r.api.got, r.other.got)
	}
	r.checkChild(t, "python")
	r.checkRecords(t, "python3")
}

func TestProxyNode(t *testing.T) {
	requireTools(t, "git", "curl", "node")
	r := newProxyRig(t)
	script := `
const { execFileSync } = require('child_process');
execFileSync('sh', ['-c', ` + "'" + childProof + "'" + `, 'sh', 'node']);
const tok = process.env.API_TOKEN;
(async () => {
  for (const [name, url] of [['good', process.env.API + '/api/user?key=' + tok], ['other', process.env.OTHER + '/api/user'], ['bad', process.env.BAD + '/api/user']]) {
    const r = await fetch(url, { headers: { authorization: 'Bearer ' + tok } });
    const body = await r.text();
    console.log(r.status, name === 'bad' ? body.includes('certificate') : body.trim());
  }
})().catch((e) => { console.log('error', e.message, e.cause && e.cause.message); process.exit(1); });
`
	out := r.exec(t, "node", "-e", script)
	if !strings.Contains(out, "200 you sent ***\n") || !strings.Contains(out, "502 true\n") {
		t.Fatalf("node output %q", out)
	}
	if r.api.count("value") != 1 || r.other.count("placeholder") != 1 {
		t.Errorf("api got %v, other %v", r.api.got, r.other.got)
	}
	r.checkChild(t, "node")
	r.checkRecords(t, "node")
}

func TestProxyGit(t *testing.T) {
	requireTools(t, "git", "curl")
	r := newProxyRig(t)
	script := `set -eu
` + childProof + `
git clone -q "$GITURL/repo.git" clone
cd clone
echo more > more.txt
git add more.txt
git commit -qm more
git push -q origin HEAD:main
echo pushed
curl -sS -o /dev/null -w '%{http_code}\n' -H "Authorization: Bearer $API_TOKEN" "$OTHER/api/user"
curl -sS -o /dev/null -w '%{http_code}\n' -H "Authorization: Bearer $API_TOKEN" "$API/api/user"
`
	out := r.exec(t, "sh", "-c", script, "sh", "git")
	if !strings.Contains(out, "pushed\n200\n200\n") {
		t.Fatalf("git output %q", out)
	}
	// The push arrived: the bare repository has the new file.
	c := exec.Command("git", "--git-dir", filepath.Join(r.gitRoot, "repo.git"), "show", "main:more.txt")
	if b, err := c.Output(); err != nil || string(b) != "more\n" {
		t.Errorf("pushed file: %q %v", b, err)
	}
	log, _ := os.ReadFile(filepath.Join(r.dir, "gitserver.log"))
	if !bytes.Contains(log, []byte(`ok: user "git": POST /repo.git/git-receive-pack`)) || bytes.Contains(log, []byte("wrong password")) {
		t.Errorf("git server log:\n%s", log)
	}
	r.checkChild(t, "git")
	git := strings.TrimPrefix(r.gitURL, "https://")
	uses := 0
	for _, rec := range r.records(t) {
		if rec.Event == audit.EventUsed && rec.Context != nil && rec.Context.Host == git && strings.Contains(rec.Context.Command, ", by git") {
			uses++
		}
	}
	if uses == 0 {
		t.Error("no use recorded for git's requests")
	}
	r.checkRecords(t, "curl")
}

// Through a running agent, each substitution is a use the agent records:
// the command's store stays locked in wsx exec (the agent holds it).
func TestProxyAgent(t *testing.T) {
	requireTools(t, "git", "curl")
	r := newProxyRig(t)
	_, pid, err := startAgent(r.w.env)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopAgent(pid) })
	env := append(append([]string(nil), r.env...), "WSX_PASSPHRASE_FILE="+filepath.Join(r.dir, "no-such-file"))
	script := childProof + `
curl -sS -w ' %{http_code}\n' -H "Authorization: Bearer $API_TOKEN" "$API/api/user"
curl -sS -o /dev/null -w '%{http_code}\n' -H "Authorization: Bearer $API_TOKEN" "$OTHER/api/user"
`
	out := r.execEnv(t, env, "sh", "-c", script, "sh", "agent")
	if out != "you sent ***\n 200\n200\n" {
		t.Fatalf("output %q", out)
	}
	if r.api.count("value") != 1 || r.other.count("placeholder") != 1 {
		t.Errorf("api got %v, other %v", r.api.got, r.other.got)
	}
	r.checkChild(t, "agent")
	r.checkRecords(t, "curl")
}
