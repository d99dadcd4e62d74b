package store

import (
	"crypto/cipher"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// populate stores n token secrets in s under one write lock, without Add's
// per-call listing, and returns their names.
func populate(b *testing.B, s *Store, n int) []string {
	b.Helper()
	names := make([]string, n)
	err := s.write(func(g cipher.AEAD, id string, now time.Time) error {
		for i := range names {
			names[i] = fmt.Sprintf("BENCH_TOKEN_%05d", i)
			sec := Secret{Meta: Meta{Name: names[i], Type: TypeToken, Created: now, Updated: now, Version: 1},
				Value: NewValue([]byte("bench-value-" + strconv.Itoa(i)))}
			if err := s.put(g, id, sec); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return names
}

// benchStores holds, per size, one populated store that the read-only
// benchmarks share, so each size is written once per process.
var benchStores = struct {
	sync.Mutex
	m map[int]benchStore
}{m: map[int]benchStore{}}

type benchStore struct {
	s     *Store
	names []string
}

// sharedStore returns an unlocked store of n secrets and their names. It
// lives in a temp dir removed when the process ends.
func sharedStore(b *testing.B, n int) (*Store, []string) {
	benchStores.Lock()
	defer benchStores.Unlock()
	if bs, ok := benchStores.m[n]; ok {
		return bs.s, bs.names
	}
	dir, err := os.MkdirTemp("", "wsx-bench-")
	if err != nil {
		b.Fatal(err)
	}
	benchDirs = append(benchDirs, dir)
	s, err := Init(filepath.Join(dir, "home"), InitOptions{Passphrase: testPass, KDF: testKDF})
	if err != nil {
		b.Fatal(err)
	}
	names := populate(b, s, n)
	benchStores.m[n] = benchStore{s, names}
	return s, names
}

// cpuClock measures the CPU time (user + system) of the process, which on
// a shared machine says more than the wall time of ns/op.
type cpuClock struct{ start time.Duration }

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func startCPU() cpuClock { return cpuClock{cpuTime()} }

// report adds cpu-ns/op to the benchmark's results.
func (c cpuClock) report(b *testing.B) {
	b.ReportMetric(float64(cpuTime()-c.start)/float64(b.N), "cpu-ns/op")
}

// benchDirs are removed by TestMain.
var benchDirs []string

func removeBenchDirs() {
	for _, d := range benchDirs {
		os.RemoveAll(d)
	}
}

// BenchmarkGet reads one secret (file read, envelope parse, AES-GCM open)
// from stores of 10 and 10 000 secrets.
func BenchmarkGet(b *testing.B) {
	for _, n := range []int{10, 10000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			s, names := sharedStore(b, n)
			i := 0
			cpu := startCPU()
			for b.Loop() {
				if _, err := s.Get(names[i%n]); err != nil {
					b.Fatal(err)
				}
				i += 7919 // a prime: visit names in a scattered order
			}
			cpu.report(b)
		})
	}
}

// BenchmarkList lists the metadata of every secret in stores of 10 and
// 10 000 secrets, as the agent does for `wsx list`: the store stays open
// between calls.
func BenchmarkList(b *testing.B) {
	for _, n := range []int{10, 10000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			s, _ := sharedStore(b, n)
			if _, err := s.List(); err != nil { // as the agent's first list
				b.Fatal(err)
			}
			cpu := startCPU()
			for b.Loop() {
				metas, err := s.List()
				if err != nil || len(metas) != n {
					b.Fatalf("List: %d metas, %v", len(metas), err)
				}
			}
			cpu.report(b)
		})
	}
}

// BenchmarkUnlock is one Unlock with DefaultKDF: header read and parse,
// Argon2id t=3 m=64 MiB p=4, unwrap.
func BenchmarkUnlock(b *testing.B) {
	home := filepath.Join(b.TempDir(), "home")
	s, err := Init(home, InitOptions{Passphrase: testPass})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		s.Lock()
		if err := s.Unlock(testPass); err != nil {
			b.Fatal(err)
		}
	}
}
