package store

import (
	"crypto/cipher"
	"fmt"
	"path/filepath"
	"strconv"
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

// BenchmarkGet reads one secret (file read, envelope parse, AES-GCM open)
// from stores of 10 and 10 000 secrets.
func BenchmarkGet(b *testing.B) {
	for _, n := range []int{10, 10000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			s, _ := newTestStore(b)
			names := populate(b, s, n)
			i := 0
			for b.Loop() {
				if _, err := s.Get(names[i%n]); err != nil {
					b.Fatal(err)
				}
				i += 7919 // a prime: visit names in a scattered order
			}
		})
	}
}

// BenchmarkList lists the metadata of every secret in stores of 10 and
// 10 000 secrets, as the agent does for `wsx list`.
func BenchmarkList(b *testing.B) {
	for _, n := range []int{10, 10000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			s, _ := newTestStore(b)
			populate(b, s, n)
			for b.Loop() {
				metas, err := s.List()
				if err != nil || len(metas) != n {
					b.Fatalf("List: %d metas, %v", len(metas), err)
				}
			}
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
