package secrets

import (
	"context"
	"time"

	"github.com/wsxdev/wsx/audit"
	"github.com/wsxdev/wsx/internal/release"
	"github.com/wsxdev/wsx/store"
)

// Store is what the commands need from the store: the store opened in
// this process (Local), or the wsx agent's through its local API (with
// Fallback), so every command works the same either way. Values leave it
// only through Use, which records the use first (release.Releaser); the
// other methods return none.
type Store interface {
	release.Releaser
	List() ([]store.Meta, error)
	// Stat returns a secret's metadata and the size of its value.
	Stat(name string) (store.Meta, int, error)
	Add(sec store.Secret, opts ...store.AddOptions) (store.Meta, error)
	Edit(name string, e store.Edit) (store.Meta, error)
	Remove(name string) error
	// Compare says which value of the secret v is.
	Compare(name string, v store.Value) (store.Match, error)
	// Record appends records of this command's events other than uses.
	Record(rs ...audit.Record) error
	// VerifyAudit checks the audit log with its MAC key.
	VerifyAudit() (audit.VerifyResult, error)
}

// Local is an unlocked store opened in this process, with its audit log
// beside it, opened at the first record.
type Local struct {
	St        *store.Store
	AuditPath string
	Self      release.Peer // this process, the actor of its records
	rel       *release.Store
}

// localSyncDelay bounds how long a record appended here waits for an
// fsync that release.Store does not make itself.
const localSyncDelay = 5 * time.Millisecond

// Released returns the release path of the store, opening its audit log
// on first use. The store must be unlocked: the log's MACs are keyed by it.
func (l *Local) Released() (*release.Store, error) {
	if l.rel != nil {
		return l.rel, nil
	}
	key, err := l.St.AuditKey()
	if err != nil {
		return nil, err
	}
	defer clear(key)
	// Group commit: the records of one command share one fsync, which
	// release.Store makes before it returns (Durable).
	lg, err := audit.OpenWith(l.AuditPath, key, audit.Options{SyncDelay: localSyncDelay})
	if err != nil {
		return nil, err
	}
	l.rel = release.New(l.St, lg, release.Options{Self: l.Self, Durable: true})
	return l.rel, nil
}

// CloseLog closes the audit log, if it was opened.
func (l *Local) CloseLog() {
	if l.rel != nil {
		l.rel.Close()
		l.rel = nil
	}
}

func (l *Local) List() ([]store.Meta, error) { return l.St.List() }

func (l *Local) Stat(name string) (store.Meta, int, error) {
	sec, err := l.St.Get(name)
	return sec.Meta, sec.Value.Len(), err
}

func (l *Local) Add(sec store.Secret, opts ...store.AddOptions) (store.Meta, error) {
	m, err := l.St.Add(sec, opts...)
	l.changed(err)
	return m, err
}

func (l *Local) Edit(name string, e store.Edit) (store.Meta, error) {
	m, err := l.St.Edit(name, e)
	l.changed(err)
	return m, err
}

func (l *Local) Remove(name string) error {
	err := l.St.Remove(name)
	l.changed(err)
	return err
}

// changed tells the release path that the values changed, after a write
// that succeeded: a new value must be masked in the records that follow.
func (l *Local) changed(err error) {
	if err == nil && l.rel != nil {
		l.rel.Changed()
	}
}

func (l *Local) Compare(name string, v store.Value) (store.Match, error) {
	return l.St.Compare(name, v)
}

func (l *Local) Use(ctx context.Context, names []string, rec release.Record) ([]store.Secret, error) {
	rel, err := l.Released()
	if err != nil {
		return nil, err
	}
	return rel.Use(ctx, names, rec)
}

func (l *Local) Record(rs ...audit.Record) error {
	rel, err := l.Released()
	if err != nil {
		return err
	}
	return rel.Record(rs...)
}

func (l *Local) VerifyAudit() (audit.VerifyResult, error) {
	return release.Verify(l.St, l.AuditPath)
}

// Fallback is the store as the wsx agent serves it (Agent). When a
// request fails in a way Gone recognises (the agent went away between two
// requests, as `wsx agent CMD` does when CMD ends; or, for a client that
// did not ask the agent's status first, an agent that is locked), the
// request is made again on the store Direct returns, and every later one
// goes there. Nothing was done by such a request, so making it again is
// safe.
type Fallback struct {
	Agent  Store
	Gone   func(error) bool
	Direct func() (Store, error)
	then   Store // Direct's store, once a request fell back
}

// again runs op on the agent's store, and on the one Direct returns once
// the agent is gone.
func again[T any](d *Fallback, op func(Store) (T, error)) (T, error) {
	if d.then != nil {
		return op(d.then)
	}
	v, err := op(d.Agent)
	if err == nil || !d.Gone(err) {
		return v, err
	}
	st, err := d.Direct()
	if err != nil {
		var zero T
		return zero, err
	}
	d.then = st
	return op(st)
}

// again0 is again for an operation that returns only an error.
func again0(d *Fallback, op func(Store) error) error {
	_, err := again(d, func(st Store) (struct{}, error) { return struct{}{}, op(st) })
	return err
}

func (d *Fallback) List() ([]store.Meta, error) {
	return again(d, func(st Store) ([]store.Meta, error) { return st.List() })
}

func (d *Fallback) Stat(name string) (store.Meta, int, error) {
	var size int
	m, err := again(d, func(st Store) (store.Meta, error) {
		m, n, err := st.Stat(name)
		size = n
		return m, err
	})
	return m, size, err
}

func (d *Fallback) Add(sec store.Secret, opts ...store.AddOptions) (store.Meta, error) {
	return again(d, func(st Store) (store.Meta, error) { return st.Add(sec, opts...) })
}

func (d *Fallback) Edit(name string, e store.Edit) (store.Meta, error) {
	return again(d, func(st Store) (store.Meta, error) { return st.Edit(name, e) })
}

func (d *Fallback) Remove(name string) error {
	return again0(d, func(st Store) error { return st.Remove(name) })
}

func (d *Fallback) Compare(name string, v store.Value) (store.Match, error) {
	return again(d, func(st Store) (store.Match, error) { return st.Compare(name, v) })
}

func (d *Fallback) Use(ctx context.Context, names []string, rec release.Record) ([]store.Secret, error) {
	return again(d, func(st Store) ([]store.Secret, error) { return st.Use(ctx, names, rec) })
}

// UseSelected is the agent's release.Selector; a store that does not
// choose itself answers release.ErrChooseHere.
func (d *Fallback) UseSelected(ctx context.Context, sel release.Selection, rec release.Record) (release.Choice, []store.Secret, error) {
	var choice release.Choice
	secs, err := again(d, func(st Store) ([]store.Secret, error) {
		s, ok := st.(release.Selector)
		if !ok {
			return nil, release.ErrChooseHere
		}
		var err error
		var secs []store.Secret
		choice, secs, err = s.UseSelected(ctx, sel, rec)
		return secs, err
	})
	return choice, secs, err
}

func (d *Fallback) Record(rs ...audit.Record) error {
	return again0(d, func(st Store) error { return st.Record(rs...) })
}

func (d *Fallback) VerifyAudit() (audit.VerifyResult, error) {
	return again(d, func(st Store) (audit.VerifyResult, error) { return st.VerifyAudit() })
}
