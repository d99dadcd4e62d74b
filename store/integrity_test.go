package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// SECURITY.md item 3.
func TestItemSwap(t *testing.T) {
	s, _ := newTestStore(t)
	mustAdd(t, s, "ALPHA_TOKEN", TypeToken, "alpha-value")
	mustAdd(t, s, "BRAVO_TOKEN", TypeToken, "bravo-value")
	copyFile(t, itemPath(s, "ALPHA_TOKEN"), itemPath(s, "BRAVO_TOKEN"))

	_, err := s.Get("BRAVO_TOKEN")
	wantErr(t, "Get of B holding A's item", err, ErrIntegrity, "BRAVO_TOKEN")
	if _, err := s.Get("ALPHA_TOKEN"); err != nil {
		t.Errorf("A itself: %v", err)
	}
	metas, err := s.List()
	wantErr(t, "List with a swapped item", err, ErrIntegrity, "BRAVO_TOKEN")
	if len(metas) != 1 || metas[0].Name != "ALPHA_TOKEN" {
		t.Errorf("List returned %v beside the error, want ALPHA_TOKEN only", metas)
	}
	_, err = s.Update("BRAVO_TOKEN", func(*Secret) error { return nil })
	wantErr(t, "Update of the swapped item", err, ErrIntegrity, "BRAVO_TOKEN")

	// The same, with the clear name in the envelope edited to match: the
	// additional data no longer matches.
	b, err := os.ReadFile(itemPath(s, "ALPHA_TOKEN"))
	if err != nil {
		t.Fatal(err)
	}
	var e envelope
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	e.Name = "BRAVO_TOKEN"
	b, _ = json.Marshal(e)
	if err := os.WriteFile(itemPath(s, "BRAVO_TOKEN"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = s.Get("BRAVO_TOKEN")
	wantErr(t, "Get of B holding A's item renamed", err, ErrIntegrity, "BRAVO_TOKEN")

	// An item with a version edited fails too.
	e.Name, e.Version = "ALPHA_TOKEN", 7
	b, _ = json.Marshal(e)
	if err := os.WriteFile(itemPath(s, "ALPHA_TOKEN"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = s.Get("ALPHA_TOKEN")
	wantErr(t, "Get of an item with its version edited", err, ErrIntegrity, "ALPHA_TOKEN")
}

func TestItemFromAnotherStore(t *testing.T) {
	s1, _ := newTestStore(t)
	s2, _ := newTestStore(t)
	mustAdd(t, s1, "SHARED_TOKEN", TypeToken, "value-1")
	mustAdd(t, s2, "SHARED_TOKEN", TypeToken, "value-2")
	copyFile(t, itemPath(s1, "SHARED_TOKEN"), itemPath(s2, "SHARED_TOKEN"))
	_, err := s2.Get("SHARED_TOKEN")
	wantErr(t, "item of another store", err, ErrIntegrity, "SHARED_TOKEN")
}

func TestDamagedItems(t *testing.T) {
	s, _ := newTestStore(t)
	mustAdd(t, s, "API_TOKEN", TypeToken, "value-1")
	good, err := os.ReadFile(itemPath(s, "API_TOKEN"))
	if err != nil {
		t.Fatal(err)
	}
	flipped := []byte(strings.Replace(string(good), `"ct":"`, `"ct":"A`, 1))
	cases := map[string][]byte{
		"truncated":     good[:len(good)/2],
		"flipped ct":    flipped,
		"not json":      []byte("hello"),
		"unknown field": []byte(strings.Replace(string(good), `{"v":1,`, `{"v":1,"kdf":{"memory_kib":4294967295},`, 1)),
		"duplicate key": []byte(strings.Replace(string(good), `{"v":1,`, `{"v":1,"v":1,`, 1)),
		"upper key":     []byte(strings.Replace(string(good), `{"v":1,`, `{"V":1,`, 1)),
		"trailing":      append(append([]byte(nil), good...), []byte(" {}")...),
		"format 2":      []byte(strings.Replace(string(good), `{"v":1,`, `{"v":2,`, 1)),
	}
	for name, data := range cases {
		if err := os.WriteFile(itemPath(s, "API_TOKEN"), data, 0o600); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, err := s.Get("API_TOKEN")
		wantErr(t, name, err, ErrIntegrity, "API_TOKEN")
		if d := time.Since(start); d > time.Second {
			t.Errorf("%s: rejected in %v", name, d)
		}
	}
	if err := os.WriteFile(itemPath(s, "API_TOKEN"), good, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get("API_TOKEN"); err != nil {
		t.Errorf("restored item: %v", err)
	}
	// An empty item file is damage too (the file backend refuses it).
	if err := os.WriteFile(itemPath(s, "API_TOKEN"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = s.Get("API_TOKEN")
	wantErr(t, "empty item file", err, ErrIntegrity)
}

// SECURITY.md item 4: rollback of one item is a documented limit. This test
// shows exactly what happens: the older ciphertext of the same secret,
// put back, opens without error and with its old version and value; the
// next write goes on from that version.
func TestRollbackIsALimit(t *testing.T) {
	s, _ := newTestStore(t)
	mustAdd(t, s, "API_TOKEN", TypeToken, "old-value")
	old, err := os.ReadFile(itemPath(s, "API_TOKEN"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Edit("API_TOKEN", Edit{Value: NewValue([]byte("new-value")), Rotate: true}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(itemPath(s, "API_TOKEN"), old, 0o600); err != nil {
		t.Fatal(err)
	}
	sec, err := s.Get("API_TOKEN")
	if err != nil {
		t.Fatalf("rolled-back item: %v (if rollback is now detected, update this test and ARCHITECTURE.md)", err)
	}
	if sec.Version != 1 || !sec.Value.Equal(NewValue([]byte("old-value"))) {
		t.Errorf("rolled-back item: version %d, want the old version 1 and the old value", sec.Version)
	}
	m, err := s.Edit("API_TOKEN", Edit{Value: NewValue([]byte("newer-value")), Rotate: true})
	if err != nil || m.Version != 2 {
		t.Errorf("write after rollback: version %d, %v; want 2", m.Version, err)
	}
	// A rolled-back item under another name still fails: only the same
	// secret's history can be replayed.
	mustAdd(t, s, "OTHER_TOKEN", TypeToken, "other-value")
	if err := os.WriteFile(itemPath(s, "OTHER_TOKEN"), old, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = s.Get("OTHER_TOKEN")
	wantErr(t, "old item under another name", err, ErrIntegrity, "OTHER_TOKEN")
}

// headerWith rewrites the header of s through edit of its JSON object.
func headerWith(t *testing.T, s *Store, edit func(map[string]any)) {
	t.Helper()
	path := filepath.Join(s.Home(), headerFile)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	b, err = json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// SECURITY.md item 5: KDF parameters come only from the header and are
// bounds-checked before any Argon2 run.
func TestAbsurdKDFRejectedFast(t *testing.T) {
	cases := map[string]map[string]any{
		"memory 4 TiB":     {"memory_kib": float64(1<<32 - 1)},
		"memory 8 GiB":     {"memory_kib": float64(8 << 20)},
		"time 2^32-1":      {"time": float64(1<<32 - 1)},
		"time 1000":        {"time": float64(1000)},
		"threads 255":      {"threads": float64(255)},
		"threads 0":        {"threads": float64(0)},
		"time x memory":    {"time": float64(64), "memory_kib": float64(4 << 20)},
		"memory too small": {"memory_kib": float64(8)},
		"other alg":        {"alg": "scrypt"},
		"short salt":       {"salt": "AAAA"},
	}
	for name, edit := range cases {
		t.Run(name, func(t *testing.T) {
			s, _ := newTestStore(t)
			headerWith(t, s, func(m map[string]any) {
				kdf := m["kdf"].(map[string]any)
				for k, v := range edit {
					kdf[k] = v
				}
			})
			start := time.Now()
			_, err := Open(s.Home())
			wantErr(t, "Open", err, ErrIntegrity, headerFile)
			// A store opened before the edit refuses it on Unlock too.
			s.Lock()
			wantErr(t, "Unlock", s.Unlock(testPass), ErrIntegrity)
			if d := time.Since(start); d > 500*time.Millisecond {
				t.Errorf("rejected in %v, want milliseconds", d)
			}
		})
	}
	_, err := Init(filepath.Join(t.TempDir(), "h"), InitOptions{Passphrase: testPass, KDF: KDFParams{Time: 1, MemoryKiB: 1<<32 - 1, Threads: 1}})
	if err == nil || !strings.Contains(err.Error(), "memory") {
		t.Errorf("Init with absurd memory: %v", err)
	}
}

// SECURITY.md item 78: a forged header asking for more Argon2id cost than
// `wsx init` may set, or for more than a quarter of the machine's memory,
// is refused before any KDF run, and the error says it is the header.
func TestForgedHeaderKDFCostRefused(t *testing.T) {
	cases := map[string]struct {
		edit   map[string]any
		memKiB uint64 // the machine's memory; 0 keeps the real one
		want   string
	}{
		"4 GiB memory":            {edit: map[string]any{"memory_kib": float64(4 << 20)}, want: "kdf memory"},
		"above init's memory cap": {edit: map[string]any{"memory_kib": float64(MaxKDFMemoryKiB + 1)}, want: "kdf memory"},
		"above init's time cap":   {edit: map[string]any{"time": float64(MaxKDFTime + 1)}, want: "kdf time"},
		"time x memory":           {edit: map[string]any{"time": float64(4), "memory_kib": float64(MaxKDFMemoryKiB)}, want: "more work"},
		"over a quarter of a 64 MiB machine": {
			edit: map[string]any{"memory_kib": float64(32 << 10)}, memKiB: 64 << 10, want: "quarter of this machine",
		},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			s, _ := newTestStore(t)
			headerWith(t, s, func(m map[string]any) {
				kdf := m["kdf"].(map[string]any)
				for k, v := range c.edit {
					kdf[k] = v
				}
			})
			if c.memKiB != 0 {
				old := machineMemKiB
				machineMemKiB = func() uint64 { return c.memKiB }
				t.Cleanup(func() { machineMemKiB = old })
			}
			start := time.Now()
			_, err := Open(s.Home())
			wantErr(t, "Open", err, ErrHeader, headerFile, c.want)
			s.Lock()
			wantErr(t, "Unlock", s.Unlock(testPass), ErrHeader, c.want)
			if d := time.Since(start); d > 200*time.Millisecond {
				t.Errorf("refused in %v: a KDF ran", d)
			}
		})
	}
	// init may not set what a header may not hold.
	_, err := Init(filepath.Join(t.TempDir(), "h"), InitOptions{Passphrase: testPass, KDF: KDFParams{Time: 1, MemoryKiB: MaxKDFMemoryKiB + 1024, Threads: 1}})
	if err == nil || !strings.Contains(err.Error(), "kdf memory") {
		t.Errorf("Init above the memory cap: %v", err)
	}
	old := machineMemKiB
	machineMemKiB = func() uint64 { return 64 << 10 }
	defer func() { machineMemKiB = old }()
	_, err = Init(filepath.Join(t.TempDir(), "h2"), InitOptions{Passphrase: testPass, KDF: KDFParams{Time: 1, MemoryKiB: 32 << 10, Threads: 1}})
	if err == nil || !strings.Contains(err.Error(), "quarter") {
		t.Errorf("Init above a quarter of the machine: %v", err)
	}
}

func TestReadMemTotal(t *testing.T) {
	if _, err := os.Stat("/proc/meminfo"); err != nil {
		t.Skip("no /proc/meminfo")
	}
	if n := readMemTotal(); n < 64<<10 {
		t.Errorf("readMemTotal = %d KiB, want the machine's memory", n)
	}
}

// The KDF parameters are bound into the wrapped key: lowering them in the
// header (still in bounds) gives a wrong-passphrase error, not a weaker key.
func TestKDFParamsBound(t *testing.T) {
	s, _ := newTestStore(t)
	for _, edit := range []map[string]any{
		{"memory_kib": float64(2 << 10)},
		{"time": float64(2)},
		{"threads": float64(2)},
	} {
		headerWith(t, s, func(m map[string]any) {
			kdf := m["kdf"].(map[string]any)
			for k, v := range edit {
				kdf[k] = v
			}
		})
		o, err := Open(s.Home())
		if err != nil {
			t.Fatal(err)
		}
		wantErr(t, fmt.Sprint("Unlock after editing ", edit), o.Unlock(testPass), ErrWrongPassphrase)
		headerWith(t, s, func(m map[string]any) {
			kdf := m["kdf"].(map[string]any)
			kdf["memory_kib"], kdf["time"], kdf["threads"] = float64(testKDF.MemoryKiB), float64(testKDF.Time), float64(testKDF.Threads)
		})
	}
	reopen(t, s, testPass) // the restored parameters open again
}

func TestHeaderStrict(t *testing.T) {
	s, _ := newTestStore(t)
	good, err := os.ReadFile(filepath.Join(s.Home(), headerFile))
	if err != nil {
		t.Fatal(err)
	}
	str := string(good)
	cases := map[string]string{
		"unknown field": strings.Replace(str, `"version": 1,`, `"version": 1, "extra": true,`, 1),
		"duplicate":     strings.Replace(str, `"version": 1,`, `"version": 1, "version": 1,`, 1),
		"mis-cased":     strings.Replace(str, `"version"`, `"Version"`, 1),
		"trailing":      str + "{}",
		"version 2":     strings.Replace(str, `"version": 1,`, `"version": 2,`, 1),
		"bad id":        strings.Replace(str, s.ID(), strings.ToUpper(s.ID()), 1),
		"bad backend":   strings.Replace(str, `"backend": "file"`, `"backend": "vault"`, 1),
		"held key":      strings.Replace(str, `"key": "passphrase"`, `"key": "backend"`, 1),
		"too large":     strings.Replace(str, `"version": 1,`, `"version": 1, "pad": "`+strings.Repeat("x", maxHeaderSize)+`",`, 1),
		"array":         "[" + str + "]",
		"empty":         "",
	}
	path := filepath.Join(s.Home(), headerFile)
	for name, h := range cases {
		if h == str {
			t.Fatalf("%s: the edit did not apply", name)
		}
		if err := os.WriteFile(path, []byte(h), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Open(s.Home())
		wantErr(t, name, err, ErrIntegrity, path)
	}
	if err := os.WriteFile(path, good, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(s.Home()); err != nil {
		t.Fatalf("restored header: %v", err)
	}
	// Editing the store id makes the wrapped key fail (bound in the AD).
	other := strings.Replace(str, s.ID(), strings.Repeat("ab", 16), 1)
	if err := os.WriteFile(path, []byte(other), 0o600); err != nil {
		t.Fatal(err)
	}
	o, err := Open(s.Home())
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Unlock(testPass); !errors.Is(err, ErrWrongPassphrase) {
		t.Errorf("Unlock with the store id edited: %v", err)
	}
}

// SECURITY.md item 77 (store side): one damaged item does not make List
// fail; the others are listed and the damaged one is named in a
// *DamagedError, and the others can still be read. This holds when List
// had already cached the item before it was damaged.
func TestListDamagedItemKeepsTheRest(t *testing.T) {
	for _, damage := range []string{"garbage", "empty", "swapped"} {
		t.Run(damage, func(t *testing.T) {
			s, _ := newTestStore(t)
			mustAdd(t, s, "ALPHA_TOKEN", TypeToken, "alpha-value")
			mustAdd(t, s, "BRAVO_TOKEN", TypeToken, "bravo-value")
			mustAdd(t, s, "CHARLIE_TOKEN", TypeToken, "charlie-value")
			if metas, err := s.List(); err != nil || len(metas) != 3 {
				t.Fatalf("List before: %d, %v", len(metas), err)
			}
			switch damage {
			case "garbage":
				if err := os.WriteFile(itemPath(s, "BRAVO_TOKEN"), []byte("not an item"), 0o600); err != nil {
					t.Fatal(err)
				}
			case "empty":
				if err := os.Truncate(itemPath(s, "BRAVO_TOKEN"), 0); err != nil {
					t.Fatal(err)
				}
			case "swapped":
				copyFile(t, itemPath(s, "ALPHA_TOKEN"), itemPath(s, "BRAVO_TOKEN"))
			}
			for _, st := range []*Store{s, reopen(t, s, testPass)} {
				metas, err := st.List()
				wantErr(t, "List", err, ErrIntegrity, "BRAVO_TOKEN")
				var de *DamagedError
				if !errors.As(err, &de) || len(de.Names) != 1 || de.Names[0] != "BRAVO_TOKEN" {
					t.Errorf("List error %v: want a *DamagedError naming BRAVO_TOKEN", err)
				}
				if len(metas) != 2 || metas[0].Name != "ALPHA_TOKEN" || metas[1].Name != "CHARLIE_TOKEN" {
					t.Errorf("List returned %v beside the error, want ALPHA_TOKEN and CHARLIE_TOKEN", metas)
				}
				if sec, err := st.Get("CHARLIE_TOKEN"); err != nil || string(sec.Value.Bytes()) != "charlie-value" {
					t.Errorf("Get of an intact secret beside a damaged one: %v", err)
				}
			}
		})
	}
}

// A damaged store.json is reported as the header, not as an item.
func TestDamagedHeaderIsNamed(t *testing.T) {
	s, _ := newTestStore(t)
	mustAdd(t, s, "ALPHA_TOKEN", TypeToken, "alpha-value")
	if err := os.WriteFile(filepath.Join(s.Home(), headerFile), []byte(`{"version":1,`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Open(s.Home())
	wantErr(t, "Open", err, ErrHeader, headerFile, "store header")
	wantErr(t, "Open", err, ErrIntegrity)
	_, err = s.Add(Secret{Meta: Meta{Name: "BRAVO_TOKEN", Type: TypeToken}, Value: NewValue([]byte("bravo-value"))})
	wantErr(t, "Add", err, ErrHeader, headerFile)
}

// List's metadata cache follows every change to an item file: an update
// by another process, a removal, an item added behind its back.
func TestListCacheFollowsChanges(t *testing.T) {
	s, _ := newTestStore(t)
	mustAdd(t, s, "ALPHA_TOKEN", TypeToken, "alpha-value")
	mustAdd(t, s, "BRAVO_TOKEN", TypeToken, "bravo-value")
	for range 3 { // the second arms the watch, the third answers from it
		if _, err := s.List(); err != nil {
			t.Fatal(err)
		}
	}
	if s.watch == nil {
		t.Log("no inotify watch (instances exhausted?); the stat path is tested")
	}
	o := reopen(t, s, testPass)
	if _, err := o.Update("ALPHA_TOKEN", func(sec *Secret) error { sec.Description = "changed elsewhere"; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := o.Remove("BRAVO_TOKEN"); err != nil {
		t.Fatal(err)
	}
	mustAdd(t, o, "CHARLIE_TOKEN", TypeToken, "charlie-value")
	metas, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(metas) != 2 || metas[0].Name != "ALPHA_TOKEN" || metas[0].Description != "changed elsewhere" ||
		metas[0].Version != 2 || metas[1].Name != "CHARLIE_TOKEN" {
		t.Errorf("List after changes by another store: %+v", metas)
	}
	// What List returns is a copy: changing it does not change the cache.
	metas[0].Hosts = append(metas[0].Hosts, "evil.example")
	again, _ := s.List()
	if len(again[0].Hosts) != 0 {
		t.Errorf("List returned the cache's own slice: %v", again[0].Hosts)
	}
	s.Lock()
	if _, err := s.List(); !errors.Is(err, ErrLocked) {
		t.Errorf("List when locked: %v", err)
	}
}

// With the watch armed, what happens to the items directory itself and to
// an item written in place is seen at once, and an unsafe directory is
// refused on every List, not only the first after the change.
func TestListWatchSeesTheDirectory(t *testing.T) {
	s, _ := newTestStore(t)
	mustAdd(t, s, "ALPHA_TOKEN", TypeToken, "alpha-value")
	mustAdd(t, s, "BRAVO_TOKEN", TypeToken, "bravo-value")
	for range 3 {
		if _, err := s.List(); err != nil {
			t.Fatal(err)
		}
	}
	if s.watch == nil {
		t.Log("no inotify watch (instances exhausted?); the stat path is tested")
	}
	items := filepath.Join(s.Home(), itemsDir)
	if err := os.Chmod(items, 0o777); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		_, err := s.List()
		wantErr(t, fmt.Sprintf("List %d with an open items dir", i), err, ErrUnsafePermission, "chmod 700")
	}
	if err := os.Chmod(items, 0o700); err != nil {
		t.Fatal(err)
	}
	if metas, err := s.List(); err != nil || len(metas) != 2 {
		t.Fatalf("List after chmod 700: %d, %v", len(metas), err)
	}
	// Written in place, keeping its size.
	b, err := os.ReadFile(itemPath(s, "BRAVO_TOKEN"))
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-5] ^= 1
	f, err := os.OpenFile(itemPath(s, "BRAVO_TOKEN"), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt(b[len(b)-5:len(b)-4], int64(len(b)-5))
	f.Close()
	_, err = s.List()
	wantErr(t, "List after an in-place write", err, ErrIntegrity, "BRAVO_TOKEN")
	// The items directory moved away and replaced by an empty one.
	if err := os.Rename(items, items+".old"); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(items, 0o700); err != nil {
		t.Fatal(err)
	}
	if metas, err := s.List(); err != nil || len(metas) != 0 {
		t.Errorf("List of the new, empty items dir: %v, %v", metas, err)
	}
	// And back.
	if err := os.Remove(items); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(items+".old", items); err != nil {
		t.Fatal(err)
	}
	mustAdd(t, s, "CHARLIE_TOKEN", TypeToken, "charlie-value")
	for range 3 {
		metas, err := s.List()
		if len(metas) != 2 || !errors.Is(err, ErrIntegrity) {
			t.Errorf("List after the dir came back: %d metas, %v", len(metas), err)
		}
	}
}
