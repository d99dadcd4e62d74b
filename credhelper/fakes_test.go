package credhelper

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/wsxdev/wsx/audit"
	"github.com/wsxdev/wsx/internal/release"
	"github.com/wsxdev/wsx/store"
)

// canary is the value the tests hand out; it must never appear on stderr
// or in an error.
const canary = "wsx-canary-5c81e2b4d7"

// fakeSecrets is an in-memory Secrets behaving like the store: names are
// validated, case-only duplicates refused, every write counted.
type fakeSecrets struct {
	mu      sync.Mutex
	m       map[string]store.Secret
	now     func() time.Time
	locked  bool
	writes  int
	gets    map[string]int // values read, by name
	listErr error
	aud     *fakeAuditor // where uses and other events are recorded
	// damaged are secrets that cannot be read: List leaves them out and
	// names them in a *store.DamagedError; every other read fails.
	damaged map[string]error
}

func newFakeSecrets(now func() time.Time, secs ...store.Secret) *fakeSecrets {
	f := &fakeSecrets{m: map[string]store.Secret{}, now: now}
	for _, s := range secs {
		if s.Created.IsZero() {
			s.Created = now()
		}
		s.Updated = s.Created
		s.Version = 1
		f.m[s.Name] = s
	}
	return f
}

func copySecret(s store.Secret) store.Secret {
	s.Hosts = slices.Clone(s.Hosts)
	s.Value = store.NewValue(s.Value.Bytes())
	return s
}

func (f *fakeSecrets) List() ([]store.Meta, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.locked {
		return nil, store.ErrLocked
	}
	if f.listErr != nil {
		return nil, f.listErr
	}
	var out []store.Meta
	var dmg store.DamagedError
	for _, s := range f.m {
		if err, ok := f.damaged[s.Name]; ok {
			dmg.Names, dmg.Errs = append(dmg.Names, s.Name), append(dmg.Errs, err)
			continue
		}
		out = append(out, copySecret(s).Meta)
	}
	slices.SortFunc(out, func(a, b store.Meta) int { return strings.Compare(a.Name, b.Name) })
	if len(dmg.Names) > 0 {
		return out, &dmg
	}
	return out, nil
}

// readErr is the error reading the secret called name fails with, if any.
func (f *fakeSecrets) readErr(name string) error {
	if err, ok := f.damaged[name]; ok {
		return fmt.Errorf("secret %s: %w", name, err)
	}
	return nil
}

// Use records each use with the auditor, then returns the values, as
// release.Store does: nothing when a record cannot be written.
func (f *fakeSecrets) Use(_ context.Context, names []string, rec release.Record) ([]store.Secret, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.locked {
		return nil, store.ErrLocked
	}
	if f.gets == nil {
		f.gets = map[string]int{}
	}
	var out []store.Secret
	for _, name := range names {
		if err := f.readErr(name); err != nil {
			return nil, err
		}
		f.gets[name]++
		s, ok := f.m[name]
		if !ok {
			return nil, fmt.Errorf("use %s: %w", name, store.ErrNotFound)
		}
		s = copySecret(s)
		s.PreviousValue = store.Value{}
		out = append(out, s)
	}
	for _, name := range names {
		if err := f.aud.add(record{event: audit.EventUsed, name: name, ctx: rec.Context}); err != nil {
			return nil, fmt.Errorf("audit log unavailable, so %s was not released: %w", name, err)
		}
	}
	return out, nil
}

func (f *fakeSecrets) Compare(name string, v store.Value) (store.Match, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.locked {
		return store.MatchNone, store.ErrLocked
	}
	if err := f.readErr(name); err != nil {
		return store.MatchNone, err
	}
	s, ok := f.m[name]
	switch {
	case !ok:
		return store.MatchNone, fmt.Errorf("compare %s: %w", name, store.ErrNotFound)
	case s.Value.Equal(v):
		return store.MatchCurrent, nil
	case s.Previous != nil && s.PreviousValue.Equal(v):
		return store.MatchPrevious, nil
	}
	return store.MatchNone, nil
}

func (f *fakeSecrets) Record(rs ...audit.Record) error {
	for _, r := range rs {
		var ctx audit.Context
		if r.Context != nil {
			ctx = *r.Context
		}
		if err := f.aud.add(record{event: r.Event, name: r.Secret, detail: r.Detail, ctx: ctx}); err != nil {
			return err
		}
	}
	return nil
}

func (f *fakeSecrets) Add(s store.Secret, _ ...store.AddOptions) (store.Meta, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := store.ValidateName(s.Name); err != nil {
		return store.Meta{}, err
	}
	for n := range f.m {
		if strings.EqualFold(n, s.Name) {
			return store.Meta{}, fmt.Errorf("add %s: %w", s.Name, store.ErrExists)
		}
	}
	s = copySecret(s)
	s.Created = f.now()
	s.Updated = s.Created
	s.Version = 1
	f.m[s.Name] = s
	f.writes++
	return s.Meta, nil
}

// Edit applies e as the store does (store.Edit.Apply).
func (f *fakeSecrets) Edit(name string, e store.Edit) (store.Meta, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.readErr(name); err != nil {
		return store.Meta{}, err
	}
	s, ok := f.m[name]
	if !ok {
		return store.Meta{}, fmt.Errorf("edit %s: %w", name, store.ErrNotFound)
	}
	s = copySecret(s)
	if err := e.Apply(&s); err != nil {
		return store.Meta{}, err
	}
	if !e.Value.IsZero() {
		s.Rotated = f.now()
	}
	s.Version++
	s.Updated = f.now()
	f.m[name] = s
	f.writes++
	return s.Meta, nil
}

func (f *fakeSecrets) Remove(name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.m[name]; !ok {
		return fmt.Errorf("remove %s: %w", name, store.ErrNotFound)
	}
	delete(f.m, name)
	f.writes++
	return nil
}

func (f *fakeSecrets) has(name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.m[name]
	return ok
}

func (f *fakeSecrets) stored() []store.Secret {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []store.Secret
	for _, s := range f.m {
		if IsStored(s.Meta) {
			out = append(out, copySecret(s))
		}
	}
	return out
}

func (f *fakeSecrets) writeCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.writes
}

// record is one record fakeSecrets wrote.
type record struct {
	event  audit.Event
	name   string
	detail string
	ctx    audit.Context
}

type fakeAuditor struct {
	mu   sync.Mutex
	recs []record
	fail bool
}

var errAuditDown = errors.New("audit file unwritable")

func (a *fakeAuditor) add(r record) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.fail {
		return errAuditDown
	}
	a.recs = append(a.recs, r)
	return nil
}

func (a *fakeAuditor) records() []record {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.recs)
}
