package e2e

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
)

// wsxRunner runs the built wsx binary for a Go test, in an environment of
// its own, and keeps what it printed for the canary scan.
type wsxRunner struct {
	tb         testing.TB
	dir        string
	env        []string
	transcript bytes.Buffer
}

func newWSXRunner(tb testing.TB, dir string) *wsxRunner {
	tb.Helper()
	home := filepath.Join(dir, "home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		tb.Fatal(err)
	}
	pass := filepath.Join(dir, "pass")
	if err := os.WriteFile(pass, []byte("correct horse battery staple\n"), 0o600); err != nil {
		tb.Fatal(err)
	}
	env := append(gitEnv(home),
		"WSX_HOME="+filepath.Join(dir, "wsxhome"),
		"WSX_PASSPHRASE_FILE="+pass,
		"TMPDIR="+dir,
		"TZ=UTC",
	)
	return &wsxRunner{tb: tb, dir: dir, env: env}
}

// run runs wsx with stdin and returns its stdout. It fails the test on a
// non-zero exit. With record false, stdout is not kept for the scan (it is
// expected to carry a value); stderr always is.
func (w *wsxRunner) run(stdin []byte, record bool, args ...string) []byte {
	w.tb.Helper()
	c := exec.Command(filepath.Join(binDir, "wsx"), args...)
	c.Dir, c.Env = w.dir, w.env
	c.Stdin = bytes.NewReader(stdin)
	var out, errOut bytes.Buffer
	c.Stdout, c.Stderr = &out, &errOut
	err := c.Run()
	w.transcript.Write(errOut.Bytes())
	if record {
		w.transcript.Write(out.Bytes())
	}
	if err != nil {
		w.tb.Fatalf("wsx %s: %v", strings.Join(args, " "), err)
	}
	return out.Bytes()
}

// parseCredential reads the key=value lines of a credential helper's
// answer.
func parseCredential(b []byte) map[string]string {
	m := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			m[k] = v
		}
	}
	return m
}

// TestGoGitCloneWithWSXCredential stores a token in a wsx store, asks
// `wsx credential get` for it as git would, and clones with go-git using
// what wsx answered: the helper serves any client that speaks the protocol.
func TestGoGitCloneWithWSXCredential(t *testing.T) {
	requireTools(t, "git")
	dir := t.TempDir()
	root := filepath.Join(dir, "srv")
	makeBareRepo(t, root, "repo", map[string]string{"README": "hello from the server\n"})
	srv := startGitServer(t, root, "x-access-token", []byte(canary))
	hostPort := strings.TrimPrefix(srv.URL, "http://")
	repoURL := srv.URL + "/repo.git"

	// Without credentials the server refuses go-git.
	_, err := git.PlainClone(filepath.Join(dir, "anon"), false, &git.CloneOptions{URL: repoURL})
	if !errors.Is(err, transport.ErrAuthenticationRequired) {
		t.Fatalf("clone without credentials: got %v, want %v", err, transport.ErrAuthenticationRequired)
	}

	w := newWSXRunner(t, dir)
	w.run(nil, true, "init", "--kdf-memory", "8", "--kdf-time", "1")
	w.run([]byte(canary+"\n"), true, "add", "REPO_TOKEN", "--type", "token", "--host", srv.URL)

	// Another port on the same host gets nothing.
	if out := w.run([]byte("protocol=http\nhost=127.0.0.1:1\n\n"), true, "credential", "get"); len(out) != 0 {
		t.Fatalf("credential get for another port printed %d bytes", len(out))
	}

	answer := w.run([]byte("protocol=http\nhost="+hostPort+"\npath=repo.git\n\n"), false, "credential", "get")
	cred := parseCredential(answer)
	clear(answer)
	if cred["username"] != "x-access-token" {
		t.Fatalf("credential get: username %q, want x-access-token", cred["username"])
	}
	if cred["password"] == "" {
		t.Fatal("credential get: no password")
	}
	if cred["password"] != canary {
		t.Fatal("credential get: the password is not the stored token")
	}

	dst := filepath.Join(dir, "clone")
	repo, err := git.PlainClone(dst, false, &git.CloneOptions{
		URL:  repoURL,
		Auth: &githttp.BasicAuth{Username: cred["username"], Password: cred["password"]},
	})
	if err != nil {
		t.Fatalf("go-git clone with the credential from wsx: %v", err)
	}
	got, err := os.ReadFile(filepath.Join(dst, "README"))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "hello from the server\n" {
		t.Errorf("README = %q", got)
	}
	head, err := repo.Head()
	if err != nil || head.Name().Short() != "main" {
		t.Errorf("HEAD = %v, %v; want main", head, err)
	}

	audit := string(w.run(nil, true, "audit"))
	if !strings.Contains(audit, " - Secret used: REPO_TOKEN") {
		t.Errorf("audit lacks the use of REPO_TOKEN:\n%s", audit)
	}
	if hits := scanForCanary(dir, w.transcript.Bytes()); len(hits) > 0 {
		t.Fatalf("canary found in: %s", strings.Join(hits, ", "))
	}
}
