package nodump

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// The test binary hardens itself in a child run of the test, so the
// test process keeps its own settings.
func TestMain(m *testing.M) {
	if os.Getenv("NODUMP_CHILD") == "1" {
		if err := Process(); err != nil {
			os.Stderr.WriteString(err.Error())
			os.Exit(3)
		}
	}
	os.Exit(m.Run())
}

// SECURITY 66: a hardened process is non-dumpable with a soft core limit
// of 0; a child started under ForChild gets the original limit.
func TestProcess(t *testing.T) {
	if os.Getenv("NODUMP_CHILD") != "1" {
		// The child starts from the largest soft limit allowed.
		c := exec.Command("/bin/sh", "-c", `ulimit -S -c "$(ulimit -H -c)"; exec "$0" "$@"`,
			os.Args[0], "-test.run=^TestProcess$", "-test.v")
		c.Env = append(os.Environ(), "NODUMP_CHILD=1")
		out, err := c.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--- PASS: TestProcess") {
			t.Fatalf("hardened run: %v\n%s", err, out)
		}
		return
	}
	d, err := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0)
	if err != nil || d != 0 {
		t.Fatalf("dumpable = %d, %v; want 0", d, err)
	}
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_CORE, &lim); err != nil || lim.Cur != 0 {
		t.Fatalf("core limit %+v, %v; want soft 0", lim, err)
	}
	restore := ForChild()
	out, err := exec.Command("sh", "-c", "ulimit -c").Output()
	restore()
	if err != nil || strings.TrimSpace(string(out)) == "0" {
		t.Fatalf("child's core limit %q, %v: want the original", out, err)
	}
	if err := unix.Getrlimit(unix.RLIMIT_CORE, &lim); err != nil || lim.Cur != 0 {
		t.Fatalf("core limit after restore %+v, %v; want soft 0", lim, err)
	}
}
