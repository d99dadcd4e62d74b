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
	"github.com/wsxdev/wsx/internal/home"
	"github.com/wsxdev/wsx/internal/oneproc"
	"github.com/wsxdev/wsx/internal/release"
	"github.com/wsxdev/wsx/secrets"
	"github.com/wsxdev/wsx/store"
)

// homeDir is the store's home (home.Dir).
func homeDir(env *Env) (string, error) { return home.Dir(env.Getenv) }

// auditPath is the audit log of the store in h.
func auditPath(h string) string { return filepath.Join(h, "audit.log") }

// runDir is where the agent's sockets live (home.RunDir).
func runDir(env *Env, h string) string { return home.RunDir(env.Getenv, h) }

// secretStore is the store a command works on (secrets.Store).
type secretStore = secrets.Store

// session is one command's view of the store: opened, unlocked when needed,
// with the audit log beside it; or, when the wsx agent answers unlocked, a
// client of the agent's local API.
type session struct {
	env  *Env
	c    *cli.Context
	home string
	st   *store.Store
	loc  *secrets.Local // st unlocked, with its audit log

	client      *daemon.Client // the agent's API, when in use
	agentLocked int            // pid of an agent that answered locked
	agentAsked  bool           // viaDaemon dialled the agent already
	agentErr    error          // an agent that is not the user's own (ErrUntrusted)
	unasked     bool           // client was made without asking the agent's status
	doubted     bool           // an unasked client failed: ask the status from now on
	afterUnlock func([]byte)   // given the passphrase that unlocked the store here
	guestRole   string         // a guest's role at its owner's agent (Status.Role)
}

// apiSocket is the agent's API socket for this store.
func (s *session) apiSocket() string {
	return filepath.Join(runDir(s.env, s.home), daemon.APISocketName)
}

// doubt drops a client made without asking the agent's status, after a
// request found the agent absent, locked or not the user's: the next
// viaDaemon asks.
func (s *session) doubt() {
	if s.client != nil {
		s.client.Close()
	}
	s.client, s.unasked, s.doubted = nil, false, true
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
	return daemon.DialStore(s.apiSocket(), s.home, daemonDialTimeout)
}

// viaDaemon returns a client of the wsx agent when one serves this store
// unlocked. WSX_NO_AGENT=1 turns it off. The agent is dialled at most once
// per command: an agent that was absent or locked is not asked again.
// unasked skips asking its status when a socket is there: each request
// names the store (daemon.HomeHeader), and the caller falls back (doubt)
// when one finds the agent absent, locked or not the user's.
func (s *session) viaDaemon(unasked bool) (*daemon.Client, bool) {
	if s.client != nil {
		return s.client, true
	}
	if s.agentAsked || s.env.Getenv("WSX_NO_AGENT") != "" && s.env.Getenv("WSX_AGENT") == "" {
		return nil, false
	}
	if g, err := s.guest(); err != nil || g != nil {
		s.agentAsked = true
		if err == nil {
			err = s.openGuest(g)
		}
		s.agentErr = err
		return s.client, err == nil
	}
	if sock := s.apiSocket(); unasked && !s.doubted {
		if _, err := os.Lstat(sock); err != nil {
			s.agentAsked = true
			return nil, false
		}
		s.client, s.unasked = daemon.NewClientFor(sock, s.home), true
		return s.client, true
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
		return s.local(), nil
	}
	if c, ok := s.viaDaemon(true); ok {
		return s.viaAgent(c), nil
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
	oneproc.Restore() // the store's KDF runs its lanes in parallel
	if err := s.open(); err != nil {
		return nil, err
	}
	if !s.st.Locked() {
		return s.local(), nil
	}
	if !s.st.NeedsPassphrase() {
		if err := s.st.Unlock(nil); err != nil {
			return nil, err
		}
		return s.local(), nil
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
	return s.local(), nil
}

// unlockStore unlocks the store opened here with passphrase p. A wrong
// one is noted for the record the next unlock writes.
func (s *session) unlockStore(p []byte) error {
	err := s.st.Unlock(p)
	if errors.Is(err, store.ErrWrongPassphrase) {
		release.NoteFailedUnlock(auditPath(s.home), audit.ViaCLI, s.env.PID, s.env.Now())
	}
	if err == nil && s.afterUnlock != nil {
		s.afterUnlock(p)
	}
	return err
}

// recordFailedUnlocks writes the record of the wrong passphrases given
// since the store was last unlocked, if any were.
func (s *session) recordFailedUnlocks() error {
	if !release.FailedUnlocksNoted(auditPath(s.home)) {
		return nil
	}
	rel, err := s.local().Released()
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

// record appends rs to the store the command works on: the agent's, or
// the one opened here. The process facts are found by the side that
// writes them.
func (s *session) record(rs ...audit.Record) error {
	if len(rs) == 0 {
		return nil
	}
	st, err := s.unlocked()
	if err != nil {
		return err
	}
	return st.Record(rs...)
}

// local is the store opened here, once unlocked.
func (s *session) local() *secrets.Local {
	if s.loc == nil {
		uid, user := actor(s.env)
		s.loc = &secrets.Local{St: s.st, AuditPath: auditPath(s.home),
			Self: release.Peer{PID: s.env.PID, Actor: audit.Actor{UID: uid, User: user}}}
	}
	return s.loc
}

// viaAgent is the agent's store through c, and the store opened here
// once the agent is gone.
func (s *session) viaAgent(c *daemon.Client) secretStore {
	if s.unasked {
		return &secrets.Fallback{Agent: c, Gone: agentUnsure, Direct: func() (secretStore, error) {
			s.doubt()
			return s.unlocked()
		}}
	}
	return &secrets.Fallback{Agent: c, Gone: func(err error) bool { return errors.Is(err, daemon.ErrNoDaemon) }, Direct: s.direct}
}

// agentUnsure says err is an answer that asking the status first would
// have avoided: no agent, a locked one, one that is not the user's.
func agentUnsure(err error) bool {
	return errors.Is(err, daemon.ErrNoDaemon) || errors.Is(err, store.ErrLocked) || errors.Is(err, daemon.ErrUntrusted)
}

func (s *session) close() {
	if s.client != nil {
		s.client.Close()
	}
	if s.loc != nil {
		s.loc.CloseLog()
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
