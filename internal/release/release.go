// Package release is the one way a value leaves wsx: "record, then
// release". A Releaser's Use writes one `used` record per secret (one
// request, one fsync for the batch) and only then returns the values; when
// the records cannot be written it returns none. Feature packages (exec,
// credhelper) consume the interface; Store implements it over a store
// opened here and its audit log, and the daemon's client implements it
// over the agent's API, whose handler calls Store.UseBy.
//
// Store is also the one writer of audit records: every record, of a use or
// of any other event, is masked (audit.Mask) with every stored value,
// current and previous, before it is appended, so no value reaches the
// log through a caller's argv, command or detail.
package release

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"

	"github.com/wsxdev/wsx/audit"
	"github.com/wsxdev/wsx/internal/caller"
	"github.com/wsxdev/wsx/internal/mask"
	"github.com/wsxdev/wsx/store"
)

// Record is what the caller says of a use, for its records.
type Record struct {
	// Via is the part of wsx that uses the values (audit.ViaExec,
	// audit.ViaCredential, ...). It also says how the caller is found
	// (caller.Describe).
	Via string
	// Context is what the caller knows of the use: the command it runs,
	// the host git asked for. Through the agent, fields the agent cannot
	// check are recorded as claimed (audit.Context.Claimed).
	Context audit.Context
	// Places gives, per secret, the script line that names it.
	Places map[string]Place
}

// Place is a line of a script.
type Place struct {
	File string `json:"file"`
	Line int    `json:"line"`
}

// Releaser hands out values. Use is the only method that returns them.
type Releaser interface {
	// Use records the use of each secret in names, then returns them in
	// that order: the current values only. An error means that nothing is
	// released.
	Use(ctx context.Context, names []string, rec Record) ([]store.Secret, error)
}

// MaxNames bounds the secrets of one Use.
const MaxNames = 1024

// Peer is who asks: the process whose facts go into the records, and the
// user it runs as.
type Peer struct {
	PID   int
	Actor audit.Actor
	// Remote is set for a request that came over the agent's socket: what
	// the client says of the context is then a claim.
	Remote bool
	// Conn, when set, is the connection the request came on: its process
	// facts are read once per connection (caller.Conn); else from PID at
	// every record.
	Conn *caller.Conn
}

// describe returns p's process and what its process facts say of the
// context, for a record made via via.
func (p Peer) describe(via string) (*audit.Process, audit.Context) {
	if p.Conn != nil {
		return p.Conn.Describe(via)
	}
	return caller.Describe(p.PID, via)
}

// Store releases the values of a store and writes its audit log.
type Store struct {
	st      *store.Store
	log     *audit.Log
	self    Peer
	durable bool

	mu    sync.Mutex
	masks [][]byte // every stored value; nil until needed, dropped by Changed
	gen   uint64   // bumped by Changed
}

// Options configure a Store.
type Options struct {
	// Self is who Use and Record act for.
	Self Peer
	// Durable makes Use and Record fsync before they return. Without it
	// the log's group commit makes records durable (the daemon).
	Durable bool
}

// New returns a Store over st, unlocked, and log, the audit log keyed by it.
func New(st *store.Store, log *audit.Log, opts Options) *Store {
	return &Store{st: st, log: log, self: opts.Self, durable: opts.Durable}
}

// Close closes the log and forgets the values kept for masking.
func (s *Store) Close() error {
	s.mu.Lock()
	s.masks = nil
	s.gen++
	s.mu.Unlock()
	return s.log.Close()
}

// Changed says that the store changed: the values to mask are read again.
func (s *Store) Changed() {
	s.mu.Lock()
	s.masks = nil
	s.gen++
	s.mu.Unlock()
}

// Use is UseBy for the Store's own process.
func (s *Store) Use(_ context.Context, names []string, rec Record) ([]store.Secret, error) {
	return s.UseBy(s.self, names, rec)
}

// UseBy records the use of names by p, then returns their current values.
// Each record's process and context are found from p's pid
// (caller.Describe, or once per connection: Peer.Conn); what rec says fills the rest, marked as claimed when
// p is remote.
func (s *Store) UseBy(p Peer, names []string, rec Record) ([]store.Secret, error) {
	if len(names) == 0 || len(names) > MaxNames {
		return nil, fmt.Errorf("use 1 to %d secrets, not %d: %w", MaxNames, len(names), store.ErrInvalidName)
	}
	seen := make(map[string]bool, len(names))
	for _, n := range names {
		if seen[n] {
			return nil, fmt.Errorf("secret %s named twice: %w", n, store.ErrInvalidName)
		}
		seen[n] = true
	}
	secs, err := s.st.GetMany(names)
	if err != nil {
		return nil, err
	}
	for i := range secs {
		// A rotation's previous value is never released.
		secs[i].PreviousValue = store.Value{}
	}
	proc, found := p.describe(rec.Via)
	if proc == nil {
		proc = &audit.Process{PID: p.PID}
	}
	rs := make([]audit.Record, len(secs))
	var shared *audit.Context // the context of the secrets without a place
	for i, sec := range secs {
		var ctx *audit.Context
		if pl, ok := rec.Places[sec.Name]; ok {
			claim := rec.Context
			claim.File, claim.Line = pl.File, pl.Line
			ctx = contextOf(found, claim, p.Remote)
		} else {
			if shared == nil {
				shared = contextOf(found, rec.Context, p.Remote)
			}
			ctx = shared
		}
		rs[i] = audit.Record{Event: audit.EventUsed, Secret: sec.Name, Via: rec.Via, Result: audit.ResultOK,
			Actor: p.Actor, Process: proc, Context: ctx}
	}
	if err := s.appendAll(rs); err != nil {
		return nil, fmt.Errorf("audit log unavailable, so %s was not released: %w", strings.Join(names, ", "), err)
	}
	return secs, nil
}

// contextOf is the context the process facts gave, completed by what the
// caller claims.
func contextOf(found, claim audit.Context, remote bool) *audit.Context {
	found.Claim(claim)
	if !remote {
		found.Claimed = nil // the process that asked is this one
	}
	if isZero(found) {
		return nil
	}
	return &found
}

func isZero(c audit.Context) bool {
	return c.Command == "" && c.File == "" && c.Line == 0 && c.Repo == "" && c.Remote == "" && c.Branch == "" &&
		c.Commit == "" && c.Protocol == "" && c.Host == "" && c.Path == "" && c.Dest == ""
}

// errUseOnly refuses a record of a use sent without the use: values are
// recorded as used by Use alone.
var errUseOnly = errors.New("a use is recorded by using the secret")

// Record is RecordBy for the Store's own process.
func (s *Store) Record(rs ...audit.Record) error { return s.RecordBy(s.self, rs) }

// RecordBy appends rs, records of events other than a use (created,
// updated, rotated, deleted, denied, leaked; granted and revoked when p
// is not remote), made by p: the actor and process are
// p's, each record's context is completed from p's process as for a use.
func (s *Store) RecordBy(p Peer, rs []audit.Record) error {
	if len(rs) == 0 || len(rs) > MaxNames {
		return fmt.Errorf("%w: send 1 to %d records, not %d", audit.ErrInvalidRecord, MaxNames, len(rs))
	}
	out := make([]audit.Record, len(rs))
	for i, r := range rs {
		switch r.Event {
		case audit.EventCreated, audit.EventUpdated, audit.EventRotated, audit.EventDeleted, audit.EventDenied, audit.EventAccessed,
			audit.EventPassphrase, audit.EventLeaked, audit.EventFetched:
		case audit.EventGranted, audit.EventRevoked:
			// Written by whoever changes the grants: the agent, or a
			// command that opened the store itself; never sent by a client.
			if p.Remote {
				return fmt.Errorf("%w: event %q is the agent's own", audit.ErrInvalidRecord, r.Event)
			}
		case audit.EventUsed:
			return fmt.Errorf("%w: %w", audit.ErrInvalidRecord, errUseOnly)
		default:
			return fmt.Errorf("%w: event %q is the agent's own", audit.ErrInvalidRecord, r.Event)
		}
		proc, found := p.describe(r.Via)
		if proc == nil {
			proc = &audit.Process{PID: p.PID}
		}
		var claim audit.Context
		if r.Context != nil {
			claim = *r.Context
		}
		r.Actor, r.Process, r.Context = p.Actor, proc, contextOf(found, claim, p.Remote)
		out[i] = r
	}
	return s.appendAll(out)
}

// appendAll appends rs in order, masked, with one write to the log; with
// Durable, it returns once they are on disk. On an error none is
// appended, and nothing is released.
func (s *Store) appendAll(rs []audit.Record) error {
	vals := s.values()
	masked := make([]audit.Record, len(rs))
	for i, r := range rs {
		if i > 0 && sameText(r, rs[i-1]) {
			// The records of one use share their process and context:
			// masked once.
			m := r
			m.Process, m.Context, m.Detail = masked[i-1].Process, masked[i-1].Context, masked[i-1].Detail
			masked[i] = m
			continue
		}
		masked[i] = audit.Mask(r, vals)
	}
	if _, err := s.log.AppendAll(masked); err != nil {
		return err
	}
	if s.durable {
		return s.log.Sync()
	}
	return nil
}

// sameText reports whether a and b hold the same text that Mask masks:
// the same Process and Context (by pointer) and Detail.
func sameText(a, b audit.Record) bool {
	return a.Process == b.Process && a.Context == b.Context && a.Detail == b.Detail
}

// Append masks r (audit.Mask, with every stored value) and appends it as
// it is: the daemon's own records (signatures, refusals, lock and unlock)
// come this way.
func (s *Store) Append(r audit.Record) (audit.Record, error) {
	return s.log.Append(audit.Mask(r, s.values()))
}

// values returns every value of the store, current and previous, of at
// least mask.MinMaskLen bytes: read once, and again after Changed.
func (s *Store) values() [][]byte {
	s.mu.Lock()
	masks, gen := s.masks, s.gen
	s.mu.Unlock()
	if masks != nil {
		return masks
	}
	metas, _ := s.st.List()
	masks = [][]byte{}
	for _, m := range metas {
		sec, err := s.st.Get(m.Name)
		if err != nil {
			continue
		}
		for _, v := range []store.Value{sec.Value, sec.PreviousValue} {
			if v.Len() >= mask.MinMaskLen {
				masks = append(masks, v.Bytes())
			}
		}
	}
	s.mu.Lock()
	// Kept only when no change came meanwhile: a value added since the
	// store was read must not stay unmasked.
	if s.gen == gen {
		s.masks = masks
	}
	s.mu.Unlock()
	return masks
}

// Verify checks the audit log at path with the MAC key of st, unlocked.
// The key is used here and never handed out: through the agent, the
// daemon runs Verify and answers with the result. A missing log verifies
// as empty.
func Verify(st *store.Store, path string) (audit.VerifyResult, error) {
	key, err := st.AuditKey()
	if err != nil {
		return audit.VerifyResult{}, err
	}
	defer clear(key)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return audit.VerifyResult{OK: true}, nil
	}
	if err != nil {
		return audit.VerifyResult{}, fmt.Errorf("open audit log: %w", err)
	}
	defer f.Close()
	return audit.Verify(f, key)
}
