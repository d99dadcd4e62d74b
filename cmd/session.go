package cmd

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"
	"github.com/wsxdev/wsx/audit"
	"github.com/wsxdev/wsx/store"
)

// homeDir is where the store, the audit log and the run directory live:
// WSX_HOME when set, else $XDG_DATA_HOME/wsx, else ~/.local/share/wsx.
func homeDir(env *Env) (string, error) {
	if h := env.Getenv("WSX_HOME"); h != "" {
		return filepath.Abs(h)
	}
	if x := env.Getenv("XDG_DATA_HOME"); x != "" {
		return filepath.Join(x, "wsx"), nil
	}
	if h := env.Getenv("HOME"); h != "" {
		return filepath.Join(h, ".local", "share", "wsx"), nil
	}
	return "", errors.New("cannot find a home for the store: set WSX_HOME or HOME")
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
// with the audit log beside it.
type session struct {
	env  *Env
	c    *cli.Context
	home string
	st   *store.Store
	log  *audit.Log
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

// unlocked opens the store and unlocks it with the first passphrase source
// that is available: --passphrase-file, WSX_PASSPHRASE_FILE, the terminal.
func (s *session) unlocked() (secretStore, error) {
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
func (s *session) passphraseFile() string {
	if f := s.c.String("passphrase-file"); f != "" {
		return f
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
	r := audit.Record{Event: ev, Secret: name, Via: audit.ViaCLI, Result: result, Detail: detail}
	if p, err := audit.ProcessInfo(os.Getpid()); err == nil {
		r.Process = &p
	}
	return s.appendRecord(r)
}

// appendRecord fills in the actor and appends r to the audit log. The store
// must be unlocked: the record's MAC is keyed by it.
func (s *session) appendRecord(r audit.Record) error {
	if s.log == nil {
		key, err := s.st.AuditKey()
		if err != nil {
			return err
		}
		l, err := audit.Open(auditPath(s.home), key)
		if err != nil {
			return err
		}
		s.log = l
	}
	uid, user := actor(s.env)
	r.Actor = audit.Actor{UID: uid, User: user}
	_, err := s.log.Append(r)
	return err
}

func (s *session) close() {
	if s.log != nil {
		s.log.Close()
	}
	if s.st != nil {
		s.st.Lock()
	}
}
