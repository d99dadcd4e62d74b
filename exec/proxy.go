package exec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/wsxdev/wsx/internal/access"
	"github.com/wsxdev/wsx/internal/oneproc"
	"github.com/wsxdev/wsx/internal/proxy"
	"github.com/wsxdev/wsx/internal/release"
	"github.com/wsxdev/wsx/store"
)

// How secrets reach the command (Spec.Inject).
const (
	// InjectEnv: the value in the environment (the default).
	InjectEnv = "env"
	// InjectProxy: a placeholder in the environment, and a proxy that puts
	// the value into the command's requests to the secret's hosts.
	InjectProxy = "proxy"
)

// DefaultInject is how secrets reach a command when neither --inject nor
// a wsx.toml says: InjectProxy for a guest with the edit role, which may
// use the values but not see them, so its programs hold placeholders
// only; InjectEnv for the owner and everyone else. role is the agent's
// name for the guest's role (daemon.Status.Role), "" for no guest.
func DefaultInject(role string) string {
	if role == access.Edit.String() {
		return InjectProxy
	}
	return InjectEnv
}

// ErrNotProxied: a secret named for the proxy cannot go through it.
var ErrNotProxied = errors.New("cannot go through the proxy")

// CAVars are the variables that name the run's CA bundle (the system's
// roots and the proxy's authority), in the forms common clients read.
var CAVars = []string{"SSL_CERT_FILE", "NODE_EXTRA_CA_CERTS", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "GIT_SSL_CAINFO"}

// EnvProxy holds the proxy's URL for wsx's Node.js hook, which sends
// fetch() through it (Node.js before 24 ignores HTTPS_PROXY there).
const EnvProxy = "WSX_PROXY"

// systemBundles are the system CA bundles tried in order, as Go's
// crypto/x509 looks for them.
var systemBundles = []string{
	"/etc/ssl/certs/ca-certificates.crt",
	"/etc/pki/tls/certs/ca-bundle.crt",
	"/etc/ssl/ca-bundle.pem",
	"/etc/pki/tls/cacert.pem",
	"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
	"/etc/ssl/cert.pem",
}

// proxyRun is the proxy of one run and what the command gets of it.
type proxyRun struct {
	p   *proxy.Proxy
	l   net.Listener
	dir string
	env []Injected

	unpin func() // puts GOMAXPROCS back as it was before the proxy ran
}

// splitProxied tells the secrets of names that go through the proxy
// (every one with InjectProxy, and those of spec.ProxyNames) from those
// whose values go in the environment. A secret for the proxy must be a
// token or password with at least one host; one that is not is an error
// when it was named for the proxy, and left out with a warning under
// InjectProxy (the command gets no value it could read).
func splitProxied(sel release.Selection, names []string, chosen []store.Meta, notes *[]string) (direct, proxied []string, err error) {
	for _, n := range names {
		named := slices.Contains(sel.ProxyNames, n)
		if sel.Inject != InjectProxy && !named {
			direct = append(direct, n)
			continue
		}
		var m store.Meta
		if i := slices.IndexFunc(chosen, func(m store.Meta) bool { return m.Name == n }); i >= 0 {
			m = chosen[i]
		}
		why := ""
		switch {
		case m.Type != store.TypeToken && m.Type != store.TypePassword:
			why = "it is a " + string(m.Type) + " secret; only tokens and passwords can"
		case len(m.Hosts) == 0:
			why = "it has no host to send it to; add one with `wsx set " + n + " --host HOST`"
		}
		if why == "" {
			proxied = append(proxied, n)
			continue
		}
		if named {
			return nil, nil, fmt.Errorf("secret %s %w: %s", n, ErrNotProxied, why)
		}
		*notes = append(*notes, fmt.Sprintf("warning: %s is left out: it cannot go through the proxy: %s", n, why))
	}
	return direct, proxied, nil
}

// startProxy starts the proxy for the secrets proxied, listening on
// 127.0.0.1, and writes the CA bundle (and the Node.js hook) to a fresh
// run directory on a RAM filesystem, like the file secrets'.
func startProxy(spec Spec, proxied []string, metas map[string]store.Meta, candidates []string) (*proxyRun, error) {
	rec, ok := spec.Source.(AccessRecorder)
	if !ok {
		return nil, errors.New("the proxy needs a store that records: none given")
	}
	pr := &proxyRun{}
	var secs []proxy.Secret
	for _, n := range proxied {
		size := 40
		if st, ok := spec.Source.(interface {
			Stat(string) (store.Meta, int, error)
		}); ok {
			if _, n, err := st.Stat(n); err == nil {
				size = n
			}
		}
		ph := proxy.NewPlaceholder(size)
		secs = append(secs, proxy.Secret{Name: n, Placeholder: ph, Hosts: metas[n].Hosts})
		pr.env = append(pr.env, Injected{Name: varName(spec.Rename, n), Value: []byte(ph)})
	}
	p, err := proxy.New(proxy.Config{Secrets: secs, Releaser: spec.Source, Recorder: rec, RootCAs: spec.ProxyRootCAs, BodyTypes: spec.ProxyBodyTypes})
	if err != nil {
		return nil, err
	}
	pr.p = p
	// A request through the proxy passes between goroutines (the
	// command's connection, the agent's, the host's); on one thread each
	// passes without waking another, which costs more than the work. A
	// download is copied by one goroutine all the same.
	pr.unpin = oneproc.Pin()
	if pr.l, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}
	go p.Serve(pr.l)
	if err := pr.writeFiles(spec, secs, metas, candidates); err != nil {
		pr.close()
		return nil, err
	}
	return pr, nil
}

// writeFiles writes the CA bundle and the Node.js hook, and makes the
// command's variables: placeholders, proxy, CA bundle, git's credentials.
func (pr *proxyRun) writeFiles(spec Spec, secs []proxy.Secret, metas map[string]store.Meta, candidates []string) error {
	dir, err := newRunDir(candidates)
	pr.dir = dir
	if err != nil {
		return fmt.Errorf("proxy: %w", err)
	}
	bundle := filepath.Join(dir, "ca-bundle.pem")
	if err := writeRunFile(bundle, caBundle(spec.Parent, pr.p.CAPEM())); err != nil {
		return fmt.Errorf("proxy CA bundle: %w", err)
	}
	url := "http://" + pr.l.Addr().String()
	for _, v := range []string{"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"} {
		pr.env = append(pr.env, Injected{Name: v, Value: []byte(url)})
	}
	// Every host goes through the proxy: one not bound is tunnelled.
	pr.env = append(pr.env, Injected{Name: "NO_PROXY"}, Injected{Name: "no_proxy"}, Injected{Name: EnvProxy, Value: []byte(url)})
	for _, v := range CAVars {
		pr.env = append(pr.env, Injected{Name: v, Value: []byte(bundle)})
	}
	pr.env = append(pr.env, gitCredentials(spec.Parent, secs, metas, spec.Rename)...)
	hook, _ := hooks.ReadFile("hooks/proxy.js")
	hookPath := filepath.Join(dir, "proxy.js")
	if err := writeRunFile(hookPath, hook); err != nil {
		return fmt.Errorf("proxy node hook: %w", err)
	}
	opts, _ := lookupEnv(spec.Parent, "NODE_OPTIONS")
	if opts != "" {
		opts += " "
	}
	pr.env = append(pr.env, Injected{Name: "NODE_OPTIONS", Value: []byte(opts + "--require " + nodeQuote(hookPath))})
	return nil
}

// caBundle is the system's roots, any bundle the parent environment
// already names, then the proxy's authority: SSL_CERT_FILE replaces the
// system bundle for some clients, so other hosts must still verify.
func caBundle(parent []string, ca []byte) []byte {
	var b bytes.Buffer
	seen := map[string]bool{}
	add := func(path string) {
		if path == "" || seen[path] {
			return
		}
		seen[path] = true
		data, err := readSmall(path)
		if err != nil {
			return
		}
		if !bytes.Contains(data, []byte("-----BEGIN CERTIFICATE-----")) {
			return
		}
		b.Write(data)
		if len(data) > 0 && data[len(data)-1] != '\n' {
			b.WriteByte('\n')
		}
	}
	for _, v := range CAVars {
		p, _ := lookupEnv(parent, v)
		add(p)
	}
	for _, p := range systemBundles {
		if _, err := os.Stat(p); err == nil {
			add(p)
			break
		}
	}
	b.Write(ca)
	return b.Bytes()
}

// readSmall reads a CA bundle of at most 16 MiB.
func readSmall(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, 16<<20))
}

// gitCredentials makes git answer, for each host a secret is bound to,
// with the secret's user name and its placeholder, and ask no other
// helper for that host: command-scope configuration (GIT_CONFIG_COUNT)
// whose empty credential.<url>.helper resets the list for that URL alone.
func gitCredentials(parent []string, secs []proxy.Secret, metas map[string]store.Meta, rename map[string]string) []Injected {
	n := 0
	if s, ok := lookupEnv(parent, "GIT_CONFIG_COUNT"); ok {
		if c, err := strconv.Atoi(s); err == nil && c > 0 {
			n = c
		}
	}
	var out []Injected
	set := func(k, v string) {
		out = append(out, Injected{Name: "GIT_CONFIG_KEY_" + strconv.Itoa(n), Value: []byte(k)},
			Injected{Name: "GIT_CONFIG_VALUE_" + strconv.Itoa(n), Value: []byte(v)})
		n++
	}
	done := map[string]bool{}
	for _, s := range secs {
		user := metas[s.Name].Username
		if user == "" {
			user = "x-access-token"
		}
		for _, h := range s.Hosts {
			u := h
			if !strings.Contains(u, "://") {
				u = "https://" + u
			}
			if done[u] {
				continue
			}
			done[u] = true
			// The variable, not the placeholder, is in the helper: git
			// runs it with the command's environment.
			v := varName(rename, s.Name)
			set("credential."+u+".helper", "")
			set("credential."+u+".helper", `!f() { test "$1" = get && printf 'username=%s\npassword=%s\n' '`+shellQuote(user)+`' "$`+v+`"; }; f`)
		}
	}
	if n == 0 {
		return nil
	}
	return append(out, Injected{Name: "GIT_CONFIG_COUNT", Value: []byte(strconv.Itoa(n))})
}

// shellQuote escapes s for the inside of single quotes.
func shellQuote(s string) string { return strings.ReplaceAll(s, `'`, `'\''`) }

func (pr *proxyRun) close() {
	if pr == nil {
		return
	}
	if pr.p != nil {
		pr.p.Close()
	}
	if pr.l != nil {
		pr.l.Close()
	}
	if pr.dir != "" {
		os.RemoveAll(pr.dir)
	}
	if pr.unpin != nil {
		pr.unpin()
	}
}

// lookupInjected returns the value of the last of vars named name.
func lookupInjected(vars []Injected, name string) (string, bool) {
	for i := len(vars) - 1; i >= 0; i-- {
		if vars[i].Name == name {
			return string(vars[i].Value), true
		}
	}
	return "", false
}
