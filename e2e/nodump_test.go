package e2e

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// SECURITY 66: `ulimit -c unlimited; wsx exec -- sleep` killed by SIGABRT
// or SIGSEGV (with GOTRACEBACK=crash, so Go would dump core) leaves no
// core file, and the value is in no file under the work directory.
func TestExecNoCoreFile(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGABRT, syscall.SIGSEGV} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			w := newWSXRunner(t, dir)
			w.run(nil, true, "init", "--kdf-memory", "8", "--kdf-time", "1")
			w.run([]byte(canary+"\n"), true, "add", "CORE_TOKEN", "--type", "token")
			c := exec.Command("sh", "-c", `ulimit -c unlimited && exec "$0" exec -- sleep 30`, filepath.Join(binDir, "wsx"))
			c.Dir, c.Env = dir, append(w.env, "GOTRACEBACK=crash")
			var errOut bytes.Buffer
			c.Stderr = &errOut
			c.WaitDelay = time.Second // sleep, killed with wsx, may hold stderr
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
			if !waitChild(c.Process.Pid, "sleep", 10*time.Second) {
				c.Process.Kill()
				c.Wait()
				t.Fatalf("wsx exec did not start sleep: %s", errOut.Bytes())
			}
			if err := c.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- c.Wait() }()
			select {
			case <-done:
			case <-time.After(30 * time.Second): // Go's crash waits for each thread's trace
				c.Process.Kill()
				<-done
				t.Fatalf("wsx did not end on %v: %s", sig, errOut.Bytes())
			}
			err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				if strings.HasPrefix(d.Name(), "core") {
					t.Errorf("core file %s", p)
				}
				if b, err := os.ReadFile(p); err == nil && bytes.Contains(b, []byte(canary)) {
					t.Errorf("the value is in %s", p)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// waitChild waits until process pid has a child running name.
func waitChild(pid int, name string, d time.Duration) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/children")
		for _, f := range tasks {
			b, _ := os.ReadFile(f)
			for _, c := range strings.Fields(string(b)) {
				if comm, _ := os.ReadFile("/proc/" + c + "/comm"); strings.TrimSpace(string(comm)) == name {
					return true
				}
			}
		}
	}
	return false
}
