package store

import (
	"bufio"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wsxdev/wsx/store/atomicfile"
)

// The tests below run this test binary again as a helper process, chosen by
// the environment variable helperEnv.
const helperEnv = "WSX_STORE_TEST_HELPER"

func TestMain(m *testing.M) {
	if h := os.Getenv(helperEnv); h != "" {
		args := os.Args[1:]
		for i, a := range args {
			if a == "--" {
				args = args[i+1:]
				break
			}
		}
		if err := runHelper(h, args); err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	code := m.Run()
	removeBenchDirs()
	os.Exit(code)
}

// helperCmd returns a command running helper with args.
func helperCmd(t *testing.T, helper string, args ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, append([]string{"-test.run=^$", "--"}, args...)...)
	cmd.Env = append(os.Environ(), helperEnv+"="+helper)
	return cmd
}

func runHelper(helper string, f []string) error {
	switch helper {
	case "writer": // home passphrase writer-tag first last
		s, err := Open(f[0])
		if err != nil {
			return err
		}
		if err := s.Unlock([]byte(f[1])); err != nil {
			return err
		}
		first, _ := strconv.Atoi(f[3])
		last, _ := strconv.Atoi(f[4])
		return writeRange(s, f[2], first, last)
	case "rotate": // home passphrase name value
		s, err := Open(f[0])
		if err != nil {
			return err
		}
		if err := s.Unlock([]byte(f[1])); err != nil {
			return err
		}
		_, err = s.Edit(f[2], Edit{Value: NewValue([]byte(f[3])), Rotate: true})
		return err
	case "rekey": // home pass1 pass2: change back and forth until killed
		s, err := Open(f[0])
		if err != nil {
			return err
		}
		if err := s.Unlock([]byte(f[1])); err != nil {
			return err
		}
		for i := 0; ; i++ {
			if err := s.ChangePassphrase([]byte(f[1+(i+1)%2])); err != nil {
				return err
			}
			fmt.Println(i)
		}
	}
	return fmt.Errorf("unknown helper %q", helper)
}

// The writers' ranges overlap in [sharedFirst, sharedLast).
const sharedFirst, sharedLast = 250, 500

// writeRange adds CASE_<i> in the writer's case for i < 20, then sets
// SHARED_<i> for i in [first, last) to a value tagged by the writer (add,
// or update if it exists). Both writers start with the same case names and
// then the shared range, in the same order, so they collide as much as
// possible.
func writeRange(s *Store, tag string, first, last int) error {
	for i := 0; i < 20; i++ {
		name := fmt.Sprintf("CASE_%02d", i)
		if tag == "b" {
			name = strings.ToLower(name)
		}
		_, err := s.Add(Secret{Meta: Meta{Name: name, Type: TypeToken}, Value: NewValue([]byte(tag))})
		if err != nil && !errors.Is(err, ErrExists) {
			return err
		}
	}
	var order []int
	for i := max(first, sharedFirst); i < min(last, sharedLast); i++ {
		order = append(order, i)
	}
	for i := first; i < last; i++ {
		if i < sharedFirst || i >= sharedLast {
			order = append(order, i)
		}
	}
	_, err := s.Add(Secret{Meta: Meta{Name: "COUNTER", Type: TypeToken}, Value: NewValue([]byte("0"))})
	if err != nil && !errors.Is(err, ErrExists) {
		return err
	}
	for j, i := range order {
		name := fmt.Sprintf("SHARED_%04d", i)
		val := NewValue([]byte(tag + "-" + name))
		_, err := s.Add(Secret{Meta: Meta{Name: name, Type: TypeToken}, Value: val})
		if errors.Is(err, ErrExists) {
			_, err = s.Update(name, func(sec *Secret) error { sec.Value = val; return nil })
		}
		if err != nil {
			return err
		}
		if j%counterEvery == 0 {
			if _, err := s.Update("COUNTER", increment); err != nil {
				return err
			}
		}
	}
	return nil
}

// Every counterEvery-th write, a writer increments the shared COUNTER: a
// read-modify-write that loses increments unless writers exclude each other.
const counterEvery = 5

func increment(sec *Secret) error {
	n, err := strconv.Atoi(string(sec.Value.Bytes()))
	sec.Value = NewValue([]byte(strconv.Itoa(n + 1)))
	return err
}

// SECURITY.md item 10: two processes writing 500 secrets each, 250 of them
// the same names, lose no update and create no case-only duplicate.
func TestConcurrentWriters(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 1 000 items through two processes")
	}
	s, _ := newTestStore(t)
	var wg sync.WaitGroup
	outs := make([][]byte, 2)
	errs := make([]error, 2)
	for w, r := range [][3]string{{"a", "0", "500"}, {"b", "250", "750"}} {
		cmd := helperCmd(t, "writer", s.Home(), string(testPass), r[0], r[1], r[2])
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[w], errs[w] = cmd.CombinedOutput()
		}()
	}
	wg.Wait()
	for w := range errs {
		if errs[w] != nil {
			t.Fatalf("writer %d: %v\n%s", w, errs[w], outs[w])
		}
	}

	o := reopen(t, s, testPass)
	metas, err := o.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(metas) != 750+20+1 {
		t.Errorf("List has %d secrets, want 771", len(metas))
	}
	counter, err := o.Get("COUNTER")
	if err != nil {
		t.Fatal(err)
	}
	const increments = 2 * 500 / counterEvery
	if string(counter.Value.Bytes()) != strconv.Itoa(increments) || counter.Version != 1+increments {
		t.Errorf("COUNTER: version %d after %d increments by two processes: updates were lost", counter.Version, increments)
	}
	for i := 0; i < 750; i++ {
		name := fmt.Sprintf("SHARED_%04d", i)
		sec, err := o.Get(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		wantVersion := uint64(1)
		if i >= sharedFirst && i < sharedLast {
			wantVersion = 2 // one add and one update, neither lost
		}
		isA := sec.Value.Equal(NewValue([]byte("a-" + name)))
		isB := sec.Value.Equal(NewValue([]byte("b-" + name)))
		if sec.Version != wantVersion || !(isA || isB) || (i < sharedFirst && !isA) || (i >= sharedLast && !isB) {
			t.Errorf("%s: version %d (want %d), value from a %v, from b %v", name, sec.Version, wantVersion, isA, isB)
		}
	}
	for i := 0; i < 20; i++ {
		upper, lower := fmt.Sprintf("CASE_%02d", i), fmt.Sprintf("case_%02d", i)
		_, errU := o.Get(upper)
		_, errL := o.Get(lower)
		if (errU == nil) == (errL == nil) {
			t.Errorf("%s / %s: exactly one must exist (got %v, %v)", upper, lower, errU, errL)
		}
	}
	ents, err := os.ReadDir(filepath.Join(s.Home(), itemsDir))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".wsx") {
			t.Errorf("left behind in items: %s", e.Name())
		}
	}
}

// SECURITY.md item 12: a passphrase change killed at a random point leaves
// every item opening with the old passphrase or every one with the new.
func TestChangePassphraseKilled(t *testing.T) {
	s, _ := newTestStore(t)
	for i := 0; i < 5; i++ {
		mustAdd(t, s, fmt.Sprintf("ITEM_%d", i), TypeToken, fmt.Sprintf("value-%d", i))
	}
	p1, p2 := string(testPass), "second passphrase"
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 2))
	for round := 0; round < 20; round++ {
		cmd := helperCmd(t, "rekey", s.Home(), p1, p2)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := bufio.NewScanner(out)
		for n := 1 + rng.IntN(10); n > 0 && lines.Scan(); n-- {
		}
		// A change takes a few milliseconds; land the kill anywhere in one.
		time.Sleep(time.Duration(rng.IntN(5000)) * time.Microsecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()

		o, err := Open(s.Home())
		if err != nil {
			t.Fatalf("round %d: Open after kill: %v", round, err)
		}
		err1 := o.Unlock([]byte(p1))
		if err1 != nil {
			if err2 := o.Unlock([]byte(p2)); err2 != nil {
				t.Fatalf("round %d: neither passphrase opens the store: %v / %v", round, err1, err2)
			}
			p1, p2 = p2, p1 // the helper starts from the current one
		}
		for i := 0; i < 5; i++ {
			sec, err := o.Get(fmt.Sprintf("ITEM_%d", i))
			if err != nil || !sec.Value.Equal(NewValue([]byte(fmt.Sprintf("value-%d", i)))) {
				t.Fatalf("round %d: ITEM_%d does not open with the passphrase that opens the store: %v", round, i, err)
			}
		}
	}
	// A write under the lock removes temp files left by killed changes.
	if err := reopen(t, s, []byte(p1)).ChangePassphrase([]byte(p1)); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(s.Home())
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), atomicfile.TempPrefix) {
			t.Errorf("temp file %s left after a later passphrase change", e.Name())
		}
	}
}
