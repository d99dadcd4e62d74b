package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestRoundTrip(t *testing.T) {
	s, clock := newTestStore(t)
	created := clock.now()
	values := map[string]struct {
		typ Type
		val string
	}{
		"GITHUB_TOKEN":   {TypeToken, "ghp_canary_round_trip_1"},
		"DB_PASSWORD":    {TypePassword, "p@ss word with spaces"},
		"AES_RAW_KEY":    {TypeKey, "\x00\x01raw key material\xff"},
		"SERVICE_CONFIG": {TypeFile, "binary\x00file\r\ncontent"},
		"EMPTY_FILE":     {TypeFile, ""},
	}
	for name, v := range values {
		m := mustAdd(t, s, name, v.typ, v.val)
		if m.Version != 1 || !m.Created.Equal(created) || !m.Updated.Equal(created) || !m.Rotated.IsZero() || m.SSH != nil {
			t.Errorf("Add %s: meta %+v, want version 1, created = updated = clock, no rotation, no ssh", name, m)
		}
	}
	check := func(s *Store) {
		t.Helper()
		for name, v := range values {
			sec, err := s.Get(name)
			if err != nil {
				t.Fatalf("Get %s: %v", name, err)
			}
			if !sec.Value.Equal(NewValue([]byte(v.val))) || sec.Type != v.typ || sec.Name != name {
				t.Errorf("Get %s: value, type or name differs from what was added", name)
			}
		}
		metas, err := s.List()
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		var names []string
		for _, m := range metas {
			names = append(names, m.Name)
		}
		want := []string{"AES_RAW_KEY", "DB_PASSWORD", "EMPTY_FILE", "GITHUB_TOKEN", "SERVICE_CONFIG"}
		if !slices.Equal(names, want) {
			t.Errorf("List = %v, want %v", names, want)
		}
	}
	check(s)
	check(reopen(t, s, testPass))

	if fi, err := os.Stat(s.Home()); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("home mode: %v %v, want 0700", fi.Mode(), err)
	}
	if fi, err := os.Stat(filepath.Join(s.Home(), headerFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("header mode: %v %v, want 0600", fi.Mode(), err)
	}
	if len(s.ID()) != 32 || s.Backend() != "file" || s.Locked() || !s.NeedsPassphrase() {
		t.Errorf("id %q backend %q locked %v needs passphrase %v", s.ID(), s.Backend(), s.Locked(), s.NeedsPassphrase())
	}
}

func TestCanaryNotOnDisk(t *testing.T) {
	s, _ := newTestStore(t)
	canary := "wsx-canary-4c1d9a7e-not-on-disk"
	mustAdd(t, s, "CANARY_TOKEN", TypeToken, canary)
	if _, err := s.Edit("CANARY_TOKEN", Edit{Value: NewValue([]byte(canary + "-2")), Rotate: true}); err != nil {
		t.Fatal(err)
	}
	err := filepath.WalkDir(s.Home(), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(canary)) || bytes.Contains(b, []byte(testPass)) {
			t.Errorf("%s holds the canary or the passphrase in clear", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestUpdateRotateRemove(t *testing.T) {
	s, clock := newTestStore(t)
	created := clock.now()
	mustAdd(t, s, "API_TOKEN", TypeToken, "first-value")

	clock.advance(time.Hour)
	m, err := s.Update("API_TOKEN", func(sec *Secret) error {
		sec.Description = "deploys the site"
		sec.Hosts = []string{"github.com"}
		sec.Username = "x-access-token"
		sec.RotateEvery = 90 * 24 * time.Hour
		sec.Version = 99          // the store's, restored
		sec.Created = time.Time{} // the store's, restored
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if m.Version != 2 || !m.Created.Equal(created) || !m.Updated.Equal(clock.now()) || !m.Rotated.IsZero() {
		t.Errorf("Update meta: version %d created %v updated %v rotated %v", m.Version, m.Created, m.Updated, m.Rotated)
	}
	got, err := s.Get("API_TOKEN")
	if err != nil {
		t.Fatal(err)
	}
	if got.Description != "deploys the site" || !slices.Equal(got.Hosts, []string{"github.com"}) ||
		got.Username != "x-access-token" || got.RotateEvery != 90*24*time.Hour || got.Version != 2 {
		t.Errorf("Get after Update: %+v", got.Meta)
	}

	clock.advance(time.Hour)
	m, err = s.Update("API_TOKEN", func(sec *Secret) error {
		sec.Value = NewValue([]byte("second-value"))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if m.Version != 3 || !m.Rotated.Equal(clock.now()) {
		t.Errorf("Update of the value: version %d rotated %v, want 3 and now", m.Version, m.Rotated)
	}

	clock.advance(time.Hour)
	m, err = s.Edit("API_TOKEN", Edit{Value: NewValue([]byte("third-value")), Rotate: true})
	if err != nil {
		t.Fatal(err)
	}
	if m.Version != 4 || !m.Rotated.Equal(clock.now()) || !m.Updated.Equal(clock.now()) || m.Description != "deploys the site" {
		t.Errorf("Rotate meta: %+v", m)
	}
	got, _ = s.Get("API_TOKEN")
	if !got.Value.Equal(NewValue([]byte("third-value"))) {
		t.Error("Get after Rotate: not the rotated value")
	}

	_, err = s.Update("API_TOKEN", func(sec *Secret) error { sec.Name = "OTHER_TOKEN"; return nil })
	wantErr(t, "rename by Update", err, ErrInvalidName, "API_TOKEN")
	_, err = s.Update("API_TOKEN", func(sec *Secret) error { sec.Value = Value{}; return nil })
	wantErr(t, "Update to an empty token", err, ErrInvalidValue, "API_TOKEN")
	boom := errors.New("boom")
	if _, err = s.Update("API_TOKEN", func(*Secret) error { return boom }); !errors.Is(err, boom) {
		t.Errorf("Update with failing fn: %v", err)
	}
	if got, _ := s.Get("API_TOKEN"); got.Version != 4 {
		t.Errorf("failed updates changed the version to %d", got.Version)
	}
	_, err = s.Edit("NO_SUCH_TOKEN", Edit{Value: NewValue([]byte("x")), Rotate: true})
	wantErr(t, "Rotate missing", err, ErrNotFound, "NO_SUCH_TOKEN")
	_, err = s.Update("NO_SUCH_TOKEN", func(*Secret) error { return nil })
	wantErr(t, "Update missing", err, ErrNotFound, "NO_SUCH_TOKEN")

	if err := s.Remove("API_TOKEN"); err != nil {
		t.Fatal(err)
	}
	_, err = s.Get("API_TOKEN")
	wantErr(t, "Get removed", err, ErrNotFound, "API_TOKEN")
	wantErr(t, "Remove twice", s.Remove("API_TOKEN"), ErrNotFound, "API_TOKEN")
	if metas, err := s.List(); err != nil || len(metas) != 0 {
		t.Errorf("List after Remove: %d metas, %v", len(metas), err)
	}
}

func TestLocked(t *testing.T) {
	s, _ := newTestStore(t)
	mustAdd(t, s, "API_TOKEN", TypeToken, "value-1")
	o, err := Open(s.Home())
	if err != nil {
		t.Fatal(err)
	}
	s.Lock()
	for _, st := range []*Store{o, s} {
		if !st.Locked() {
			t.Fatal("store not locked")
		}
		_, err := st.Get("API_TOKEN")
		wantErr(t, "Get", err, ErrLocked)
		_, err = st.List()
		wantErr(t, "List", err, ErrLocked)
		_, err = st.Add(Secret{Meta: Meta{Name: "NEW_TOKEN", Type: TypeToken}, Value: NewValue([]byte("v"))})
		wantErr(t, "Add", err, ErrLocked)
		_, err = st.Update("API_TOKEN", func(*Secret) error { return nil })
		wantErr(t, "Update", err, ErrLocked)
		_, err = st.Edit("API_TOKEN", Edit{Value: NewValue([]byte("v")), Rotate: true})
		wantErr(t, "Rotate", err, ErrLocked)
		wantErr(t, "Remove", st.Remove("API_TOKEN"), ErrLocked)
		_, err = st.AuditKey()
		wantErr(t, "AuditKey", err, ErrLocked)
		wantErr(t, "ChangePassphrase", st.ChangePassphrase([]byte("new")), ErrLocked)
	}
	if err := s.Unlock(testPass); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get("API_TOKEN"); err != nil {
		t.Fatal(err)
	}
}

// SECURITY.md item 1.
func TestWrongPassphraseThenWrite(t *testing.T) {
	s, _ := newTestStore(t)
	mustAdd(t, s, "API_TOKEN", TypeToken, "value-1")
	before := snapshot(t, s.Home())

	o, err := Open(s.Home())
	if err != nil {
		t.Fatal(err)
	}
	for _, wrong := range [][]byte{[]byte("wrong passphrase"), nil, append(slices.Clone(testPass), 'x')} {
		wantErr(t, "Unlock with a wrong passphrase", o.Unlock(wrong), ErrWrongPassphrase)
	}
	if !o.Locked() {
		t.Fatal("a wrong passphrase unlocked the store")
	}
	_, err = o.Add(Secret{Meta: Meta{Name: "NEW_TOKEN", Type: TypeToken}, Value: NewValue([]byte("v"))})
	wantErr(t, "Add after a wrong passphrase", err, ErrLocked)
	_, err = o.Edit("API_TOKEN", Edit{Value: NewValue([]byte("v2")), Rotate: true})
	wantErr(t, "Rotate after a wrong passphrase", err, ErrLocked)
	wantErr(t, "ChangePassphrase after a wrong passphrase", o.ChangePassphrase([]byte("other")), ErrLocked)
	if after := snapshot(t, s.Home()); after != before {
		t.Errorf("files changed after a wrong passphrase:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if err := o.Unlock(testPass); err != nil {
		t.Fatalf("right passphrase after wrong ones: %v", err)
	}
	if _, err := o.Get("API_TOKEN"); err != nil {
		t.Fatal(err)
	}
}

// SECURITY.md item 2.
func TestInitRefusals(t *testing.T) {
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	_, err := Init(home, InitOptions{KDF: testKDF})
	wantErr(t, "Init with no passphrase", err, ErrEmptyPassphrase, "empty", "passphrase")
	_, err = Init(home, InitOptions{Passphrase: []byte{}, KDF: testKDF})
	wantErr(t, "Init with an empty passphrase", err, ErrEmptyPassphrase)
	if _, err := os.Lstat(home); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused Init created %s", home)
	}

	_, err = Init(home, InitOptions{Backend: "vault", Passphrase: testPass, KDF: testKDF})
	wantErr(t, "unknown backend", err, errUnknownBackend, `"vault"`, "file", "secret-service", "keyctl", "pass")

	_, err = Init(home, InitOptions{Passphrase: testPass, KDF: KDFParams{Time: 1, MemoryKiB: 16, Threads: 1}})
	if err == nil || !strings.Contains(err.Error(), "memory") {
		t.Errorf("Init with 16 KiB of KDF memory: %v", err)
	}

	if _, err := Init(home, InitOptions{Passphrase: testPass, KDF: testKDF}); err != nil {
		t.Fatal(err)
	}
	_, err = Init(home, InitOptions{Passphrase: testPass, KDF: testKDF})
	wantErr(t, "Init twice", err, ErrAlreadyInit, home)

	_, err = Open(filepath.Join(dir, "nothing-here"))
	wantErr(t, "Open of a missing home", err, ErrNotInitialized)
	empty := filepath.Join(dir, "empty")
	if err := os.Mkdir(empty, 0o700); err != nil {
		t.Fatal(err)
	}
	_, err = Open(empty)
	wantErr(t, "Open of an empty home", err, ErrNotInitialized)

	s, _ := newTestStore(t)
	wantErr(t, "ChangePassphrase to empty", s.ChangePassphrase(nil), ErrEmptyPassphrase)
}

func TestInitDefaultKDFRecorded(t *testing.T) {
	// A non-default KDF is recorded in the header and used by Unlock.
	s, _ := newTestStore(t)
	b, err := os.ReadFile(filepath.Join(s.Home(), headerFile))
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		KDF struct {
			Alg       string `json:"alg"`
			Time      uint32 `json:"time"`
			MemoryKiB uint32 `json:"memory_kib"`
			Threads   uint8  `json:"threads"`
		} `json:"kdf"`
	}
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	if h.KDF.Alg != "argon2id" || h.KDF.Time != testKDF.Time || h.KDF.MemoryKiB != testKDF.MemoryKiB || h.KDF.Threads != testKDF.Threads {
		t.Errorf("header kdf %+v, want argon2id %+v", h.KDF, testKDF)
	}
	if err := DefaultKDF.Check(); err != nil {
		t.Errorf("DefaultKDF is out of bounds: %v", err)
	}
}

func TestAuditKey(t *testing.T) {
	s, _ := newTestStore(t)
	k1, err := s.AuditKey()
	if err != nil {
		t.Fatal(err)
	}
	if len(k1) != 32 {
		t.Fatalf("audit key of %d bytes", len(k1))
	}
	k2, err := reopen(t, s, testPass).AuditKey()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(k1, k2) {
		t.Error("audit key differs after reopening")
	}
	if err := s.ChangePassphrase([]byte("another passphrase")); err != nil {
		t.Fatal(err)
	}
	k3, err := reopen(t, s, []byte("another passphrase")).AuditKey()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(k1, k3) {
		t.Error("audit key changed with the passphrase")
	}
	other, _ := newTestStore(t)
	k4, _ := other.AuditKey()
	if bytes.Equal(k1, k4) {
		t.Error("two stores share an audit key")
	}
	s.mu.RLock()
	dataKey := slices.Clone(s.key)
	s.mu.RUnlock()
	if bytes.Equal(k1, dataKey) {
		t.Error("audit key is the data key")
	}
}

func TestChangePassphrase(t *testing.T) {
	s, _ := newTestStore(t)
	mustAdd(t, s, "API_TOKEN", TypeToken, "value-1")
	items := snapshot(t, filepath.Join(s.Home(), itemsDir))
	newPass := []byte("a new passphrase")
	if err := s.ChangePassphrase(newPass); err != nil {
		t.Fatal(err)
	}
	if after := snapshot(t, filepath.Join(s.Home(), itemsDir)); after != items {
		t.Error("ChangePassphrase rewrote items")
	}
	o, err := Open(s.Home())
	if err != nil {
		t.Fatal(err)
	}
	wantErr(t, "old passphrase", o.Unlock(testPass), ErrWrongPassphrase)
	if err := o.Unlock(newPass); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Get("API_TOKEN"); err != nil {
		t.Fatal(err)
	}
	// The store that changed it keeps working.
	mustAdd(t, s, "OTHER_TOKEN", TypeToken, "value-2")
	if _, err := o.Get("OTHER_TOKEN"); err != nil {
		t.Fatal(err)
	}
}

// A process that opened a store keeps writing correctly when another
// changed the passphrase, and refuses to write when home now holds another
// store.
func TestWriteChecksStoreIdentity(t *testing.T) {
	s, _ := newTestStore(t)
	mustAdd(t, s, "API_TOKEN", TypeToken, "value-1")
	o := reopen(t, s, testPass)
	if err := s.ChangePassphrase([]byte("changed")); err != nil {
		t.Fatal(err)
	}
	mustAdd(t, o, "AFTER_CHANGE_TOKEN", TypeToken, "value-2")

	// Replace the store in home by a new one.
	if err := os.RemoveAll(s.Home()); err != nil {
		t.Fatal(err)
	}
	if _, err := Init(s.Home(), InitOptions{Passphrase: testPass, KDF: testKDF}); err != nil {
		t.Fatal(err)
	}
	_, err := o.Add(Secret{Meta: Meta{Name: "STRAY_TOKEN", Type: TypeToken}, Value: NewValue([]byte("v"))})
	wantErr(t, "Add into a replaced store", err, ErrIntegrity, "another store")
	if _, err := os.Lstat(itemPath(s, "STRAY_TOKEN")); !errors.Is(err, os.ErrNotExist) {
		t.Error("an item was written into the replaced store")
	}
}

func TestInitRefusesLeftoverItems(t *testing.T) {
	s, _ := newTestStore(t)
	mustAdd(t, s, "API_TOKEN", TypeToken, "value-1")
	if err := os.Remove(filepath.Join(s.Home(), headerFile)); err != nil {
		t.Fatal(err)
	}
	_, err := Init(s.Home(), InitOptions{Passphrase: testPass, KDF: testKDF})
	if err == nil || !strings.Contains(err.Error(), "another store") {
		t.Errorf("Init over the items of a lost store: %v", err)
	}
	if _, err := os.Stat(itemPath(s, "API_TOKEN")); err != nil {
		t.Errorf("the old item is gone: %v", err)
	}
}

// Goroutines of one process updating the same secret lose no update.
func TestConcurrentUpdatesInProcess(t *testing.T) {
	s, _ := newTestStore(t)
	mustAdd(t, s, "COUNTER_TOKEN", TypeToken, "0")
	o := reopen(t, s, testPass)
	const workers, each = 6, 15
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		st := s
		if w%2 == 1 {
			st = o // two Store values on the same home
		}
		go func() {
			for i := 0; i < each; i++ {
				if _, err := st.Update("COUNTER_TOKEN", func(sec *Secret) error {
					n, err := strconv.Atoi(string(sec.Value.Bytes()))
					sec.Value = NewValue([]byte(strconv.Itoa(n + 1)))
					return err
				}); err != nil {
					errs <- err
					return
				}
				if _, err := st.Get("COUNTER_TOKEN"); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for w := 0; w < workers; w++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	sec, err := s.Get("COUNTER_TOKEN")
	if err != nil {
		t.Fatal(err)
	}
	if sec.Version != 1+workers*each || string(sec.Value.Bytes()) != strconv.Itoa(workers*each) {
		t.Errorf("after %d updates: version %d, counter lost updates: %v", workers*each, sec.Version, string(sec.Value.Bytes()) != strconv.Itoa(workers*each))
	}
}

// GetMany gives what Get gives for each name, in order; an error names
// the secret as Get's does.
func TestGetMany(t *testing.T) {
	st, _ := newTestStore(t)
	for _, n := range []string{"A_TOKEN", "B_TOKEN"} {
		if _, err := st.Add(Secret{Meta: Meta{Name: n, Type: TypeToken}, Value: NewValue([]byte("value-of-" + n))}); err != nil {
			t.Fatal(err)
		}
	}
	secs, err := st.GetMany([]string{"B_TOKEN", "A_TOKEN"})
	if err != nil || len(secs) != 2 || secs[0].Name != "B_TOKEN" || string(secs[0].Value.Bytes()) != "value-of-B_TOKEN" || string(secs[1].Value.Bytes()) != "value-of-A_TOKEN" {
		t.Fatalf("GetMany = %+v, %v", secs, err)
	}
	if _, err := st.GetMany([]string{"A_TOKEN", "NO_TOKEN"}); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "NO_TOKEN") {
		t.Errorf("GetMany of a missing name: %v", err)
	}
	if _, err := st.GetMany([]string{"../x"}); !errors.Is(err, ErrInvalidName) {
		t.Errorf("GetMany of an invalid name: %v", err)
	}
}
