package audit

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
)

// gitCmd runs the git command in dir with a clean configuration and
// returns its trimmed output.
func gitCmd(t *testing.T, dir string, args ...string) string {
	t.Helper()
	c := exec.Command("git", args...)
	c.Dir = dir
	home := t.TempDir()
	c.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+home, "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
	out, err := c.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// GitContext agrees with go-git and with git itself on refs packed by
// git pack-refs, a detached HEAD in a linked work tree and a config that
// uses quotes, comments and other sections named like origin.
func TestGitContextAgreesWithGit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git binary")
	}
	dir := t.TempDir()
	main := filepath.Join(dir, "main")
	initRepo(t, main)
	cfg := filepath.Join(main, ".git", "config")
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Sections that are not origin come first; the origin section is
	// written the way people edit it by hand.
	extra := "[remote \"Origin\"]\n\turl = https://wrong.example/case\n" +
		"[remote \"originals\"]\n\turl = https://wrong.example/prefix\n"
	orig := strings.Replace(string(b), "[remote \"origin\"]", extra+"[remote \"origin\"] ; hand-edited\n\tURL = \"https://u:pw@git.example.com/org/a;b.git\" # why", 1)
	// go-git wrote its own url line; drop it so the hand-written one counts.
	var kept []string
	for _, l := range strings.Split(orig, "\n") {
		if !strings.Contains(l, "url = https://deploy:") {
			kept = append(kept, l)
		}
	}
	if err := os.WriteFile(cfg, []byte(strings.Join(kept, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := gitCmd(t, main, "config", "remote.origin.url"); got != "https://u:pw@git.example.com/org/a;b.git" {
		t.Fatalf("git reads the hand-written config as %q", got)
	}
	gitCmd(t, main, "pack-refs", "--all")
	if _, err := os.Stat(filepath.Join(main, ".git", "refs", "heads", "trunk")); err == nil {
		t.Fatal("refs/heads/trunk still loose after pack-refs")
	}
	linked := filepath.Join(dir, "linked")
	gitCmd(t, main, "worktree", "add", "-q", "--detach", linked, "trunk")

	for _, d := range []string{main, filepath.Join(main, ".git"), linked} {
		root, remote, branch, commit, ok := GitContext(d)
		if !ok {
			t.Errorf("%s: no repository", d)
			continue
		}
		if want := gitCmd(t, d, "rev-parse", "HEAD"); commit != want {
			t.Errorf("%s: commit %q, git says %q", d, commit, want)
		}
		if remote != "https://git.example.com/org/a;b.git" {
			t.Errorf("%s: remote %q", d, remote)
		}
		wantBranch := ""
		if d != linked {
			wantBranch = "trunk"
		}
		if branch != wantBranch {
			t.Errorf("%s: branch %q, want %q", d, branch, wantBranch)
		}
		if d != filepath.Join(main, ".git") {
			if want := gitCmd(t, d, "rev-parse", "--show-toplevel"); root != want {
				t.Errorf("%s: root %q, git says %q", d, root, want)
			}
		}
		repo, err := git.PlainOpenWithOptions(d, &git.PlainOpenOptions{DetectDotGit: true, EnableDotGitCommonDir: true})
		if err != nil {
			continue // go-git does not open from inside .git
		}
		if h, err := repo.ResolveRevision(plumbing.Revision("HEAD")); err != nil || h.String() != commit {
			t.Errorf("%s: go-git resolves HEAD to %v (%v), GitContext %q", d, h, err, commit)
		}
	}
}

func TestConfigValue(t *testing.T) {
	for in, want := range map[string]string{
		` https://h/r.git `:             "https://h/r.git",
		` "https://h/a b.git" ; note`:   "https://h/a b.git",
		` https://h/r.git # note`:       "https://h/r.git",
		` "a\"b\\c" `:                   `a"b\c`,
		` a  b `:                        "a  b",
		` "x;y"#z`:                      "x;y",
		` git@host:org/repo.git`:        "git@host:org/repo.git",
		` "unterminated`:                "unterminated",
		` ab\tc`:                        "ab\tc",
		` ""`:                           "",
		` "https://u:p@h/r" trailing  `: "https://u:p@h/r trailing",
	} {
		if got := configValue(in); got != want {
			t.Errorf("configValue(%q) = %q, want %q", in, got, want)
		}
	}
}

// A value continued over lines and the old [remote.origin] header are read
// as git reads them; a ref name that would leave the git directory is not
// followed.
func TestGitRepoEdges(t *testing.T) {
	dir := t.TempDir()
	gd := filepath.Join(dir, ".git")
	for _, p := range []string{"objects", "refs/heads"} {
		if err := os.MkdirAll(filepath.Join(gd, p), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	write := func(name, s string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(gd, name), []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("config", "[core]\n\tbare = false\n[remote.origin]\n\turl = https://h.example/\\\norg/r.git\n")
	write("HEAD", "ref: refs/heads/../../../outside\n")
	write("outside", strings.Repeat("a", 40)+"\n")
	root, remote, branch, commit, ok := GitContext(dir)
	if !ok || root != dir {
		t.Fatalf("root %q ok %v", root, ok)
	}
	if remote != "https://h.example/org/r.git" {
		t.Errorf("continued url: %q", remote)
	}
	if commit != "" {
		t.Errorf("followed a ref outside refs/: branch %q commit %q", branch, commit)
	}
	// A symbolic ref chain resolves; a loop does not hang.
	write("HEAD", "ref: refs/heads/a\n")
	write("refs/heads/a", "ref: refs/heads/b\n")
	write("refs/heads/b", strings.Repeat("b", 40)+"\n")
	if _, _, branch, commit, _ := GitContext(dir); branch != "a" || commit != strings.Repeat("b", 40) {
		t.Errorf("chain: branch %q commit %q", branch, commit)
	}
	write("refs/heads/b", "ref: refs/heads/a\n")
	if _, _, _, commit, ok := GitContext(dir); !ok || commit != "" {
		t.Errorf("loop: commit %q ok %v", commit, ok)
	}
}
