package caller

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wsxdev/wsx/audit"
)

const canary = "wsx-canary-5c81e2b4d7"

func TestCommand(t *testing.T) {
	tests := map[string][]string{
		"git clone https://github.com/org/private.git": {"/usr/bin/git", "clone", "https://alice:" + canary + "@github.com/org/private.git"},
		"git-remote-https origin https://github.com/x": {"/usr/lib/git-core/git-remote-https", "origin", "https://tok@github.com/x"},
		"git fetch a b c d e f g ...":                  {"git", "fetch", "a", "b", "c", "d", "e", "f", "g", "h", "i"},
		"":                                             nil,
	}
	for want, argv := range tests {
		if got := Command(argv); got != want {
			t.Errorf("Command(%d args) = %q, want %q", len(argv), got, want)
		}
	}
}

func TestRedactArgv(t *testing.T) {
	argv := []string{"/usr/bin/git", "-c", "remote.o.url=https://bob:" + canary + "@h.test/x", "clone", "https://alice:" + canary + "@github.com/org/r.git", "dir@2"}
	want := []string{"/usr/bin/git", "-c", "remote.o.url=https://h.test/x", "clone", "https://github.com/org/r.git", "dir@2"}
	got := RedactArgv(argv)
	if !slices.Equal(got, want) {
		t.Errorf("RedactArgv: got %d args, want %q", len(got), want)
	}
	if strings.Contains(strings.Join(got, " "), canary) {
		t.Error("RedactArgv kept a password")
	}
	if !strings.Contains(argv[4], canary) {
		t.Error("RedactArgv changed its argument")
	}
	if RedactArgv(nil) != nil {
		t.Error("RedactArgv(nil) is not nil")
	}
}

// TestGitCallerRedacted: git hands a password given in a URL on its
// command line (`git clone https://user:TOKEN@host/repo`) to the helper's
// store; the caller the audit log records must not keep it. The test runs
// itself under a shell whose argv holds such a URL, and the child reports
// the caller it found.
func TestGitCallerRedacted(t *testing.T) {
	if out := os.Getenv("WSX_TEST_CALLER_OUT"); out != "" {
		proc, ctx := Self(audit.ViaCredential)
		b, err := json.Marshal(struct {
			Proc *audit.Process
			Ctx  audit.Context
		}{proc, ctx})
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(out, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return
	}
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	out := filepath.Join(t.TempDir(), "caller.json")
	url := "https://alice:" + canary + "@example.test/org/repo.git"
	cmd := exec.Command("sh", "-c", `"$0" -test.run='^TestGitCallerRedacted$' -test.count=1 >/dev/null; exit $?`,
		os.Args[0], "clone", url)
	cmd.Env = append(os.Environ(), "WSX_TEST_CALLER_OUT="+out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), canary) {
		t.Fatal("the caller's recorded argv or command holds the password of a URL")
	}
	var got struct {
		Proc *audit.Process
		Ctx  audit.Context
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Proc == nil || !slices.Contains(got.Proc.Argv, "https://example.test/org/repo.git") {
		t.Fatalf("caller argv %v: want the shell's, with the URL's user info removed", got.Proc)
	}
}
