package daemon

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/wsxdev/wsx/audit"
	"github.com/wsxdev/wsx/internal/access"
	"github.com/wsxdev/wsx/internal/erase"
	"github.com/wsxdev/wsx/internal/localapi"
	"github.com/wsxdev/wsx/internal/release"
	"github.com/wsxdev/wsx/internal/unixsock"
	"github.com/wsxdev/wsx/scan"
	"github.com/wsxdev/wsx/sshagent"
	"github.com/wsxdev/wsx/store"
)

// Socket names in the run directory.
const (
	AgentSocketName = "agent.sock"
	APISocketName   = localapi.APISocketName
)

// Defaults of Options.
const (
	// DefaultLockAfter is the idle time after which `wsx agent` locks.
	DefaultLockAfter = time.Hour
	// DefaultSyncDelay bounds how long a record waits for its fsync.
	DefaultSyncDelay = 5 * time.Millisecond
)

// Errors callers branch on.
var (
	// ErrDenied: the peer may not make this request (its role does not
	// allow it, or it has none).
	ErrDenied = access.ErrDenied
	// ErrNoDaemon: nothing answers on the API socket.
	ErrNoDaemon = errors.New("no wsx agent is running")
	// ErrUntrusted: the socket's directory, or the process answering on
	// it, is not the user's own; nothing was sent to it. The error names
	// the path and its owner.
	ErrUntrusted = unixsock.ErrUntrusted
	// ErrAgentRunning: an agent already answers on the socket.
	ErrAgentRunning = unixsock.ErrAgentRunning
)

// Options configure a Daemon.
type Options struct {
	// Store is the store to serve, opened (locked or not). The daemon
	// locks it when it locks.
	Store *store.Store
	// StoreOptions are the options Store was opened with; a second copy
	// opened with them checks the passphrase of ssh-add -X.
	StoreOptions store.OpenOptions
	// AuditPath is the audit log of the store.
	AuditPath string
	// RunDir holds the sockets; it is created (0700) when missing.
	RunDir string
	// AgentSocket is the SSH agent socket; RunDir/agent.sock when empty
	// (RunDir/agent.PID.sock when that one is taken and Shared is set). A
	// socket outside RunDir may be in a directory that is not private, as
	// ssh-agent's -a: the socket is 0600 and every peer's uid is checked.
	AgentSocket string
	// SharedDir, when set, is a directory where the daemon also serves
	// both sockets to the users and groups the workspace is shared with
	// (`wsx agent --shared-dir`): a real directory of the owner, not
	// writable by others; the sockets take its group, mode 0660.
	SharedDir string
	// Shared lets the daemon start while another one serves the API
	// socket of RunDir: it then serves the SSH agent alone (its own
	// ssh-add'ed keys and the store's keys), and the API stays with the
	// first.
	Shared bool
	// LockAfter locks the daemon after this long without use; 0 never.
	LockAfter time.Duration
	// DefaultLifetime applies to keys added without one (ssh-agent -t).
	DefaultLifetime time.Duration
	// Env is the daemon's environment, for SSH_ASKPASS (confirm
	// constraints).
	Env []string
	// SyncDelay is the audit log's group commit delay; DefaultSyncDelay
	// when zero.
	SyncDelay time.Duration
	// Logf receives what the daemon has to say (never a secret value);
	// nil discards it. Debugf receives a line per request when set.
	Logf, Debugf func(format string, args ...any)
}

// Daemon holds a store unlocked and serves it; see the package doc.
type Daemon struct {
	opts   Options
	st     *store.Store
	src    *sshagent.CachedSource
	agent  *sshagent.Agent
	idle   *idleLock
	owner  int
	pid    int
	start  time.Time
	peers  *peerCache
	actors sync.Map // uid -> user name

	checker *access.Checker // who may do what: see authorize
	grants  *access.File    // the grants sealed in the store

	mu      sync.RWMutex
	rel     *release.Store     // the audit log and the values' release; nil while locked
	scanM   *scan.ValueMatcher // the store's values for POST /v1/scan; nil until needed
	scanGen uint64             // bumped whenever scanM is dropped
	// grantsKey seals the grants (access.KeyFrom); nil while locked.
	grantsKey []byte

	unlockMu sync.Mutex    // serialises Unlock and Lock, and the wrong-passphrase delay
	backoff  store.Backoff // guarded by unlockMu
	failures unlockFailures

	agentL, apiL net.Listener           // apiL is nil when another daemon serves the API
	sharedL      []net.Listener         // agent and API sockets of SharedDir, when set
	defaultSock  bool                   // Options.AgentSocket was empty
	sockets      map[string]os.FileInfo // the socket files, as Listen made them
	checkEvery   time.Duration          // SocketCheckInterval; tests shorten it
	apiConns     apiConns
}

// SocketCheckInterval is how often Serve checks that its socket files are
// still in place: a daemon whose socket was removed or replaced can no
// longer be reached, and stops rather than keep the store unlocked.
const SocketCheckInterval = 5 * time.Second

// New returns a daemon over opts.Store. It does not listen yet.
func New(opts Options) (*Daemon, error) {
	if opts.Store == nil {
		return nil, errors.New("daemon: no store")
	}
	if opts.AuditPath == "" || opts.RunDir == "" {
		return nil, errors.New("daemon: audit path and run directory are required")
	}
	defaultSock := opts.AgentSocket == ""
	if defaultSock {
		opts.AgentSocket = filepath.Join(opts.RunDir, AgentSocketName)
	}
	if opts.SyncDelay <= 0 {
		opts.SyncDelay = DefaultSyncDelay
	}
	d := &Daemon{opts: opts, st: opts.Store, owner: os.Geteuid(), pid: os.Getpid(), start: time.Now(),
		checkEvery: SocketCheckInterval, defaultSock: defaultSock}
	d.peers = newPeerCache(d)
	d.grants = access.NewFile(opts.Store.Home(), opts.Store.ID())
	d.checker = d.newChecker()
	d.src = sshagent.NewCachedSource(opts.Store, sshagent.CacheOptions{})
	d.agent = sshagent.New(sshagent.Options{
		Source:          touchSource{d.src, d.touch},
		Confirm:         sshagent.AskpassConfirm(opts.Env),
		OnSign:          d.onSign,
		OwnerUnlock:     d.agentUnlock,
		OnUnlockFailed:  d.unlockFailed,
		DefaultLifetime: opts.DefaultLifetime,
		Logf:            opts.Logf,
	})
	d.idle = newIdleLock(opts.LockAfter, func(idle time.Duration) {
		erase.Do(func() { d.Lock(fmt.Sprintf("idle for %v", idle.Round(time.Second))) })
	})
	if opts.Store.Locked() {
		d.agent.Suspend()
	} else if err := d.opened(); err != nil {
		return nil, err
	}
	return d, nil
}

// APISocket is the path of the local API's socket.
func (d *Daemon) APISocket() string { return filepath.Join(d.opts.RunDir, APISocketName) }

// ServesAPI reports whether this daemon listens on the API socket; a
// Shared daemon started beside another one does not.
func (d *Daemon) ServesAPI() bool { return d.apiL != nil }

// AgentSocket is the path of the SSH agent's socket.
func (d *Daemon) AgentSocket() string { return d.opts.AgentSocket }

// Agent is the SSH agent the daemon serves.
func (d *Daemon) Agent() *sshagent.Agent { return d.agent }

func (d *Daemon) logf(format string, args ...any) {
	if d.opts.Logf != nil {
		d.opts.Logf(format, args...)
	}
}

func (d *Daemon) debugf(format string, args ...any) {
	if d.opts.Debugf != nil {
		d.opts.Debugf(format, args...)
	}
}

// touch records a use, putting off the idle lock.
func (d *Daemon) touch() { d.idle.touch() }

// Locked reports whether the store is locked.
func (d *Daemon) Locked() bool { return d.st.Locked() }

// Unlock unlocks the store with passphrase and opens the audit log. A
// wrong passphrase returns store.ErrWrongPassphrase after a delay that
// grows with each wrong attempt in a row, whoever makes it.
//
// There is one lock: Unlock also lifts a lock made with ssh-add -x (on an
// unlocked store, after checking passphrase against the store), and
// brings back the store keys clients removed (ssh-add -d, -D). On an
// unlocked daemon that ssh-add did not lock it does only the latter, and
// needs no passphrase.
func (d *Daemon) Unlock(passphrase []byte) error {
	return d.unlock(passphrase, audit.ViaAPI)
}

// unlock is Unlock; a wrong passphrase is noted for the audit log here
// as one through via (the API's, the page's), or by the caller when via
// is "" (ssh-add -X, per burst).
func (d *Daemon) unlock(passphrase []byte, via string) error {
	d.unlockMu.Lock()
	defer d.unlockMu.Unlock()
	if !d.st.Locked() {
		if d.agent.LockedByClient() {
			if err := d.checkPassphrase(passphrase); err != nil {
				return d.wrong(err, via)
			}
			d.agent.UnlockByOwner()
			d.logf("SSH agent unlocked with the store passphrase")
		}
		d.unhide()
		return nil
	}
	err := d.st.Unlock(passphrase)
	// Argon2id's memory is garbage now; give it back to the system.
	defer debug.FreeOSMemory()
	if err != nil {
		return d.wrong(err, via)
	}
	d.backoff.Right()
	if err := d.opened(); err != nil {
		d.st.Lock()
		return err
	}
	d.agent.UnlockByOwner()
	d.unhide()
	d.record(audit.Record{Event: audit.EventUnlocked, Via: audit.ViaAgent, Result: audit.ResultOK, Actor: d.actor(d.owner)})
	d.logf("store unlocked")
	return nil
}

// wrong notes a wrong passphrase (err) for the audit log as one through
// via, unless via is "", and delays; d.unlockMu is held.
func (d *Daemon) wrong(err error, via string) error {
	if !errors.Is(err, store.ErrWrongPassphrase) {
		return err
	}
	if via != "" {
		if nerr := release.NoteFailedUnlock(d.opts.AuditPath, via, 0, time.Now()); nerr != nil {
			d.logf("audit: %v", nerr)
		}
	}
	time.Sleep(d.backoff.Wrong())
	return err
}

// checkPassphrase checks passphrase against the store on disk, while the
// daemon's store is unlocked; d.unlockMu is held.
func (d *Daemon) checkPassphrase(passphrase []byte) error {
	st, err := store.Open(d.st.Home(), d.opts.StoreOptions)
	if err != nil {
		return err
	}
	defer debug.FreeOSMemory()
	if err := st.Unlock(passphrase); err != nil {
		return err
	}
	st.Lock()
	d.backoff.Right()
	return nil
}

// unhide brings back the store keys clients removed.
func (d *Daemon) unhide() {
	if n := d.agent.Unhide(); n > 0 {
		d.src.Invalidate()
		d.logf("%d store keys removed with ssh-add are served again", n)
	}
}

// Reload brings back the store keys removed with ssh-add -d/-D and
// re-reads the store's keys. The store must be unlocked.
func (d *Daemon) Reload() error {
	d.unlockMu.Lock()
	defer d.unlockMu.Unlock()
	if d.st.Locked() {
		return store.ErrLocked
	}
	d.unhide()
	d.src.Invalidate()
	return nil
}

// agentUnlock is the SSH agent's OwnerUnlock: ssh-add -X with the store
// passphrase unlocks whatever is locked, wsx lock included.
func (d *Daemon) agentUnlock(_ sshagent.Peer, passphrase []byte) error {
	return d.unlock(passphrase, "")
}

// sealKey is the key under which a lock keeps the keys added with
// ssh-add: derived from the store's keys, so that only an unlock brings
// them back. nil when the store is locked.
func (d *Daemon) sealKey() []byte {
	k, err := d.st.AuditKey()
	if err != nil {
		return nil
	}
	defer clear(k)
	sk, err := hkdf.Key(sha256.New, k, nil, "wsx agent: keys added with ssh-add", 32)
	if err != nil {
		return nil
	}
	return sk
}

// opened finishes an unlock: the audit log opens (or the store locks
// again: no use without a record), the agent serves again, the idle
// clock starts.
func (d *Daemon) opened() error {
	key, err := d.st.AuditKey()
	if err != nil {
		return err
	}
	l, err := audit.OpenWith(d.opts.AuditPath, key, audit.Options{SyncDelay: d.opts.SyncDelay})
	clear(key)
	if err != nil {
		return err
	}
	rel := release.New(d.st, l, release.Options{Self: release.Peer{PID: d.pid, Actor: d.actor(d.owner)}})
	if err := rel.RecordFailedUnlocks(); err != nil {
		d.logf("audit: %v", err)
	}
	ak, err := d.st.AuditKey()
	var gk []byte
	if err == nil {
		gk, err = access.KeyFrom(ak)
		clear(ak)
	}
	if err != nil {
		rel.Close()
		return err
	}
	d.mu.Lock()
	d.grantsKey = gk
	d.rel = rel
	d.scanM = nil
	d.scanGen++
	d.mu.Unlock()
	d.src.Invalidate()
	sk := d.sealKey()
	d.agent.ResumeSealed(sk)
	clear(sk)
	d.idle.start()
	d.flushUnlockFailures()
	return nil
}

// Lock locks the store: the agent is suspended (keys added with ssh-add
// are kept sealed under a key only an unlock brings back), parsed keys,
// the values kept for masking and the data key wiped and dropped, a
// `locked` record written, and the audit log closed (its MAC key wiped).
// reason goes into the record.
func (d *Daemon) Lock(reason string) error { return d.lock(reason, true) }

// lock is Lock; collect is false when the process is about to exit and
// gives all its memory back anyway.
func (d *Daemon) lock(reason string, collect bool) error {
	locked := false
	defer func() {
		// After unlockMu is released: nobody waits on it meanwhile.
		if locked && collect {
			collectSecrets()
		}
	}()
	d.unlockMu.Lock()
	defer d.unlockMu.Unlock()
	d.idle.stop()
	sk := d.sealKey()
	d.agent.SuspendSealed(sk)
	clear(sk)
	d.src.Drop()
	if d.st.Locked() {
		return nil
	}
	d.flushUnlockFailures()
	d.record(audit.Record{Event: audit.EventLocked, Via: audit.ViaAgent, Result: audit.ResultOK, Detail: reason,
		Actor: d.actor(d.owner)})
	if _, err := d.loadGrants(); err != nil {
		d.logf("grants: %v", err) // read now: guests learn it is locked
	}
	d.mu.Lock()
	rel := d.rel
	d.rel = nil
	clear(d.grantsKey)
	d.grantsKey = nil
	d.scanM = nil
	d.scanGen++
	d.mu.Unlock()
	d.st.Lock()
	var err error
	if rel != nil {
		err = rel.Close()
	}
	locked = true
	d.logf("store locked (%s)", reason)
	return err
}

// collectSecrets makes what a lock dropped garbage that is gone: the
// freed memory is zeroed and given back (erase.Garbage), with the copies
// libraries made (PEM and JSON decoding, crypto's expanded keys and key
// caches, pooled buffers).
func collectSecrets() { erase.Garbage() }

// released is the release path of the unlocked store, or store.ErrLocked.
func (d *Daemon) released() (*release.Store, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.rel == nil {
		return nil, store.ErrLocked
	}
	return d.rel, nil
}

// appendRecord appends r, masked; an error means nothing was recorded,
// and the use it describes must not happen.
func (d *Daemon) appendRecord(r audit.Record) (audit.Record, error) {
	rel, err := d.released()
	if err != nil {
		return audit.Record{}, err
	}
	return rel.Append(r)
}

// record appends r where no one waits for the answer, and logs a failure.
func (d *Daemon) record(r audit.Record) {
	if _, err := d.appendRecord(r); err != nil {
		d.logf("audit: %v", err)
	}
}

// actor is uid as the audit log names it.
func (d *Daemon) actor(uid int) audit.Actor { return audit.Actor{UID: uid, User: d.userName(uid)} }

// userName is the login name of uid, looked up once.
func (d *Daemon) userName(uid int) string {
	if v, ok := d.actors.Load(uid); ok {
		return v.(string)
	}
	name := ""
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		name = u.Username
	}
	d.actors.Store(uid, name)
	return name
}

// changed is called after every change to the store made through the API.
func (d *Daemon) changed() {
	d.src.Invalidate()
	if rel, err := d.released(); err == nil {
		rel.Changed()
	}
	d.mu.Lock()
	d.scanM = nil
	d.scanGen++
	d.mu.Unlock()
}

// Listen creates the run directory when missing and listens on both
// sockets. It refuses a run directory that is not private, and a socket an
// agent still answers on (naming its pid), unless Options.Shared lets it
// leave the API socket to that agent.
func (d *Daemon) Listen() error {
	if err := EnsureRunDir(d.opts.RunDir); err != nil {
		return err
	}
	api, err := unixsock.Listen(d.APISocket())
	if err != nil {
		if !d.opts.Shared || !errors.Is(err, unixsock.ErrAgentRunning) {
			return err
		}
		api = nil
		d.logf("another wsx agent serves %s; this one serves the SSH agent only", d.APISocket())
	}
	ag, err := d.listenAgent()
	if err != nil {
		if api != nil {
			api.Close()
		}
		return err
	}
	d.apiL, d.agentL = api, ag
	d.sockets = map[string]os.FileInfo{}
	mine := []string{d.opts.AgentSocket}
	if api != nil {
		mine = append(mine, d.APISocket())
	}
	if d.opts.SharedDir != "" && api != nil {
		for _, name := range []string{AgentSocketName, APISocketName} {
			p := filepath.Join(d.opts.SharedDir, name)
			l, err := unixsock.ListenGroup(p)
			if err != nil {
				for _, l := range append(d.sharedL, api, ag) {
					l.Close()
				}
				d.sharedL = nil
				return err
			}
			d.sharedL = append(d.sharedL, l)
			mine = append(mine, p)
		}
	}
	for _, p := range mine {
		if fi, err := os.Lstat(p); err == nil {
			d.sockets[p] = fi
		}
	}
	return nil
}

// listenAgent listens on the SSH agent socket: in the run directory with
// its checks, elsewhere (-a) in any directory. A Shared daemon whose
// default socket is taken takes RunDir/agent.PID.sock.
func (d *Daemon) listenAgent() (net.Listener, error) {
	sock := d.opts.AgentSocket
	if filepath.Dir(sock) != filepath.Clean(d.opts.RunDir) {
		return unixsock.ListenShared(sock)
	}
	l, err := unixsock.Listen(sock)
	if err != nil && d.opts.Shared && d.defaultSock && errors.Is(err, unixsock.ErrAgentRunning) {
		d.opts.AgentSocket = filepath.Join(d.opts.RunDir, fmt.Sprintf("agent.%d.sock", d.pid))
		return unixsock.Listen(d.opts.AgentSocket)
	}
	return l, err
}

// socketsGone names a socket file that was removed or replaced since
// Listen, or returns "".
func (d *Daemon) socketsGone() string {
	for p, fi := range d.sockets {
		now, err := os.Lstat(p)
		if err != nil || !os.SameFile(fi, now) {
			return p
		}
	}
	return ""
}

// EnsureRunDir creates dir, mode 0700, when it does not exist; its parent
// must. An existing dir is left as it is: Listen refuses it unless it is a
// real directory of the user with mode 0700.
func EnsureRunDir(dir string) error {
	err := os.Mkdir(dir, 0o700)
	switch {
	case err == nil:
		// The umask may have taken bits away; a fresh dir of ours is
		// safe to chmod.
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("run directory %s: %w", dir, err)
		}
		return nil
	case errors.Is(err, fs.ErrExist):
		return nil
	}
	return fmt.Errorf("create run directory %s: %w", dir, err)
}

// Serve serves both sockets until ctx is done, then locks the store and
// removes the sockets. Listen must have been called.
func (d *Daemon) Serve(ctx context.Context) error {
	if d.agentL == nil {
		return errors.New("daemon: Serve before Listen")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, 2+len(d.sharedL))
	agentOpts := sshagent.ServeOptions{
		Authorize: d.authorizeAgent,
		OnDenied:  func(p sshagent.Peer, err error) { d.denied(p, audit.ViaAgent, err) },
		OnClose:   d.peers.forget,
	}
	go func() { errs <- sshagent.Serve(ctx, d.agentL, d.agent, agentOpts) }()
	srv := d.apiServer()
	if len(d.sharedL) == 2 {
		go func() { errs <- sshagent.Serve(ctx, d.sharedL[0], d.agent, agentOpts) }()
		go func() {
			err := srv.Serve(&peerListener{Listener: d.sharedL[1], d: d})
			if errors.Is(err, http.ErrServerClosed) {
				err = nil
			}
			errs <- err
		}()
	}
	go func() {
		if d.apiL == nil {
			<-ctx.Done()
			errs <- nil
			return
		}
		err := srv.Serve(&peerListener{Listener: d.apiL, d: d})
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		errs <- err
	}()
	go func() {
		t := time.NewTicker(d.checkEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if p := d.socketsGone(); p != "" {
					d.logf("socket %s was removed or replaced; stopping", p)
					cancel()
					return
				}
			}
		}
	}()
	pending := cap(errs)
	var first error
	select {
	case <-ctx.Done():
	case first = <-errs:
		pending--
		cancel()
	}
	sctx, scancel := context.WithTimeout(context.Background(), 2*time.Second)
	srv.Shutdown(sctx)
	scancel()
	srv.Close()
	for ; pending > 0; pending-- {
		if err := <-errs; first == nil {
			first = err
		}
	}
	d.lock("agent stopped", false)
	return first
}

// Status is what GET /v1/status answers.
type Status struct {
	PID         int       `json:"pid"`
	Home        string    `json:"home"`
	StoreID     string    `json:"store_id"`
	Locked      bool      `json:"locked"`
	AgentLocked bool      `json:"agent_locked"` // by ssh-add -x
	AgentSocket string    `json:"agent_socket"`
	APISocket   string    `json:"api_socket"`
	SharedDir   string    `json:"shared_dir,omitempty"`  // where guests reach the agent
	Role        string    `json:"role,omitempty"`        // the asker's: owner, admin, edit, view
	Keys        int       `json:"keys"`                  // store keys served, as last listed
	AddedKeys   int       `json:"added_keys"`            // keys added with ssh-add
	HiddenKeys  []string  `json:"hidden_keys,omitempty"` // store keys removed with ssh-add -d/-D
	LockAfter   string    `json:"lock_after"`            // "0s": never
	Started     time.Time `json:"started"`
}

// Status describes the daemon.
func (d *Daemon) Status() Status {
	s := Status{
		PID: d.pid, Home: d.st.Home(), StoreID: d.st.ID(), Locked: d.st.Locked(),
		AgentLocked: d.agent.LockedByClient(), AgentSocket: d.opts.AgentSocket, APISocket: d.APISocket(),
		SharedDir: d.opts.SharedDir,
		AddedKeys: d.agent.AddedKeys(), LockAfter: d.opts.LockAfter.String(), Started: d.start.UTC(),
	}
	if !s.Locked {
		// As last listed: a status costs no read of the store.
		s.Keys = d.src.Listed()
		s.HiddenKeys = d.agent.Hidden()
	}
	return s
}

// touchSource is the key source as the agent sees it: listing keys counts
// as a use for the idle lock.
type touchSource struct {
	*sshagent.CachedSource
	touch func()
}

func (t touchSource) Keys() ([]sshagent.StoredKey, error) {
	t.touch()
	return t.CachedSource.Keys()
}
