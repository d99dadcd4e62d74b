package store

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

// getValues reads names from s with GetMany and returns their values.
func getValues(t *testing.T, s *Store, names ...string) []string {
	t.Helper()
	secs, err := s.GetMany(names)
	if err != nil {
		t.Fatalf("GetMany %v: %v", names, err)
	}
	out := make([]string, len(secs))
	for i, sec := range secs {
		out[i] = string(sec.Value.Bytes())
	}
	return out
}

// warm reads names until s keeps their sealed items, and fails the test
// when it does not (no inotify).
func warm(t *testing.T, s *Store, names ...string) {
	t.Helper()
	for range 3 { // the second arms the watch, the third fills from it
		getValues(t, s, names...)
	}
	s.cacheMu.Lock()
	defer s.cacheMu.Unlock()
	if s.watch == nil {
		t.Skip("no inotify watch (instances exhausted?): nothing is kept")
	}
	for _, n := range names {
		if _, ok := s.seals.items[n]; !ok {
			t.Fatalf("%s is not kept after three reads", n)
		}
	}
}

// kept reports how many sealed items s keeps.
func kept(s *Store) int {
	s.cacheMu.Lock()
	defer s.cacheMu.Unlock()
	return len(s.seals.items)
}

// A command reads its secrets once and lists once: no watch for it. A
// second read of either kind (the agent's) arms one.
func TestWatchArmedAtSecondRead(t *testing.T) {
	s, _ := newTestStore(t)
	mustAdd(t, s, "ALPHA_TOKEN", TypeToken, "alpha-value")
	armed := func() bool {
		s.cacheMu.Lock()
		defer s.cacheMu.Unlock()
		return s.watch != nil
	}
	getValues(t, s, "ALPHA_TOKEN")
	if _, err := s.List(); err != nil {
		t.Fatal(err)
	}
	if armed() {
		t.Fatal("one GetMany and one List armed a watch")
	}
	getValues(t, s, "ALPHA_TOKEN")
	if !armed() {
		t.Skip("no inotify watch (instances exhausted?)")
	}
}

// With nothing changed, a GetMany answers from the kept sealed items and
// reads no file; what is kept is sealed, and Lock forgets it.
func TestGetManyKeepsSealedItems(t *testing.T) {
	s, _ := newTestStore(t)
	mustAdd(t, s, "ALPHA_TOKEN", TypeToken, "alpha-value")
	mustAdd(t, s, "BRAVO_TOKEN", TypeToken, "bravo-value")
	warm(t, s, "ALPHA_TOKEN", "BRAVO_TOKEN")
	s.seals.afterLook = func() { t.Error("GetMany read the item files with nothing changed") }
	if got := getValues(t, s, "BRAVO_TOKEN", "ALPHA_TOKEN"); got[0] != "bravo-value" || got[1] != "alpha-value" {
		t.Errorf("kept values: %q", got)
	}
	// Kept means sealed: the kept envelopes hold no value in the clear.
	s.cacheMu.Lock()
	for n, k := range s.seals.items {
		if strings.Contains(string(k.k.e.CT), "-value") {
			t.Errorf("%s kept in the clear", n)
		}
	}
	s.cacheMu.Unlock()
	s.seals.afterLook = nil
	s.Lock()
	if kept(s) != 0 {
		t.Error("Lock left sealed items kept")
	}
	if _, err := s.GetMany([]string{"ALPHA_TOKEN"}); !errors.Is(err, ErrLocked) {
		t.Errorf("GetMany when locked: %v", err)
	}
	// Unlocked again: what is learnt anew is of the new key.
	if err := s.Unlock(testPass); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if got := getValues(t, s, "ALPHA_TOKEN"); got[0] != "alpha-value" {
			t.Fatalf("after unlock: %q", got)
		}
	}
	s.cacheMu.Lock()
	defer s.cacheMu.Unlock()
	if k, ok := s.seals.items["ALPHA_TOKEN"]; !ok || k.k.layout.Load() == nil || k.k.layout.Load().keyGen != s.keyGen {
		t.Errorf("after unlock, ALPHA_TOKEN is not kept with a layout of the new key")
	}
}

// Changes made by another process, through the store or behind its back,
// are seen by the next GetMany: a rotation, a removal, an item renamed
// over another, a mode opened to others.
func TestGetManyFollowsOtherProcesses(t *testing.T) {
	s, _ := newTestStore(t)
	mustAdd(t, s, "ALPHA_TOKEN", TypeToken, "alpha-value")
	mustAdd(t, s, "BRAVO_TOKEN", TypeToken, "bravo-value")
	mustAdd(t, s, "CHARLIE_TOKEN", TypeToken, "charlie-value")
	all := []string{"ALPHA_TOKEN", "BRAVO_TOKEN", "CHARLIE_TOKEN"}
	warm(t, s, all...)

	// Rotated by another process (the CLI without the agent).
	if out, err := helperCmd(t, "rotate", s.Home(), string(testPass), "ALPHA_TOKEN", "alpha-rotated").CombinedOutput(); err != nil {
		t.Fatalf("rotate in another process: %v: %s", err, out)
	}
	if got := getValues(t, s, all...); got[0] != "alpha-rotated" {
		t.Fatalf("after a rotation elsewhere: %q", got)
	}
	warm(t, s, all...)

	// Removed by another store.
	o := reopen(t, s, testPass)
	if err := o.Remove("BRAVO_TOKEN"); err != nil {
		t.Fatal(err)
	}
	_, err := s.GetMany(all)
	wantErr(t, "GetMany of a removed secret", err, ErrNotFound, "BRAVO_TOKEN")
	warm(t, s, "ALPHA_TOKEN", "CHARLIE_TOKEN")

	// CHARLIE's item renamed over ALPHA's.
	if err := os.Rename(itemPath(s, "CHARLIE_TOKEN"), itemPath(s, "ALPHA_TOKEN")); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetMany([]string{"ALPHA_TOKEN"})
	wantErr(t, "GetMany of a swapped item", err, ErrIntegrity, "ALPHA_TOKEN")
	mustAdd(t, o, "CHARLIE_TOKEN", TypeToken, "charlie-again")
	if _, err := o.Update("ALPHA_TOKEN", func(sec *Secret) error { return nil }); err == nil {
		t.Fatal("Update of the swapped item succeeded")
	}
	if err := o.Remove("ALPHA_TOKEN"); err != nil {
		t.Fatal(err)
	}
	mustAdd(t, o, "ALPHA_TOKEN", TypeToken, "alpha-new")
	warm(t, s, "ALPHA_TOKEN", "CHARLIE_TOKEN")
	if got := getValues(t, s, "ALPHA_TOKEN", "CHARLIE_TOKEN"); got[0] != "alpha-new" || got[1] != "charlie-again" {
		t.Fatalf("after re-adding: %q", got)
	}

	// An item opened to others is refused at once, as an uncached read
	// refuses it.
	if err := os.Chmod(itemPath(s, "ALPHA_TOKEN"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetMany([]string{"ALPHA_TOKEN"})
	wantErr(t, "GetMany of an item open to others", err, ErrUnsafePermission, "chmod 600")
}

// A change between the look at the watch and the read of the files, or
// between the read and the keeping of what was read, is never served
// after the change: the first read may return the value before it (the
// use came first), every read after the change returns the new one.
func TestGetManyRacesWithChanges(t *testing.T) {
	for _, stage := range []string{"afterLook", "afterRead", "afterRead+reader"} {
		t.Run(stage, func(t *testing.T) {
			s, _ := newTestStore(t)
			mustAdd(t, s, "ALPHA_TOKEN", TypeToken, "value-0")
			mustAdd(t, s, "BRAVO_TOKEN", TypeToken, "bravo-value")
			warm(t, s, "BRAVO_TOKEN") // ALPHA is not kept: its read goes to the file
			o := reopen(t, s, testPass)
			n := 0
			change := func() {
				n++
				if _, err := o.Edit("ALPHA_TOKEN", Edit{Value: NewValue(fmt.Appendf(nil, "value-%d", n)), SetValue: true}); err != nil {
					t.Fatal(err)
				}
				if stage == "afterRead+reader" {
					// Another request of the same agent looks at the
					// watch, and keeps the new item, before this one
					// keeps the old.
					if got := getValues(t, s, "ALPHA_TOKEN"); got[0] != fmt.Sprintf("value-%d", n) {
						t.Errorf("concurrent read after change %d: %q", n, got)
					}
				}
			}
			hook := func() {
				s.seals.afterLook, s.seals.afterRead = nil, nil // once
				change()
			}
			if stage == "afterLook" {
				s.seals.afterLook = hook
			} else {
				s.seals.afterRead = hook
			}
			first := getValues(t, s, "ALPHA_TOKEN", "BRAVO_TOKEN")
			if stage == "afterLook" && first[0] != "value-1" {
				t.Errorf("read after the change returned %q", first[0])
			}
			for i := range 3 {
				if got := getValues(t, s, "ALPHA_TOKEN", "BRAVO_TOKEN"); got[0] != "value-1" || got[1] != "bravo-value" {
					t.Fatalf("read %d after the change: %q", i, got)
				}
			}
		})
	}
}

// What is kept is bounded: items over the size limit are read each time,
// and once the bytes limit is reached nothing more is kept.
func TestGetManyKeepsBounded(t *testing.T) {
	defer func(item, total int) { maxCachedItem, maxCachedBytes = item, total }(maxCachedItem, maxCachedBytes)
	maxCachedItem, maxCachedBytes = 1024, 3*(400+cacheEntryCost)
	s, _ := newTestStore(t)
	var names []string
	for i := range 8 {
		names = append(names, fmt.Sprintf("TOKEN_%d", i))
		mustAdd(t, s, names[i], TypeToken, fmt.Sprintf("value-%d", i))
	}
	mustAdd(t, s, "BIG_FILE", TypeFile, strings.Repeat("x", 2048))
	for range 4 {
		getValues(t, s, append(names, "BIG_FILE")...)
	}
	s.cacheMu.Lock()
	defer s.cacheMu.Unlock()
	if s.watch == nil {
		t.Skip("no inotify watch")
	}
	if len(s.seals.items) == 0 || len(s.seals.items) >= len(names) || s.seals.bytes > maxCachedBytes {
		t.Errorf("kept %d items, %d bytes; limit %d bytes", len(s.seals.items), s.seals.bytes, maxCachedBytes)
	}
	if _, ok := s.seals.items["BIG_FILE"]; ok {
		t.Error("an item over maxCachedItem was kept")
	}
}

// A kept item is opened the second time by the layout its first opening
// found: the same secret, metadata and values, as a full opening gives,
// for every kind of item; the layout holds no value; and a layout that
// does not fit the plaintext falls back to the full opening.
func TestOpenKeptByLayout(t *testing.T) {
	s, _ := newTestStore(t)
	s.SetClock(func() time.Time { return time.Date(2025, 1, 2, 3, 4, 5, 123456789, time.FixedZone("X", 3600)) })
	mustAdd(t, s, "PLAIN_TOKEN", TypeToken, "plain-value-0123")
	if _, err := s.Add(Secret{Meta: Meta{Name: "GIT_TOKEN", Type: TypePassword, Description: `quote " <tag> & é`,
		Hosts: []string{"git.example.com"}, Username: "bob", RotateEvery: time.Hour},
		Value: NewValue([]byte("git\"value<&>\u2028"))}); err != nil {
		t.Fatal(err)
	}
	mustAdd(t, s, "ROTATED_TOKEN", TypeToken, "old-value-0123")
	if _, err := s.Edit("ROTATED_TOKEN", Edit{Value: NewValue([]byte("new-value-0123")), Rotate: true}); err != nil {
		t.Fatal(err)
	}
	k := testKeys(t)[0]
	if _, err := s.Add(Secret{Meta: Meta{Name: "SSH_KEY", Type: TypeKey}, Value: NewValue(k.pem)}); err != nil {
		t.Fatal(err)
	}
	mustAdd(t, s, "BINARY_FILE", TypeFile, "\x00\xff\n\x01")
	names := []string{"PLAIN_TOKEN", "GIT_TOKEN", "ROTATED_TOKEN", "SSH_KEY", "BINARY_FILE"}
	g, id, err := s.reader()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		want, err := s.Get(n)
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(itemPath(s, n))
		if err != nil {
			t.Fatal(err)
		}
		e, err := parseEnvelope(b)
		if err != nil {
			t.Fatal(err)
		}
		kept := &keptItem{e: e, learn: true}
		for i := range 3 {
			got, err := openKept(g, s.keyGen, id, n, kept)
			if err != nil {
				t.Fatalf("%s opening %d: %v", n, i, err)
			}
			if !reflect.DeepEqual(got.Meta, want.Meta) || !got.Value.Equal(want.Value) || !got.PreviousValue.Equal(want.PreviousValue) {
				t.Errorf("%s opening %d: %+v, want %+v", n, i, got.Meta, want.Meta)
			}
			l := kept.layout.Load()
			if l == nil {
				t.Fatalf("%s: no layout after opening %d", n, i)
			}
			for _, v := range [][]byte{want.Value.Bytes(), want.PreviousValue.Bytes()} {
				if len(v) > 0 && bytes.Contains(l.head, v) {
					t.Errorf("%s: the layout holds a value", n)
				}
			}
			// What is returned is a copy: changing it changes no later one.
			got.Meta.Hosts = append(got.Meta.Hosts, "evil.example")
			if got.Meta.Previous != nil {
				got.Meta.Previous.Version = 99
			}
		}
		// The openings after the first take the metadata from the layout.
		marked := *kept.layout.Load()
		marked.meta.Description = "from the layout"
		kept.layout.Store(&marked)
		if got, err := openKept(g, s.keyGen, id, n, kept); err != nil || got.Description != "from the layout" || !got.Value.Equal(want.Value) {
			t.Errorf("%s: the layout was not used: %q, %v", n, got.Description, err)
		}
		// A layout that does not fit the plaintext is not used, and is
		// replaced.
		bad := marked
		bad.head = append([]byte(nil), bad.head...)
		bad.head[len(bad.head)-12] ^= 1
		kept.layout.Store(&bad)
		if got, err := openKept(g, s.keyGen, id, n, kept); err != nil || !reflect.DeepEqual(got.Meta, want.Meta) || !got.Value.Equal(want.Value) {
			t.Errorf("%s with a layout that does not fit: %+v, %v", n, got.Meta, err)
		}
		if kept.layout.Load() == &bad {
			t.Errorf("%s: the layout that did not fit was kept", n)
		}
	}
}

// Readers of one Store and a writer in another, at once: every read
// returns a value the secret had, and once the writer is done every read
// returns its last one.
func TestGetManyConcurrentWithWrites(t *testing.T) {
	s, _ := newTestStore(t)
	mustAdd(t, s, "ALPHA_TOKEN", TypeToken, "value-0")
	mustAdd(t, s, "BRAVO_TOKEN", TypeToken, "bravo-value")
	warm(t, s, "ALPHA_TOKEN", "BRAVO_TOKEN")
	o := reopen(t, s, testPass)
	const writes = 30
	done := make(chan struct{})
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			for {
				select {
				case <-done:
					errs <- nil
					return
				default:
				}
				secs, err := s.GetMany([]string{"ALPHA_TOKEN", "BRAVO_TOKEN"})
				if err != nil {
					errs <- err
					return
				}
				v := string(secs[0].Value.Bytes())
				var n int
				if _, err := fmt.Sscanf(v, "value-%d", &n); err != nil || n < 0 || n > writes || string(secs[1].Value.Bytes()) != "bravo-value" {
					errs <- fmt.Errorf("read %q, %q", v, secs[1].Value.Bytes())
					return
				}
			}
		}()
	}
	for i := 1; i <= writes; i++ {
		if _, err := o.Edit("ALPHA_TOKEN", Edit{Value: NewValue(fmt.Appendf(nil, "value-%d", i)), SetValue: true}); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		if got := getValues(t, s, "ALPHA_TOKEN"); got[0] != fmt.Sprintf("value-%d", writes) {
			t.Fatalf("after the writes: %q", got)
		}
	}
}
