package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// ownInitLine is a line of GODEBUG=inittrace=1 output: package, allocations.
var ownInitLine = regexp.MustCompile(`(?m)^init (\S+) @\S+ ms, [0-9.]+ ms clock, [0-9]+ bytes, ([0-9]+) allocs$`)

// Start-up allocation budgets. Every wsx process, the credential helper's
// included, runs every linked package's initialiser before main; wsx's own
// packages keep theirs small (a pattern, a template or a table is built on
// first use, sync.OnceValue), and the whole stays within a budget that the
// libraries' own initialisers (x/crypto/ssh 218, runtime/metrics 95,
// html/template 90, ...) fill most of.
const (
	maxOwnInitAllocs   = 16
	maxTotalInitAllocs = 950
)

// TestStartupInits runs `wsx --version` with GODEBUG=inittrace=1 and holds
// each of wsx's packages and the whole to their allocation budgets, which,
// unlike the clock, do not depend on the machine's load.
func TestStartupInits(t *testing.T) {
	c := exec.Command(filepath.Join(binDir, "wsx"), "--version")
	// A small, fixed environment: internal/nokwallet's Setenv copies the
	// environment, one allocation per variable or so.
	c.Env = []string{"GODEBUG=inittrace=1", "PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	var errOut bytes.Buffer
	c.Stderr = &errOut
	if err := c.Run(); err != nil {
		t.Fatalf("wsx --version: %v\n%s", err, errOut.Bytes())
	}
	total, own := 0, 0
	for _, m := range ownInitLine.FindAllSubmatch(errOut.Bytes(), -1) {
		pkg := string(m[1])
		n, _ := strconv.Atoi(string(m[2]))
		total += n
		if strings.HasPrefix(pkg, "github.com/wsxdev/wsx/") || pkg == "github.com/wsxdev/wsx" {
			own++
			if n > maxOwnInitAllocs {
				t.Errorf("%s allocates %d times before main (at most %d): build what it needs on first use (sync.OnceValue)", pkg, n, maxOwnInitAllocs)
			}
		}
	}
	if own == 0 {
		t.Fatalf("no initialiser of wsx's packages in the trace: the test cannot fail\n%s", errOut.Bytes())
	}
	if total > maxTotalInitAllocs {
		t.Errorf("initialisers allocate %d times before main (at most %d)\n%s", total, maxTotalInitAllocs, errOut.Bytes())
	}
}
