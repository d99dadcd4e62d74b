package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/wsxdev/wsx/audit"
	"github.com/wsxdev/wsx/credhelper"
	"github.com/wsxdev/wsx/exec"
	"github.com/wsxdev/wsx/internal/access"
	"github.com/wsxdev/wsx/internal/caller"
	"github.com/wsxdev/wsx/internal/erase"
	"github.com/wsxdev/wsx/internal/localapi"
	"github.com/wsxdev/wsx/internal/release"
	"github.com/wsxdev/wsx/internal/remind"
	"github.com/wsxdev/wsx/sshagent"
	"github.com/wsxdev/wsx/store"
)

// Limits of the local API.
const (
	// MaxRequestBody bounds a request body: a secret of store.MaxFileSize
	// and its previous value, base64-encoded, with room for metadata.
	MaxRequestBody = 3*store.MaxFileSize + 64<<10
	apiHeaderLimit = 16 << 10
	apiReadTimeout = 30 * time.Second
	apiIdleTimeout = 60 * time.Second
)

type peerKey struct{}

// factsKey holds a request's *caller.Conn: the process facts of its
// connection's peer, read at the first request that records and kept until
// the connection closes (caller.Conn says why that is the right process).
type factsKey struct{}

// apiConns tracks the API's open connections and which of them wait for
// a request, so that at the cap the one idle for longest makes room (as
// the SSH side does) and idle clients cannot lock the owner out.
type apiConns struct {
	mu    sync.Mutex
	conns map[net.Conn]time.Time // idle since; zero while a request runs
}

// state follows the server's view of c. Only admit adds a connection: a
// state change that comes after admit closed c to make room (the server's
// goroutine for c may have read a request just before) must not count it
// again.
func (a *apiConns) state(c net.Conn, s http.ConnState) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.conns[c]; !ok {
		return
	}
	switch s {
	case http.StateNew, http.StateIdle:
		a.conns[c] = time.Now()
	case http.StateActive:
		a.conns[c] = time.Time{}
	case http.StateClosed, http.StateHijacked:
		delete(a.conns, c)
	}
}

// admit registers a new connection c, when it may be served: under the
// cap, or after closing the connection idle for longest.
func (a *apiConns) admit(c net.Conn, max int) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.conns == nil {
		a.conns = map[net.Conn]time.Time{}
	}
	if len(a.conns) < max {
		a.conns[c] = time.Now()
		return true
	}
	var victim net.Conn
	var since time.Time
	for c, t := range a.conns {
		if !t.IsZero() && (victim == nil || t.Before(since)) {
			victim, since = c, t
		}
	}
	if victim == nil {
		return false
	}
	delete(a.conns, victim)
	victim.Close()
	a.conns[c] = time.Now()
	return true
}

func (d *Daemon) apiServer() *http.Server {
	mux := http.NewServeMux()
	route := func(pattern string, perm access.Action, active bool, h func(w http.ResponseWriter, r *http.Request, p sshagent.Peer) error) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			p, ok := r.Context().Value(peerKey{}).(sshagent.Peer)
			if !ok {
				writeError(w, fmt.Errorf("no peer credentials: %w", ErrDenied))
				return
			}
			// Asked again on every request, so a revoked role takes
			// effect on an open connection.
			role, err := d.authorize(p, perm)
			if err != nil {
				d.denied(p, audit.ViaAPI, err)
				writeError(w, err)
				return
			}
			if h := r.Header.Get(HomeHeader); h != "" && filepath.Clean(h) != filepath.Clean(d.st.Home()) {
				writeError(w, fmt.Errorf("this agent serves %s, not %s: %w", d.st.Home(), h, ErrNoDaemon))
				return
			}
			r = withRole(r, role)
			if active {
				d.touch()
			}
			r.Body = http.MaxBytesReader(w, r.Body, MaxRequestBody)
			// Values pass through here: what the handler leaves on the
			// heap is erased once garbage, where the build allows it.
			erase.Do(func() { err = h(w, r, p) })
			if err != nil {
				writeError(w, err)
			}
			d.debugf("api: %s %s from pid %d: %v", r.Method, r.URL.Path, p.PID, errOK(err))
		})
	}
	route("GET /v1/status", access.Status, false, d.handleStatus)
	route("POST /v1/lock", access.Lock, false, d.handleLock)
	route("POST /v1/unlock", access.Unlock, false, d.handleUnlock)
	route("POST /v1/reload", access.Write, false, d.handleReload)
	route("GET /v1/secrets", access.Read, true, d.handleList)
	route("POST /v1/secrets", access.Write, true, d.handleAdd)
	route("GET /v1/secrets/{name}", access.Read, true, d.handleStat)
	route("PATCH /v1/secrets/{name}", access.Write, true, d.handleEdit)
	route("DELETE /v1/secrets/{name}", access.Write, true, d.handleRemove)
	route("POST /v1/secrets/{name}/compare", access.Use, true, d.handleCompare)
	route("POST /v1/use", access.Use, true, d.handleUse)
	// get is a use; a store or erase that writes asks for Write too
	// (credSecrets).
	route("POST /v1/credential/{op}", access.Use, true, d.handleCredential)
	route("POST /v1/audit", access.Use, true, d.handleAudit)
	route("GET /v1/audit/verify", access.Write, true, d.handleVerify)
	route("POST /v1/scan", access.Use, true, d.handleScan)
	route("GET /v1/grants", access.Share, false, d.handleGrants)
	route("POST /v1/grants", access.Share, false, d.handleShare)
	// The page unlocks, writes and shares admin: it is the owner's, as
	// Unlock is (the one action of the owner alone a locked store allows).
	route("POST /v1/ui", access.Unlock, true, d.handleUI)

	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       apiReadTimeout,
		WriteTimeout:      apiReadTimeout,
		IdleTimeout:       apiIdleTimeout,
		MaxHeaderBytes:    apiHeaderLimit,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			if pc, ok := c.(*peerConn); ok {
				ctx = context.WithValue(ctx, factsKey{}, pc.facts)
				return context.WithValue(ctx, peerKey{}, pc.peer)
			}
			return ctx
		},
		ConnState: d.apiConns.state,
		ErrorLog:  log.New(logWriter{d.logf}, "api: ", 0),
	}
	return srv
}

func errOK(err error) any {
	if err == nil {
		return "ok"
	}
	return err
}

// logWriter turns the http server's log lines into Logf calls.
type logWriter struct{ logf func(string, ...any) }

func (w logWriter) Write(p []byte) (int, error) {
	w.logf("%s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// decode reads one JSON value from the request body, and nothing after it.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %v", errBadRequest, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: data after the request", errBadRequest)
	}
	return nil
}

func writeJSON(w http.ResponseWriter, code int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	return json.NewEncoder(w).Encode(v)
}

func (d *Daemon) handleStatus(w http.ResponseWriter, r *http.Request, _ sshagent.Peer) error {
	st := d.Status()
	st.Role = roleOf(r).String()
	return writeJSON(w, http.StatusOK, st)
}

func (d *Daemon) handleLock(w http.ResponseWriter, _ *http.Request, p sshagent.Peer) error {
	if err := d.Lock(fmt.Sprintf("wsx lock, pid %d", p.PID)); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, d.Status())
}

// unlockRequest is the body of POST /v1/unlock.
type unlockRequest struct {
	Passphrase []byte `json:"passphrase"`
}

func (d *Daemon) handleUnlock(w http.ResponseWriter, r *http.Request, _ sshagent.Peer) error {
	var req unlockRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	defer clear(req.Passphrase)
	if err := d.Unlock(req.Passphrase); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, d.Status())
}

func (d *Daemon) handleReload(w http.ResponseWriter, _ *http.Request, _ sshagent.Peer) error {
	if err := d.Reload(); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, d.Status())
}

func (d *Daemon) handleList(w http.ResponseWriter, r *http.Request, _ sshagent.Peer) error {
	metas, err := d.st.List()
	if err != nil && metas == nil {
		return err
	}
	resp := listResponse{Secrets: metas}
	if err != nil {
		resp.Error = newWireError(err)
	}
	if de, ok := errors.AsType[*store.DamagedError](err); ok {
		resp.Damaged = de.Names
		for _, e := range de.Errs {
			resp.DamagedErrors = append(resp.DamagedErrors, newWireError(e))
		}
	}
	if resp.Secrets == nil {
		resp.Secrets = []store.Meta{}
	}
	if r.Header.Get("Accept") == metasType {
		return writeMetas(w, resp)
	}
	return writeJSON(w, http.StatusOK, resp)
}

// statResponse is the answer to GET /v1/secrets/{name}: the metadata and
// the value's size, never the value.
type statResponse struct {
	Meta store.Meta `json:"meta"`
	Size int        `json:"size"`
}

func (d *Daemon) handleStat(w http.ResponseWriter, r *http.Request, _ sshagent.Peer) error {
	sec, err := d.st.Get(r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, statResponse{Meta: sec.Meta, Size: sec.Value.Len()})
}

// useRequest is the body of POST /v1/use: the secrets one command uses,
// and what the client says of the use.
type useRequest struct {
	Names []string `json:"names"`
	// Select, in place of Names, asks the agent to choose the secrets
	// as `wsx exec` would (exec.Choose); the answer is a selectResponse.
	Select *release.Selection       `json:"select,omitempty"`
	Via    string                   `json:"via"`
	Claim  audit.Context            `json:"context"`
	Places map[string]release.Place `json:"places,omitempty"`
}

// handleUse is the only handler that answers with values: release.Store
// writes the `used` records (process facts from the socket's peer) before
// the values are sent, and sends none when it cannot.
func (d *Daemon) handleUse(w http.ResponseWriter, r *http.Request, p sshagent.Peer) error {
	var req useRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	rel, err := d.released()
	if err != nil {
		return err
	}
	if req.Via == "" {
		req.Via = audit.ViaAPI
	}
	if req.Select != nil {
		return d.useSelected(w, r, p, rel, req)
	}
	secs, err := rel.UseBy(d.peer(r, p), req.Names, release.Record{Via: req.Via, Context: req.Claim, Places: req.Places})
	if err != nil {
		return err
	}
	out := make([]wireSecret, len(secs))
	for i, sec := range secs {
		out[i] = encodeSecret(sec)
	}
	defer func() {
		for _, ws := range out {
			clear(ws.Value)
		}
	}()
	return writeJSON(w, http.StatusOK, out)
}

// selectResponse is the answer to a POST /v1/use that selects: what was
// chosen, and the values of Choice.Names, in that order.
type selectResponse struct {
	Choice  release.Choice `json:"choice"`
	Secrets []wireSecret   `json:"secrets"`
}

// useSelected chooses the secrets of req.Select from the store's list,
// as the command would (exec.Choose), then releases them as handleUse
// does: one request for `wsx exec`. A selection the choice refuses, or
// one that needs the proxy (which starts between choice and release), is
// answered with release.ErrChooseHere: the client lists and chooses
// itself, and so reports the refusal as it always did.
func (d *Daemon) useSelected(w http.ResponseWriter, r *http.Request, p sshagent.Peer, rel *release.Store, req useRequest) error {
	sel := *req.Select
	if len(req.Names) > 0 || len(req.Places) > 0 {
		return fmt.Errorf("%w: names and a selection", errBadRequest)
	}
	metas, err := d.st.List()
	choice, err := exec.Choose(metas, err, sel, credhelper.IsStored)
	if err != nil || len(choice.Proxied) > 0 {
		return release.ErrChooseHere
	}
	resp := selectResponse{Choice: choice, Secrets: []wireSecret{}}
	if len(choice.Names) > 0 {
		rec := release.Record{Via: req.Via, Context: req.Claim}
		if sel.Script != nil {
			// The script names the variables; the records name the secrets.
			rec.Places = make(map[string]release.Place, len(choice.Names))
			for _, n := range choice.Names {
				v := n
				if nv, ok := sel.Rename[n]; ok {
					v = nv
				}
				rec.Places[n] = sel.Script.Place(v)
			}
		}
		secs, err := rel.UseBy(d.peer(r, p), choice.Names, rec)
		if err != nil {
			return fmt.Errorf("record the use of %s: %w", strings.Join(choice.Names, ", "), err)
		}
		resp.Secrets = make([]wireSecret, len(secs))
		for i, sec := range secs {
			resp.Secrets[i] = encodeSecret(sec)
		}
	}
	defer func() {
		for _, ws := range resp.Secrets {
			clear(ws.Value)
		}
	}()
	return writeJSON(w, http.StatusOK, resp)
}

// handleCredential runs the credential helper here, on the unlocked store:
// one request per `git credential fill`. The use is recorded with the git
// command found above the peer (the helper git started).
func (d *Daemon) handleCredential(w http.ResponseWriter, r *http.Request, p sshagent.Peer) error {
	var req localapi.CredentialRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	defer clear(req.Input)
	if filepath.Clean(req.Home) != filepath.Clean(d.st.Home()) {
		return fmt.Errorf("this agent serves %s, not %s: %w", d.st.Home(), req.Home, ErrNoDaemon)
	}
	rel, err := d.released()
	if err != nil {
		return err
	}
	var out, note bytes.Buffer
	defer func() { clear(out.Bytes()) }()
	var sent []remind.Secret
	err = credhelper.Run(r.Context(), r.PathValue("op"), credhelper.Options{
		Stdin: bytes.NewReader(req.Input), Stdout: &out, Stderr: &note,
		Secrets: credSecrets{d, rel, d.peer(r, p), func() error {
			// Credentials git asks to keep, or to erase, are writes:
			// asked of the peer's role when the helper does write.
			if _, err := d.authorize(p, access.Write); err != nil {
				d.denied(p, audit.ViaCredential, err)
				return err
			}
			return nil
		}},
		Remind: func(m store.Meta) {
			sent = append(sent, remind.Secret{Name: m.Name, Created: m.Created, Rotated: m.Rotated, RotateEvery: m.RotateEvery})
		},
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, localapi.CredentialResponse{Output: out.Bytes(), Note: note.String(), Remind: sent})
}

// credSecrets is the store as the credential helper uses it in the
// daemon: uses and records are the peer's, and so is the right to write
// (mayWrite, asked before each write).
type credSecrets struct {
	d        *Daemon
	rel      *release.Store
	peer     release.Peer
	mayWrite func() error
}

func (c credSecrets) List() ([]store.Meta, error) { return c.d.st.List() }

func (c credSecrets) Compare(name string, v store.Value) (store.Match, error) {
	return c.d.st.Compare(name, v)
}

func (c credSecrets) Add(sec store.Secret, opts ...store.AddOptions) (store.Meta, error) {
	if err := c.mayWrite(); err != nil {
		return store.Meta{}, err
	}
	m, err := c.d.st.Add(sec, opts...)
	if err == nil {
		c.d.changed()
	}
	return m, err
}

func (c credSecrets) Edit(name string, e store.Edit) (store.Meta, error) {
	if err := c.mayWrite(); err != nil {
		return store.Meta{}, err
	}
	m, err := c.d.st.Edit(name, e)
	if err == nil {
		c.d.changed()
	}
	return m, err
}

func (c credSecrets) Remove(name string) error {
	if err := c.mayWrite(); err != nil {
		return err
	}
	err := c.d.st.Remove(name)
	if err == nil {
		c.d.changed()
	}
	return err
}

func (c credSecrets) Use(_ context.Context, names []string, rec release.Record) ([]store.Secret, error) {
	return c.rel.UseBy(c.peer, names, rec)
}

func (c credSecrets) Record(rs ...audit.Record) error { return c.rel.RecordBy(c.peer, rs) }

// peer is p, making request r, as the release path knows it: a guest's
// records carry its role.
func (d *Daemon) peer(r *http.Request, p sshagent.Peer) release.Peer {
	facts, _ := r.Context().Value(factsKey{}).(*caller.Conn)
	return release.Peer{PID: p.PID, Actor: d.actorAs(p.UID, roleOf(r)), Remote: true, Conn: facts}
}

// addRequest is the body of POST /v1/secrets.
type addRequest struct {
	Secret             wireSecret `json:"secret"`
	AllowDangerousName bool       `json:"allow_dangerous_name,omitempty"`
}

func (d *Daemon) handleAdd(w http.ResponseWriter, r *http.Request, _ sshagent.Peer) error {
	var req addRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	sec := req.Secret.decode()
	defer clear(req.Secret.Value)
	// The store validates it as for the command line: name, type,
	// metadata, and the value for its type.
	m, err := d.st.Add(sec, store.AddOptions{AllowDangerousName: req.AllowDangerousName})
	if err != nil {
		return err
	}
	d.changed()
	return writeJSON(w, http.StatusCreated, m)
}

func (d *Daemon) handleEdit(w http.ResponseWriter, r *http.Request, _ sshagent.Peer) error {
	var req wireEdit
	if err := decode(r, &req); err != nil {
		return err
	}
	defer clear(req.Value)
	m, err := d.st.Edit(r.PathValue("name"), req.decode())
	if err != nil {
		return err
	}
	d.changed()
	return writeJSON(w, http.StatusOK, m)
}

func (d *Daemon) handleRemove(w http.ResponseWriter, r *http.Request, _ sshagent.Peer) error {
	if err := d.st.Remove(r.PathValue("name")); err != nil {
		return err
	}
	d.changed()
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// compareRequest is the body of POST /v1/secrets/{name}/compare.
type compareRequest struct {
	Value []byte `json:"value"`
}

// compareResponse says which value of the secret the request's is.
type compareResponse struct {
	Match store.Match `json:"match"`
}

func (d *Daemon) handleCompare(w http.ResponseWriter, r *http.Request, _ sshagent.Peer) error {
	var req compareRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	v := store.NewValue(req.Value)
	clear(req.Value)
	m, err := d.st.Compare(r.PathValue("name"), v)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, compareResponse{Match: m})
}

// auditRequest is the body of POST /v1/audit: records of one command's
// events other than uses, appended in order. Their process facts are the
// peer's; the context is the client's claim.
type auditRequest struct {
	Records []audit.Record `json:"records"`
}

func (d *Daemon) handleAudit(w http.ResponseWriter, r *http.Request, p sshagent.Peer) error {
	var req auditRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	// A record of a change is asked of the role that may make it: a
	// guest that may only use cannot record that a secret was changed.
	for _, rec := range req.Records {
		a := access.Use
		switch rec.Event {
		case audit.EventCreated, audit.EventUpdated, audit.EventRotated, audit.EventDeleted, audit.EventFetched:
			a = access.Write
		case audit.EventPassphrase:
			a = access.Passwd
		}
		if _, err := d.authorize(p, a); err != nil {
			d.denied(p, audit.ViaAPI, err)
			return err
		}
	}
	rel, err := d.released()
	if err != nil {
		return err
	}
	if err := rel.RecordBy(d.peer(r, p), req.Records); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// handleVerify checks the audit log with its key, which never leaves the
// daemon.
func (d *Daemon) handleVerify(w http.ResponseWriter, _ *http.Request, _ sshagent.Peer) error {
	if _, err := d.released(); err != nil {
		return err
	}
	res, err := release.Verify(d.st, d.opts.AuditPath)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, res)
}

// listResponse is the answer to GET /v1/secrets. Error is set when some
// secrets could not be read (the store's List returns the others with it);
// Damaged then names them, and DamagedErrors says why, one per name.
type listResponse struct {
	Secrets       []store.Meta `json:"secrets"`
	Error         *wireError   `json:"error,omitempty"`
	Damaged       []string     `json:"damaged,omitempty"`
	DamagedErrors []*wireError `json:"damaged_errors,omitempty"`
}

var errBadRequest = errors.New("bad request")
