package audit

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

const remotePassword = "remote-pass-canary"

// initRepo makes a repository with one commit on branch trunk and an
// origin remote whose URL carries a user name and password.
func initRepo(t *testing.T, dir string) (*git.Repository, plumbing.Hash) {
	t.Helper()
	repo, err := git.PlainInitWithOptions(dir, &git.PlainInitOptions{
		InitOptions: git.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName("trunk")},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = repo.CreateRemote(&config.RemoteConfig{
		Name: "origin",
		URLs: []string{"https://deploy:" + remotePassword + "@git.example.com/org/app.git"},
	})
	if err != nil {
		t.Fatal(err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "app.js"), []byte("x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := wt.Add("app.js"); err != nil {
		t.Fatal(err)
	}
	sig := &object.Signature{Name: "t", Email: "t@example.com", When: time.Unix(1700000000, 0)}
	h, err := wt.Commit("first", &git.CommitOptions{Author: sig, Committer: sig})
	if err != nil {
		t.Fatal(err)
	}
	return repo, h
}

func TestGitContext(t *testing.T) {
	dir := t.TempDir()
	repo, head := initRepo(t, dir)
	sub := filepath.Join(dir, "src", "deep")
	if err := os.MkdirAll(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, from := range []string{dir, sub} {
		root, remote, branch, commit, ok := GitContext(from)
		if !ok || root != dir || branch != "trunk" || commit != head.String() {
			t.Errorf("from %s: root %q branch %q commit %q ok %v; want %q trunk %s true",
				from, root, branch, commit, ok, dir, head)
		}
		if remote != "https://git.example.com/org/app.git" {
			t.Errorf("from %s: remote %q", from, remote)
		}
		if strings.Contains(remote, remotePassword) {
			t.Error("remote still holds the password")
		}
	}

	// Detached HEAD: a commit, no branch.
	wt, err := repo.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	if err := wt.Checkout(&git.CheckoutOptions{Hash: head}); err != nil {
		t.Fatal(err)
	}
	if _, _, branch, commit, ok := GitContext(sub); !ok || branch != "" || commit != head.String() {
		t.Errorf("detached: branch %q commit %q ok %v", branch, commit, ok)
	}
}

func TestGitContextEmptyAndBare(t *testing.T) {
	dir := t.TempDir()
	if _, err := git.PlainInitWithOptions(dir, &git.PlainInitOptions{
		InitOptions: git.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName("main")},
	}); err != nil {
		t.Fatal(err)
	}
	root, remote, branch, commit, ok := GitContext(dir)
	if !ok || root != dir || remote != "" || branch != "main" || commit != "" {
		t.Errorf("empty repo: root %q remote %q branch %q commit %q ok %v", root, remote, branch, commit, ok)
	}

	bare := t.TempDir()
	if _, err := git.PlainInit(bare, true); err != nil {
		t.Fatal(err)
	}
	if root, _, _, _, ok := GitContext(bare); !ok || root != bare {
		t.Errorf("bare repo: root %q ok %v, want %q", root, ok, bare)
	}
}

func TestGitContextNoRepo(t *testing.T) {
	dir := t.TempDir()
	if _, _, _, _, ok := GitContext(dir); ok {
		t.Skip("the temp dir is inside a git repository")
	}
	for _, d := range []string{dir, filepath.Join(dir, "missing"), ""} {
		if root, _, _, _, ok := GitContext(d); ok && d != "" {
			t.Errorf("%q: ok with root %q", d, root)
		}
	}
	// A broken .git does not panic or claim a repository.
	if err := os.WriteFile(filepath.Join(dir, ".git"), []byte("gitdir: /nonexistent\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, _, _, ok := GitContext(dir); ok {
		t.Error("broken .git file: ok")
	}
}

// A linked work tree (git worktree add) reports its own root and branch.
func TestGitContextLinkedWorktree(t *testing.T) {
	gitBin, err := exec.LookPath("git")
	if err != nil {
		t.Skip("no git binary")
	}
	dir := t.TempDir()
	main := filepath.Join(dir, "main")
	initRepo(t, main)
	linked := filepath.Join(dir, "linked")
	cmd := exec.Command(gitBin, "-C", main, "worktree", "add", "-q", "-b", "feature", linked)
	cmd.Env = append(os.Environ(), "HOME="+dir, "GIT_CONFIG_NOSYSTEM=1", "XDG_CONFIG_HOME="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git worktree add: %v: %s", err, out)
	}
	root, remote, branch, commit, ok := GitContext(linked)
	if !ok || root != linked || branch != "feature" || commit == "" || remote != "https://git.example.com/org/app.git" {
		t.Errorf("linked worktree: root %q remote %q branch %q commit %q ok %v", root, remote, branch, commit, ok)
	}
}

func TestCleanRemote(t *testing.T) {
	for in, want := range map[string]string{
		"https://github.com/org/repo.git":                      "https://github.com/org/repo.git",
		"https://user:pass@github.com/org/repo.git":            "https://github.com/org/repo.git",
		"https://ghp_tokenAsUser@github.com/org/repo.git":      "https://github.com/org/repo.git",
		"https://h.example/org/repo.git?access_token=xyz#frag": "https://h.example/org/repo.git",
		"HTTP://u:p@h.example/r":                               "http://h.example/r",
		"ssh://git:pw@host:2222/org/repo.git":                  "ssh://git@host:2222/org/repo.git",
		"ssh://git@host/org/repo.git":                          "ssh://git@host/org/repo.git",
		"git@github.com:org/repo.git":                          "git@github.com:org/repo.git",
		"user:secretpw@host:org/repo.git":                      "user@host:org/repo.git",
		"/srv/git/repo.git":                                    "/srv/git/repo.git",
		"/srv/git/a@b:c":                                       "/srv/git/a@b:c",
		"https://u:p%zz@host/r":                                "",
		"":                                                     "",
	} {
		if got := cleanRemote(in); got != want {
			t.Errorf("cleanRemote(%q) = %q, want %q", in, got, want)
		}
	}
}
