package credhelper

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/wsxdev/wsx/audit"
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
	gets    map[string]int // Get calls by name
	listErr error
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
	for _, s := range f.m {
		out = append(out, copySecret(s).Meta)
	}
	slices.SortFunc(out, func(a, b store.Meta) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func (f *fakeSecrets) Get(name string) (store.Secret, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.locked {
		return store.Secret{}, store.ErrLocked
	}
	if f.gets == nil {
		f.gets = map[string]int{}
	}
	f.gets[name]++
	s, ok := f.m[name]
	if !ok {
		return store.Secret{}, fmt.Errorf("get %s: %w", name, store.ErrNotFound)
	}
	return copySecret(s), nil
}

func (f *fakeSecrets) Add(s store.Secret) (store.Meta, error) {
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

func (f *fakeSecrets) Update(name string, fn func(*store.Secret) error) (store.Meta, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.m[name]
	if !ok {
		return store.Meta{}, fmt.Errorf("update %s: %w", name, store.ErrNotFound)
	}
	s = copySecret(s)
	if err := fn(&s); err != nil {
		return store.Meta{}, err
	}
	s.Name = name
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

// record is one call to fakeAuditor.
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

func (a *fakeAuditor) Used(name string, ctx audit.Context) error {
	return a.add(record{event: audit.EventUsed, name: name, ctx: ctx})
}

func (a *fakeAuditor) Denied(name, detail string, ctx audit.Context) error {
	return a.add(record{event: audit.EventDenied, name: name, detail: detail, ctx: ctx})
}

func (a *fakeAuditor) Changed(ev audit.Event, name string, ctx audit.Context) error {
	return a.add(record{event: ev, name: name, ctx: ctx})
}

func (a *fakeAuditor) records() []record {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.recs)
}
