package filekeyring

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/99designs/keyring"
)

// The tests in this file run writers in other processes: the test binary
// re-executed with helperEnv naming the part it plays.
const (
	helperEnv    = "WSX_FILEKEYRING_HELPER"
	helperDirEnv = "WSX_FILEKEYRING_DIR"
	helperIDEnv  = "WSX_FILEKEYRING_ID"
)

func TestMain(m *testing.M) {
	if role := os.Getenv(helperEnv); role != "" {
		os.Exit(runHelper(role, os.Getenv(helperDirEnv), os.Getenv(helperIDEnv)))
	}
	os.Exit(m.Run())
}

// testValue builds a self-checking item: a header naming writer, key and
// generation, filler of a size that depends on them, and a SHA-256 of it all,
// so a torn or mixed-up file is detected.
func testValue(writer, key string, gen int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s|%s|%d|", writer, key, gen)
	r := rand.New(rand.NewPCG(uint64(gen), uint64(len(key))*31+uint64(len(writer))))
	filler := make([]byte, 100+r.IntN(16<<10))
	for i := range filler {
		filler[i] = byte(r.Uint32())
	}
	b.Write(filler)
	sum := sha256.Sum256(b.Bytes())
	b.Write(sum[:])
	return b.Bytes()
}

// checkValue verifies a value made by testValue for key and returns its
// writer and generation.
func checkValue(key string, data []byte) (writer string, gen int, err error) {
	if len(data) < sha256.Size {
		return "", 0, fmt.Errorf("%d bytes, too short", len(data))
	}
	body, sum := data[:len(data)-sha256.Size], data[len(data)-sha256.Size:]
	if got := sha256.Sum256(body); !bytes.Equal(got[:], sum) {
		return "", 0, errors.New("checksum mismatch: torn or mixed file")
	}
	parts := bytes.SplitN(body, []byte("|"), 4)
	if len(parts) != 4 || string(parts[1]) != key {
		return "", 0, errors.New("value belongs to another key")
	}
	gen, err = strconv.Atoi(string(parts[2]))
	return string(parts[0]), gen, err
}

func runHelper(role, dir, id string) int {
	k, err := Open(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 1
	}
	switch role {
	case "writer":
		// 500 items: 400 of its own, 100 shared with the other writer.
		for i := range 500 {
			key := fmt.Sprintf("w%s-%03d", id, i)
			if i%5 == 0 {
				key = fmt.Sprintf("shared-%03d", i/5)
			}
			if err := k.Set(keyring.Item{Key: key, Data: testValue(id, key, i)}); err != nil {
				fmt.Fprintln(os.Stderr, "helper:", err)
				return 1
			}
			if i%50 == 49 {
				// Open again: its cleaner runs while the other writer writes.
				if k, err = Open(dir); err != nil {
					fmt.Fprintln(os.Stderr, "helper:", err)
					return 1
				}
			}
		}
		return 0
	case "looper", "blocker":
		// Rewrite loopKeys forever, one generation after another. The
		// blocker stops in the middle of a write in generation 3, with half
		// of the value in its locked temp file, and waits to be killed.
		for gen := 1; ; gen++ {
			if role == "blocker" && gen == 3 {
				k.hooks.Write = func(f *os.File, data []byte) error {
					if _, err := f.Write(data[:len(data)/2]); err != nil {
						return err
					}
					fmt.Println("blocked")
					select {}
				}
			}
			for _, key := range loopKeys() {
				if err := k.Set(keyring.Item{Key: key, Data: testValue("looper", key, gen)}); err != nil {
					fmt.Fprintln(os.Stderr, "helper:", err)
					return 1
				}
			}
			fmt.Println("gen", gen)
		}
	}
	fmt.Fprintln(os.Stderr, "helper: unknown role", role)
	return 2
}

func loopKeys() []string {
	keys := make([]string, 20)
	for i := range keys {
		keys[i] = fmt.Sprintf("loop-%02d", i)
	}
	return keys
}

// helper starts the test binary in a helper role on dir.
func helper(t *testing.T, role, dir, id string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+role, helperDirEnv+"="+dir, helperIDEnv+"="+id)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	return cmd, &stderr
}

// SECURITY.md item 10: two processes writing 500 items each, some with the
// same keys, while a third keeps running Open's cleaner -> every item
// readable and whole, no temp file left, no write failed.
func TestTwoProcessesWriting(t *testing.T) {
	k, dir := newKeyring(t)
	var cmds []*exec.Cmd
	var errs []*bytes.Buffer
	for _, id := range []string{"1", "2"} {
		cmd, stderr := helper(t, "writer", dir, id)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds, errs = append(cmds, cmd), append(errs, stderr)
	}
	var wg sync.WaitGroup
	done := make(chan struct{})
	opens := 0
	wg.Go(func() {
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			if _, err := Open(dir); err != nil {
				t.Errorf("Open during writes: %v", err)
				return
			}
			opens++
		}
	})
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("writer %d: %v: %s", i+1, err, errs[i])
		}
	}
	close(done)
	wg.Wait()
	t.Logf("%d concurrent Opens", opens)

	keys, err := k.Keys()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 900 {
		t.Errorf("%d keys, want 900 (2×400 own + 100 shared)", len(keys))
	}
	shared := 0
	for _, key := range keys {
		it, err := k.Get(key)
		if err != nil {
			t.Errorf("Get(%q): %v", key, err)
			continue
		}
		writer, _, err := checkValue(key, it.Data)
		if err != nil {
			t.Errorf("item %q: %v", key, err)
			continue
		}
		if strings.HasPrefix(key, "shared-") {
			shared++
		} else if !strings.HasPrefix(key, "w"+writer+"-") {
			t.Errorf("item %q written by writer %s", key, writer)
		}
	}
	if shared != 100 {
		t.Errorf("%d shared keys, want 100", shared)
	}
	if tmps := tempFiles(t, dir); len(tmps) != 0 {
		t.Errorf("temp files left: %q", tmps)
	}
}

// SECURITY.md item 9: kill -9 in the middle of writes -> the directory
// reopens, every item holds its old or its new value, whole, and the dead
// writer's temp file is cleaned by the next Open.
func TestKillMidWrite(t *testing.T) {
	t.Run("blocked in a write", func(t *testing.T) { testKill(t, "blocker") })
	t.Run("anywhere", func(t *testing.T) { testKill(t, "looper") })
}

func testKill(t *testing.T, role string) {
	k, dir := newKeyring(t)
	for _, key := range loopKeys() {
		mustSet(t, k, key, testValue("parent", key, 0))
	}
	cmd, stderr := helper(t, role, dir, "")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	guard := time.AfterFunc(30*time.Second, func() { cmd.Process.Kill() })
	defer guard.Stop()

	// Wait for the helper to block mid-write (blocker) or to finish two
	// generations (looper, killed wherever it is then).
	lastGen := 0
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		if line == "blocked" {
			break
		}
		if g, ok := strings.CutPrefix(line, "gen "); ok {
			lastGen, _ = strconv.Atoi(g)
			if role == "looper" && lastGen == 2 {
				break
			}
		}
	}
	if role == "blocker" {
		tmps := tempFiles(t, dir)
		if len(tmps) != 1 {
			t.Fatalf("blocked writer: temp files %q, want one (helper stderr: %s)", tmps, stderr)
		}
		// The writer is alive and holds its lock: Open must not remove it.
		if _, err := Open(dir); err != nil {
			t.Fatal(err)
		}
		if got := tempFiles(t, dir); !slices.Equal(got, tmps) {
			t.Errorf("Open removed a live writer's temp file: %q -> %q", tmps, got)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// The looper may have finished more generations before it died.
	for sc.Scan() {
		if g, ok := strings.CutPrefix(sc.Text(), "gen "); ok {
			lastGen, _ = strconv.Atoi(g)
		}
	}
	err = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("helper did not die of SIGKILL: %v (stderr: %s)", err, stderr)
	}

	k2, err := Open(dir)
	if err != nil {
		t.Fatalf("Open after kill -9: %v", err)
	}
	if tmps := tempFiles(t, dir); len(tmps) != 0 {
		t.Errorf("temp files left after Open: %q", tmps)
	}
	keys, err := k2.Keys()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(keys, loopKeys()) {
		t.Fatalf("Keys = %q, want %q", keys, loopKeys())
	}
	for _, key := range keys {
		it, err := k2.Get(key)
		if err != nil {
			t.Errorf("Get(%q): %v", key, err)
			continue
		}
		writer, gen, err := checkValue(key, it.Data)
		if err != nil {
			t.Errorf("item %q: %v", key, err)
			continue
		}
		// Generation lastGen is complete; the next one was under way.
		if writer != "looper" || gen < lastGen || gen > lastGen+1 {
			t.Errorf("item %q: writer %s generation %d, want looper %d or %d", key, writer, gen, lastGen, lastGen+1)
		}
	}
}
