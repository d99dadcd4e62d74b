package cmd

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"
	"github.com/wsxdev/wsx/audit"
	"github.com/wsxdev/wsx/daemon"
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

// secretStore is what commands need from the store. *store.Store has it;
// a client of the daemon's local API has it too, so every command works the
// same whether the daemon answers or the store is opened here.
type secretStore interface {
	List() ([]store.Meta, error)
	Get(name string) (store.Secret, error)
	Add(sec store.Secret, opts ...store.AddOptions) (store.Meta, error)
	Update(name string, fn func(*store.Secret) error) (store.Meta, error)
	Remove(name string) error
	AuditKey() ([]byte, error)
}

// session is one command's view of the store: opened, unlocked when needed,
// with the audit log beside it; or, when the wsx agent answers unlocked, a
// client of the agent's local API.
type session struct {
	env  *Env
	c    *cli.Context
	home string
	st   *store.Store
	log  *audit.Log

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
	if s.agentAsked || s.env.Getenv("WSX_NO_AGENT") != "" {
		return nil, false
	}
	s.agentAsked = true
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

// open opens the store, locked.
func (s *session) open() error {
	if s.st != nil {
		return nil
	}
	st, err := store.Open(s.home)
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
// that answers locked is not asked to unlock: the command opens the store
// itself, as it would without an agent, and says how to unlock the agent
// when it cannot.
func (s *session) unlocked() (secretStore, error) {
	if s.st != nil && !s.st.Locked() {
		return s.st, nil
	}
	if c, ok := s.viaDaemon(); ok {
		return daemonStore{s, c}, nil
	}
	if s.agentErr != nil {
		return nil, s.agentErr
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

// direct opens and unlocks the store here, leaving the agent aside.
func (s *session) direct() (secretStore, error) {
	if s.client != nil {
		s.client.Close()
		s.client = nil
	}
	if err := s.open(); err != nil {
		return nil, err
	}
	if !s.st.Locked() {
		return s.st, nil
	}
	var pass []byte
	if s.st.NeedsPassphrase() {
		p, err := s.passphrase("Passphrase for the wsx store: ")
		if err != nil {
			if s.agentLocked != 0 && errors.Is(err, store.ErrLocked) {
				return nil, withHint(err, "the wsx agent (pid %d) is locked: `wsx unlock` unlocks it for every command", s.agentLocked)
			}
			return nil, err
		}
		pass = p
	}
	if err := s.st.Unlock(pass); err != nil {
		return nil, err
	}
	return s.st, nil
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

// passphrase reads the store passphrase from a file, or asks on the terminal.
func (s *session) passphrase(prompt string) ([]byte, error) {
	if f := s.passphraseFile(); f != "" {
		return readPassphraseFile(f)
	}
	t, err := s.env.Terminal()
	if err != nil {
		return nil, fmt.Errorf("%w: no passphrase file and %v", store.ErrLocked, err)
	}
	defer t.Close()
	return t.ReadPassword(prompt)
}

// record appends an audit record for an event of this command.
func (s *session) record(ev audit.Event, name, result, detail string) error {
	return s.recordCLI(audit.Record{Event: ev, Secret: name, Result: result, Detail: detail})
}

// recordCLI appends r as an event of this command: via the command line,
// by this process.
func (s *session) recordCLI(r audit.Record) error {
	r.Via = audit.ViaCLI
	if p, err := audit.ProcessInfo(os.Getpid()); err == nil {
		r.Process = &p
	}
	return s.appendRecord(r)
}

// appendRecord fills in the actor and appends r to the audit log: through
// the wsx agent when the session uses it (the agent sets the actor from
// the socket's credentials), else here. The store must be unlocked: the
// record's MAC is keyed by it.
func (s *session) appendRecord(r audit.Record) error {
	return s.appendRecords([]audit.Record{r})
}

// appendRecords appends rs in order, with one request to the agent or one
// fsync here; when it returns nil every record is written.
func (s *session) appendRecords(rs []audit.Record) error {
	if s.client != nil {
		_, err := s.client.AppendBatch(rs)
		if !errors.Is(err, daemon.ErrNoDaemon) {
			return err
		}
		if _, err := s.direct(); err != nil {
			return err
		}
	}
	if s.log == nil {
		key, err := s.st.AuditKey()
		if err != nil {
			return err
		}
		// Group commit: the records of one command share one fsync.
		l, err := audit.OpenWith(auditPath(s.home), key, audit.Options{SyncDelay: localSyncDelay})
		if err != nil {
			return err
		}
		s.log = l
	}
	uid, user := actor(s.env)
	for _, r := range rs {
		r.Actor = audit.Actor{UID: uid, User: user}
		if _, err := s.log.Append(r); err != nil {
			return err
		}
	}
	return s.log.Sync()
}

// localSyncDelay bounds how long a record appended here waits for an
// fsync that appendRecords does not make itself.
const localSyncDelay = 5 * time.Millisecond

func (s *session) close() {
	if s.client != nil {
		s.client.Close()
	}
	if s.log != nil {
		s.log.Close()
	}
	if s.st != nil {
		s.st.Lock()
	}
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

func (d daemonStore) List() ([]store.Meta, error) {
	return againDirect(d, func(st secretStore) ([]store.Meta, error) { return st.List() })
}

func (d daemonStore) Get(name string) (store.Secret, error) {
	return againDirect(d, func(st secretStore) (store.Secret, error) { return st.Get(name) })
}

func (d daemonStore) Add(sec store.Secret, opts ...store.AddOptions) (store.Meta, error) {
	return againDirect(d, func(st secretStore) (store.Meta, error) { return st.Add(sec, opts...) })
}

func (d daemonStore) Update(name string, fn func(*store.Secret) error) (store.Meta, error) {
	return againDirect(d, func(st secretStore) (store.Meta, error) { return st.Update(name, fn) })
}

func (d daemonStore) Remove(name string) error {
	_, err := againDirect(d, func(st secretStore) (struct{}, error) { return struct{}{}, st.Remove(name) })
	return err
}

func (d daemonStore) AuditKey() ([]byte, error) {
	return againDirect(d, func(st secretStore) ([]byte, error) { return st.AuditKey() })
}
