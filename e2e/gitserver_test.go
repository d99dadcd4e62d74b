package e2e

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// gitServer serves the bare repositories under a directory over git's smart
// HTTP protocol: `git http-backend` behind net/http/cgi, after HTTP basic
// authentication. Every request must carry the user and password it was
// given; others get 401 with a WWW-Authenticate challenge, as a hosting
// service answers, so git asks its credential helpers. Each attempt is
// logged (user name and outcome, never a password).
type gitServer struct {
	user     [sha256.Size]byte
	password [sha256.Size]byte
	userName string
	backend  cgi.Handler

	mu  sync.Mutex
	log io.Writer
}

// newGitServer returns a server for the repositories under root that
// accepts user and password, logging attempts to logw.
func newGitServer(root, user string, password []byte, logw io.Writer) (*gitServer, error) {
	out, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		return nil, fmt.Errorf("git --exec-path: %w", err)
	}
	backend := filepath.Join(strings.TrimSpace(string(out)), "git-http-backend")
	if _, err := os.Stat(backend); err != nil {
		return nil, fmt.Errorf("git http-backend: %w", err)
	}
	return &gitServer{
		user:     sha256.Sum256([]byte(user)),
		password: sha256.Sum256(password),
		userName: user,
		backend: cgi.Handler{
			Path: backend,
			Root: "/",
			Env: []string{
				"GIT_PROJECT_ROOT=" + root,
				"GIT_HTTP_EXPORT_ALL=1",
				"GIT_CONFIG_NOSYSTEM=1",
				"HOME=" + root,
			},
			Stderr: logw,
			Logger: log.New(logw, "cgi: ", 0),
		},
		log: logw,
	}, nil
}

func (g *gitServer) logf(format string, args ...any) {
	g.mu.Lock()
	defer g.mu.Unlock()
	fmt.Fprintf(g.log, format+"\n", args...)
}

// ServeHTTP checks the basic credentials and hands the request to git
// http-backend. User and password are compared as SHA-256 digests in
// constant time, so neither their content nor their length shows in the
// timing.
func (g *gitServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	what := fmt.Sprintf("%s %s", r.Method, r.URL.Path)
	if svc := r.URL.Query().Get("service"); svc != "" {
		what += " " + svc
	}
	user, pass, ok := r.BasicAuth()
	if !ok {
		g.logf("denied: no credentials: %s", what)
		g.challenge(w)
		return
	}
	u, p := sha256.Sum256([]byte(user)), sha256.Sum256([]byte(pass))
	okUser := subtle.ConstantTimeCompare(u[:], g.user[:])
	okPass := subtle.ConstantTimeCompare(p[:], g.password[:])
	switch {
	case okUser&okPass == 1:
	case okUser == 1:
		g.logf("denied: wrong password for user %q: %s", user, what)
		g.challenge(w)
		return
	default:
		g.logf("denied: unknown user %q: %s", user, what)
		g.challenge(w)
		return
	}
	g.logf("ok: user %q: %s", user, what)
	h := g.backend
	// http-backend allows receive-pack (push) to an authenticated user.
	h.Env = append(append([]string(nil), h.Env...), "REMOTE_USER="+g.userName)
	h.ServeHTTP(w, r)
}

func (g *gitServer) challenge(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Basic realm="wsx-e2e"`)
	http.Error(w, "authentication required", http.StatusUnauthorized)
}

// readPasswordFile reads a password from a file, without its final
// newline.
func readPasswordFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r")), nil
}

// cmdGitServer starts a git server for the script:
// `gitserver VAR USER PASSWORD-FILE` serves the bare repositories under
// $WORK/srv on 127.0.0.1, accepting USER with the password in the file (its
// final newline dropped). It sets VAR to http://127.0.0.1:PORT and
// VAR_HOSTPORT to 127.0.0.1:PORT, logs every attempt to
// $WORK/gitserver-VAR.log, and stops when the script ends.
func cmdGitServer(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: gitserver VAR USER PASSWORD-FILE")
	}
	name, user := args[0], args[1]
	password, err := readPasswordFile(ts.MkAbs(args[2]))
	ts.Check(err)
	work := ts.Getenv("WORK")
	root := filepath.Join(work, "srv")
	ts.Check(os.MkdirAll(root, 0o700))
	logf, err := os.OpenFile(filepath.Join(work, "gitserver-"+name+".log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	ts.Check(err)
	g, err := newGitServer(root, user, password, logf)
	if err != nil {
		logf.Close()
		ts.Fatalf("gitserver: %v", err)
	}
	srv := httptest.NewServer(g)
	ts.Defer(func() {
		srv.Close()
		logf.Close()
	})
	ts.Setenv(name, srv.URL)
	ts.Setenv(name+"_HOSTPORT", strings.TrimPrefix(srv.URL, "http://"))
}

// startGitServer starts a git server for a Go test or benchmark over the
// repositories under root, logging to root/../gitserver.log. It stops when
// the test ends.
func startGitServer(tb testing.TB, root, user string, password []byte) *httptest.Server {
	tb.Helper()
	logf, err := os.OpenFile(filepath.Join(filepath.Dir(root), "gitserver.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		tb.Fatal(err)
	}
	g, err := newGitServer(root, user, password, logf)
	if err != nil {
		logf.Close()
		tb.Fatal(err)
	}
	srv := httptest.NewServer(g)
	tb.Cleanup(func() {
		srv.Close()
		logf.Close()
	})
	return srv
}

// gitEnv is a clean environment for git commands run by Go tests: its own
// HOME, no system config, no prompts, fixed identities.
func gitEnv(home string) []string {
	env := []string{
		"HOME=" + home,
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME=wsx test", "GIT_AUTHOR_EMAIL=test@wsx.invalid",
		"GIT_COMMITTER_NAME=wsx test", "GIT_COMMITTER_EMAIL=test@wsx.invalid",
		"PATH=" + binDir + string(os.PathListSeparator) + os.Getenv("PATH"),
	}
	return env
}

// makeBareRepo creates root/NAME.git holding one commit with files, using
// a scratch work tree beside root.
func makeBareRepo(tb testing.TB, root, name string, files map[string]string) {
	tb.Helper()
	scratch := tb.TempDir()
	env := gitEnv(scratch)
	git := func(dir string, args ...string) {
		tb.Helper()
		c := exec.Command("git", args...)
		c.Dir, c.Env = dir, env
		if out, err := c.CombinedOutput(); err != nil {
			tb.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	wt := filepath.Join(scratch, "wt")
	git(scratch, "init", "-q", "-b", "main", wt)
	for f, content := range files {
		if err := os.WriteFile(filepath.Join(wt, f), []byte(content), 0o600); err != nil {
			tb.Fatal(err)
		}
	}
	git(wt, "add", ".")
	git(wt, "commit", "-q", "-m", "initial")
	git(scratch, "clone", "-q", "--bare", wt, filepath.Join(root, name+".git"))
}

// TestGitServerAuth checks the server itself: no credentials, a wrong
// password and an unknown user get 401 with a challenge and a log line;
// the right ones reach http-backend.
func TestGitServerAuth(t *testing.T) {
	requireTools(t, "git")
	dir := t.TempDir()
	root := filepath.Join(dir, "srv")
	makeBareRepo(t, root, "repo", map[string]string{"README": "hello\n"})
	srv := startGitServer(t, root, "alice", []byte("right-password"))
	url := srv.URL + "/repo.git/info/refs?service=git-upload-pack"
	for _, tc := range []struct {
		name       string
		user, pass string
		auth       bool
		want       int
	}{
		{"none", "", "", false, http.StatusUnauthorized},
		{"wrong password", "alice", "wrong-password", true, http.StatusUnauthorized},
		{"password prefix", "alice", "right-passwor", true, http.StatusUnauthorized},
		{"unknown user", "bob", "right-password", true, http.StatusUnauthorized},
		{"right", "alice", "right-password", true, http.StatusOK},
	} {
		req, err := http.NewRequest("GET", url, nil)
		if err != nil {
			t.Fatal(err)
		}
		if tc.auth {
			req.SetBasicAuth(tc.user, tc.pass)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, resp.StatusCode, tc.want)
		}
		if tc.want == http.StatusUnauthorized && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic ") {
			t.Errorf("%s: no basic challenge", tc.name)
		}
		if tc.want == http.StatusOK && !bytes.Contains(body, []byte("refs/heads/main")) {
			t.Errorf("%s: http-backend did not list refs/heads/main", tc.name)
		}
	}
	logText, err := os.ReadFile(filepath.Join(dir, "gitserver.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"denied: no credentials: GET /repo.git/info/refs git-upload-pack",
		`denied: wrong password for user "alice"`,
		`denied: unknown user "bob"`,
		`ok: user "alice": GET /repo.git/info/refs git-upload-pack`,
	} {
		if !bytes.Contains(logText, []byte(want)) {
			t.Errorf("log lacks %q", want)
		}
	}
	for _, p := range []string{"right-password", "wrong-password", "right-passwor"} {
		if bytes.Contains(logText, []byte(p)) {
			t.Errorf("log holds a password")
		}
	}
}
