package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/wsxdev/wsx/store"
)

// benchPass is the passphrase of the stores the benchmarks make, as
// newWSXRunner writes it to its passphrase file.
const benchPass = "correct horse battery staple"

// benchStore returns the home of a fresh copy of a store of n token
// secrets (BENCH_TOKEN_00000...) with the cheapest KDF the store takes.
// Adding 10 000 secrets one by one takes minutes, so the store is made
// once per version of the store's code and kept in a cache (under
// /dev/shm when there is one, else the user's cache directory), then
// copied for each benchmark.
func benchStore(b *testing.B, n int) string {
	b.Helper()
	f, _ := benchStores.LoadOrStore(n, sync.OnceValues(func() (string, error) { return cachedStore(n) }))
	cached, err := f.(func() (string, error))()
	if err != nil {
		b.Fatal(err)
	}
	home := filepath.Join(b.TempDir(), "home")
	if out, err := exec.Command("cp", "-a", cached, home).CombinedOutput(); err != nil {
		b.Fatalf("copy the store of %d secrets: %v\n%s", n, err, out)
	}
	return home
}

var benchStores sync.Map // n -> func() (string, error)

// cachedStore returns the cached store of n secrets, making it first if
// the cache has none for this version of the store's code.
func cachedStore(n int) (string, error) {
	key, err := storeCodeKey()
	if err != nil {
		return "", err
	}
	root := "/dev/shm"
	if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
		if root, err = os.UserCacheDir(); err != nil {
			return "", err
		}
	}
	dir := filepath.Join(root, fmt.Sprintf("wsx-bench-%d", os.Getuid()))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	home := filepath.Join(dir, fmt.Sprintf("%s-%d", key, n))
	if _, err := os.Stat(filepath.Join(home, "items")); err == nil {
		return home, nil
	}
	tmp, err := os.MkdirTemp(dir, "making-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	fmt.Fprintf(os.Stderr, "making a store of %d secrets in %s (once per version of the store's code)\n", n, dir)
	st, err := store.Init(filepath.Join(tmp, "home"), store.InitOptions{Passphrase: []byte(benchPass),
		KDF: store.KDFParams{Time: 1, MemoryKiB: 8 << 10, Threads: 1}})
	if err != nil {
		return "", err
	}
	for i := range n {
		sec := store.Secret{Meta: store.Meta{Name: fmt.Sprintf("BENCH_TOKEN_%05d", i), Type: store.TypeToken},
			Value: store.NewValue(fmt.Appendf(nil, "bench-value-%08d", i))}
		if _, err := st.Add(sec); err != nil {
			st.Lock()
			return "", err
		}
	}
	st.Lock()
	if err := os.Rename(filepath.Join(tmp, "home"), home); err != nil {
		if _, serr := os.Stat(filepath.Join(home, "items")); serr == nil {
			return home, nil // another run made it meanwhile
		}
		return "", err
	}
	return home, nil
}

// storeCodeKey hashes the source of the store and its file backend, so
// that a change to either makes a new cached store.
func storeCodeKey() (string, error) {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Dir(filepath.Dir(file))
	h := sha256.New()
	for _, pat := range []string{"store/*.go", "store/filekeyring/*.go"} {
		files, err := filepath.Glob(filepath.Join(root, pat))
		if err != nil {
			return "", err
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			b, err := os.ReadFile(f)
			if err != nil {
				return "", err
			}
			fmt.Fprintf(h, "%s %d\n", filepath.Base(f), len(b))
			h.Write(b)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// BenchmarkRead reads one secret (store.Get: file read, envelope parse,
// AES-GCM open) from a store of 10 000 secrets and from one of 10,
// interleaved: ratio is the first over the second.
func BenchmarkRead(b *testing.B) {
	open := func(n int) (*store.Store, func() string) {
		st, err := store.Open(benchStore(b, n))
		if err != nil {
			b.Fatal(err)
		}
		if err := st.Unlock([]byte(benchPass)); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(st.Lock)
		i := 0
		return st, func() string {
			i += 7919 // a prime: visit names in a scattered order
			return fmt.Sprintf("BENCH_TOKEN_%05d", i%n)
		}
	}
	big, bigName := open(10000)
	small, smallName := open(10)
	const reads = 200 // per timed round, so a round is not a clock tick
	get := func(st *store.Store, name func() string) func() {
		return func() {
			for range reads {
				if _, err := st.Get(name()); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	interleave(b, get(big, bigName), get(small, smallName))
}

// BenchmarkList times `wsx list` of a store of 10 000 secrets through a
// running agent, and opening the store directly (cheapest KDF;
// WSX_NO_AGENT, or it would find the agent too) as the anchor,
// interleaved.
func BenchmarkList(b *testing.B) {
	home := benchStore(b, 10000)
	dir := b.TempDir()
	w := newWSXRunner(b, dir)
	w.env = append(w.env, "WSX_HOME="+home)
	direct := append(slices.Clip(w.env), "WSX_NO_AGENT=1")
	agent := startBenchAgent(b, w, dir)
	wsx := filepath.Join(binDir, "wsx")
	interleave(b,
		func() { runQuiet(b, agent, dir, nil, wsx, "list") },
		func() { runQuiet(b, direct, dir, nil, wsx, "list") })
}
