package cmd

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"
	"github.com/wsxdev/wsx/audit"
	"github.com/wsxdev/wsx/daemon"
	"github.com/wsxdev/wsx/internal/release"
	"github.com/wsxdev/wsx/store"
)

// homeDir is where the store, the audit log and the run directory live:
// WSX_HOME when set, else $XDG_DATA_HOME/wsx, else ~/.local/share/wsx. A
// workspace named by WSX_WORKSPACE gets its own store there: wsx-NAME.
func homeDir(env *Env) (string, error) {
	if h := env.Getenv("WSX_HOME"); h != "" {
		return filepath.Abs(h)
	}
	name, err := storeDirName(env)
	if err != nil {
		return "", err
	}
	if x := env.Getenv("XDG_DATA_HOME"); x != "" {
		return filepath.Join(x, name), nil
	}
	if h := env.Getenv("HOME"); h != "" {
		return filepath.Join(h, ".local", "share", name), nil
	}
	return "", errors.New("cannot find a home for the store: set WSX_HOME or HOME")
}

// storeDirName is the name of the store's directory, and of its run
// directory: "wsx", or "wsx-NAME" for the workspace WSX_WORKSPACE=NAME.
func storeDirName(env *Env) (string, error) {
	ws := env.Getenv("WSX_WORKSPACE")
	if ws == "" {
		return "wsx", nil
	}
	if !validWorkspace(ws) {
		return "", usagef("WSX_WORKSPACE=%q: a workspace name is 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit", ws)
	}
	return "wsx-" + ws, nil
}

func validWorkspace(ws string) bool {
	if len(ws) == 0 || len(ws) > 64 {
		return false
	}
	for i, r := range ws {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case i > 0 && (r == '.' || r == '_' || r == '-'):
		default:
			return false
		}
	}
	return true
}

// auditPath is the audit log of the store in home.
func auditPath(home string) string { return filepath.Join(home, "audit.log") }

// secretStore is what commands need from the store: the store opened
// here (localStore), or the wsx agent's (daemonStore), so every command
// works the same either way. Values leave it only through Use, which
// records the use first (release.Releaser); the other methods return
// none.
type secretStore interface {
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

// session is one command's view of the store: opened, unlocked when needed,
// with the audit log beside it; or, when the wsx agent answers unlocked, a
// client of the agent's local API.
type session struct {
	env  *Env
	c    *cli.Context
	home string
	st   *store.Store
	rel  *release.Store // the store's release path and audit log, once opened

	client      *daemon.Client // the agent's API, when in use
	agentLocked int            // pid of an agent that answered locked
	agentAsked  bool           // viaDaemon dialled the agent already
	agentErr    error          // an agent that is not the user's own (ErrUntrusted)
}

// daemonDialTimeout bounds the wait for the agent's status.
const daemonDialTimeout = 2 * time.Second

// dialDaemon connects to the wsx agent of this store, or fails wrapping
// daemon.ErrNoDaemon when none answers (or the one that answers serves
// another store).
func (s *session) dialDaemon() (*daemon.Client, daemon.Status, error) {
	if g, err := s.guest(); err != nil || g != nil {
		if err != nil {
			return nil, daemon.Status{}, err
		}
		return s.dialGuest(g)
	}
	sock := filepath.Join(runDir(s.env, s.home), daemon.APISocketName)
	c, st, err := daemon.Dial(sock, daemonDialTimeout)
	if err != nil {
		return nil, st, err
	}
	if filepath.Clean(st.Home) != filepath.Clean(s.home) {
		c.Close()
		return nil, st, fmt.Errorf("the agent on %s serves %s, not %s: %w", sock, st.Home, s.home, daemon.ErrNoDaemon)
	}
	return c, st, nil
}

// viaDaemon returns a client of the wsx agent when one serves this store
// unlocked. WSX_NO_AGENT=1 turns it off. The agent is dialled at most once
// per command: an agent that was absent or locked is not asked again.
func (s *session) viaDaemon() (*daemon.Client, bool) {
	if s.client != nil {
		return s.client, true
	}
	if s.agentAsked || s.env.Getenv("WSX_NO_AGENT") != "" && s.env.Getenv("WSX_AGENT") == "" {
		return nil, false
	}
	s.agentAsked = true
	if g, err := s.guest(); err != nil || g != nil {
		if err == nil {
			_, err = s.guestStore(g)
		}
		s.agentErr = err
		return s.client, err == nil
	}
	c, st, err := s.dialDaemon()
	if err != nil {
		if errors.Is(err, daemon.ErrUntrusted) {
			s.agentErr = err
		}
		return nil, false
	}
	if st.Locked {
		c.Close()
		s.agentLocked = st.PID
		return nil, false
	}
	s.client = c
	return c, true
}

func newSession(env *Env, c *cli.Context) (*session, error) {
	home, err := homeDir(env)
	if err != nil {
		return nil, err
	}
	return &session{env: env, c: c, home: home}, nil
}

// openOptions are the store's settings from the environment.
func (s *session) openOptions() store.OpenOptions {
	return store.OpenOptions{PassDir: s.env.Getenv("PASSWORD_STORE_DIR")}
}

// open opens the store, locked. A guest of another user's agent
// (WSX_AGENT) never opens it: it works through the agent or not at all.
func (s *session) open() error {
	if s.st != nil {
		return nil
	}
	if s.env.Getenv("WSX_AGENT") != "" {
		return fmt.Errorf("a guest (WSX_AGENT) works through its owner's agent only, never on the store itself: %w", errPermission)
	}
	st, err := store.Open(s.home, s.openOptions())
	if err != nil {
		return err
	}
	st.SetClock(s.env.Now)
	s.st = st
	return nil
}

// unlocked returns the store to work on: the wsx agent's, through its
// local API, when an agent serves this store unlocked; else the store
// opened here and unlocked with the first passphrase source that is
// available: --passphrase-file, WSX_PASSPHRASE_FILE, the terminal. An agent
// that answers locked is unlocked with the passphrase typed on the
// terminal (unlockAgent); with a passphrase file, or no terminal, the
// command opens the store itself, as it would without an agent, and says
// how to unlock the agent when it cannot.
func (s *session) unlocked() (secretStore, error) {
	if s.st != nil && !s.st.Locked() {
		return localStore{s}, nil
	}
	if c, ok := s.viaDaemon(); ok {
		return daemonStore{s, c}, nil
	}
	if s.agentErr != nil {
		return nil, s.agentErr
	}
	if s.agentLocked != 0 && s.passphraseFile() == "" {
		if st, ok, err := s.unlockAgent(); ok {
			return st, err
		}
	}
	return s.direct()
}

// listSecrets unlocks the store and lists its secrets.
func (s *session) listSecrets() ([]store.Meta, error) {
	st, err := s.unlocked()
	if err != nil {
		return nil, err
	}
	return st.List()
}

// direct opens and unlocks the store here, leaving the agent aside. A
// guest of another user's agent (WSX_AGENT) never does.
func (s *session) direct() (secretStore, error) {
	if s.env.Getenv("WSX_AGENT") != "" && s.agentErr != nil {
		return nil, s.agentErr
	}
	if s.client != nil {
		s.client.Close()
		s.client = nil
	}
	if err := s.open(); err != nil {
		return nil, err
	}
	if !s.st.Locked() {
		return localStore{s}, nil
	}
	if !s.st.NeedsPassphrase() {
		if err := s.st.Unlock(nil); err != nil {
			return nil, err
		}
		return localStore{s}, nil
	}
	if err := s.unlockWith("Passphrase for the wsx store: ", s.unlockStore); err != nil {
		if s.agentLocked != 0 && errors.Is(err, store.ErrLocked) {
			return nil, withHint(err, "the wsx agent (pid %d) is locked: `wsx unlock` unlocks it for every command", s.agentLocked)
		}
		return nil, err
	}
	if err := s.recordFailedUnlocks(); err != nil {
		return nil, err
	}
	return localStore{s}, nil
}

// unlockStore unlocks the store opened here with passphrase p. A wrong
// one is noted for the record the next unlock writes.
func (s *session) unlockStore(p []byte) error {
	err := s.st.Unlock(p)
	if errors.Is(err, store.ErrWrongPassphrase) {
		release.NoteFailedUnlock(auditPath(s.home), audit.ViaCLI, s.env.PID, s.env.Now())
	}
	return err
}

// recordFailedUnlocks writes the record of the wrong passphrases given
// since the store was last unlocked, if any were.
func (s *session) recordFailedUnlocks() error {
	if !release.FailedUnlocksNoted(auditPath(s.home)) {
		return nil
	}
	rel, err := s.released()
	if err != nil {
		return err
	}
	return rel.RecordFailedUnlocks()
}

// passphraseFile names the file to read the passphrase from, if any.
// The flag may be given after the command or before it (`wsx
// --passphrase-file F list`): every command also defines it, so each
// level of the command line is asked, the innermost first.
func (s *session) passphraseFile() string {
	for _, c := range s.c.Lineage() {
		if f := c.String("passphrase-file"); f != "" {
			return f
		}
	}
	return s.env.Getenv("WSX_PASSPHRASE_FILE")
}

// record appends an audit record for an event of this command.
func (s *session) record(ev audit.Event, name, result, detail string) error {
	return s.recordCLI(audit.Record{Event: ev, Secret: name, Result: result, Detail: detail})
}

// recordCLI appends r as an event of this command, via the command line,
// to the store the command works on: the agent's, or the one opened here.
// The process facts are found by the side that writes it.
func (s *session) recordCLI(r audit.Record) error {
	r.Via = audit.ViaCLI
	st, err := s.unlocked()
	if err != nil {
		return err
	}
	return st.Record(r)
}

// released returns the release path of the store opened here, opening
// its audit log on first use. The store must be unlocked: the log's MACs
// are keyed by it.
func (s *session) released() (*release.Store, error) {
	if s.rel != nil {
		return s.rel, nil
	}
	key, err := s.st.AuditKey()
	if err != nil {
		return nil, err
	}
	defer clear(key)
	// Group commit: the records of one command share one fsync, which
	// release.Store makes before it returns (Durable).
	l, err := audit.OpenWith(auditPath(s.home), key, audit.Options{SyncDelay: localSyncDelay})
	if err != nil {
		return nil, err
	}
	uid, user := actor(s.env)
	s.rel = release.New(s.st, l, release.Options{
		Self:    release.Peer{PID: s.env.PID, Actor: audit.Actor{UID: uid, User: user}},
		Durable: true,
	})
	return s.rel, nil
}

// localSyncDelay bounds how long a record appended here waits for an
// fsync that release.Store does not make itself.
const localSyncDelay = 5 * time.Millisecond

func (s *session) close() {
	if s.client != nil {
		s.client.Close()
	}
	if s.rel != nil {
		s.rel.Close()
		s.rel = nil
	}
	if s.st != nil {
		s.st.Lock()
	}
}

// lockKeepLog is close, but the audit log (or the agent's client) stays
// usable for records of events other than uses: `wsx exec` writes where
// the command reads each secret while it runs. close closes the rest.
func (s *session) lockKeepLog() {
	if s.client != nil {
		s.client.Close()
	}
	if s.st != nil {
		s.st.Lock()
	}
}

// localStore is the store opened here, with its audit log.
type localStore struct{ s *session }

func (l localStore) List() ([]store.Meta, error) { return l.s.st.List() }

func (l localStore) Stat(name string) (store.Meta, int, error) {
	sec, err := l.s.st.Get(name)
	return sec.Meta, sec.Value.Len(), err
}

func (l localStore) Add(sec store.Secret, opts ...store.AddOptions) (store.Meta, error) {
	m, err := l.s.st.Add(sec, opts...)
	l.changed(err)
	return m, err
}

func (l localStore) Edit(name string, e store.Edit) (store.Meta, error) {
	m, err := l.s.st.Edit(name, e)
	l.changed(err)
	return m, err
}

func (l localStore) Remove(name string) error {
	err := l.s.st.Remove(name)
	l.changed(err)
	return err
}

// changed tells the release path that the values changed, after a write
// that succeeded: a new value must be masked in the records that follow.
func (l localStore) changed(err error) {
	if err == nil && l.s.rel != nil {
		l.s.rel.Changed()
	}
}

func (l localStore) Compare(name string, v store.Value) (store.Match, error) {
	return l.s.st.Compare(name, v)
}

func (l localStore) Use(ctx context.Context, names []string, rec release.Record) ([]store.Secret, error) {
	rel, err := l.s.released()
	if err != nil {
		return nil, err
	}
	return rel.Use(ctx, names, rec)
}

func (l localStore) Record(rs ...audit.Record) error {
	rel, err := l.s.released()
	if err != nil {
		return err
	}
	return rel.Record(rs...)
}

func (l localStore) VerifyAudit() (audit.VerifyResult, error) {
	return release.Verify(l.s.st, auditPath(l.s.home))
}

// daemonStore is the store as the wsx agent serves it. When the agent goes
// away between two requests (it was stopping: `wsx agent CMD` ends when CMD
// does), a request that found nobody listening is made again on the store
// opened here, as if there had been no agent. Nothing was done by a
// request that could not connect, so making it again is safe.
type daemonStore struct {
	s *session
	c *daemon.Client
}

// againDirect runs op on the agent's store, and on the store opened here
// when the agent is gone.
func againDirect[T any](d daemonStore, op func(secretStore) (T, error)) (T, error) {
	v, err := op(d.c)
	if !errors.Is(err, daemon.ErrNoDaemon) {
		return v, err
	}
	st, err := d.s.direct()
	if err != nil {
		var zero T
		return zero, err
	}
	return op(st)
}

// again is againDirect for an operation that returns only an error.
func again(d daemonStore, op func(secretStore) error) error {
	_, err := againDirect(d, func(st secretStore) (struct{}, error) { return struct{}{}, op(st) })
	return err
}

func (d daemonStore) List() ([]store.Meta, error) {
	return againDirect(d, func(st secretStore) ([]store.Meta, error) { return st.List() })
}

func (d daemonStore) Stat(name string) (store.Meta, int, error) {
	var size int
	m, err := againDirect(d, func(st secretStore) (store.Meta, error) {
		m, n, err := st.Stat(name)
		size = n
		return m, err
	})
	return m, size, err
}

func (d daemonStore) Add(sec store.Secret, opts ...store.AddOptions) (store.Meta, error) {
	return againDirect(d, func(st secretStore) (store.Meta, error) { return st.Add(sec, opts...) })
}

func (d daemonStore) Edit(name string, e store.Edit) (store.Meta, error) {
	return againDirect(d, func(st secretStore) (store.Meta, error) { return st.Edit(name, e) })
}

func (d daemonStore) Remove(name string) error {
	return again(d, func(st secretStore) error { return st.Remove(name) })
}

func (d daemonStore) Compare(name string, v store.Value) (store.Match, error) {
	return againDirect(d, func(st secretStore) (store.Match, error) { return st.Compare(name, v) })
}

func (d daemonStore) Use(ctx context.Context, names []string, rec release.Record) ([]store.Secret, error) {
	return againDirect(d, func(st secretStore) ([]store.Secret, error) { return st.Use(ctx, names, rec) })
}

func (d daemonStore) Record(rs ...audit.Record) error {
	return again(d, func(st secretStore) error { return st.Record(rs...) })
}

func (d daemonStore) VerifyAudit() (audit.VerifyResult, error) {
	return againDirect(d, func(st secretStore) (audit.VerifyResult, error) { return st.VerifyAudit() })
}
