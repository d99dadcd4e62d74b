package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/wsxdev/wsx/audit"
	"github.com/wsxdev/wsx/internal/erase"
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

// apiConns tracks the API's open connections and which of them wait for
// a request, so that at the cap the one idle for longest makes room (as
// the SSH side does) and idle clients cannot lock the owner out.
type apiConns struct {
	mu    sync.Mutex
	conns map[net.Conn]time.Time // idle since; zero while a request runs
}

func (a *apiConns) state(c net.Conn, s http.ConnState) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.conns == nil {
		a.conns = map[net.Conn]time.Time{}
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
	route := func(pattern string, perm Permission, active bool, h func(w http.ResponseWriter, r *http.Request, p sshagent.Peer) error) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			p, ok := r.Context().Value(peerKey{}).(sshagent.Peer)
			if !ok {
				writeError(w, fmt.Errorf("no peer credentials: %w", ErrDenied))
				return
			}
			// Asked again on every request, so a revoked role takes
			// effect on an open connection.
			if err := d.authorize(p, perm); err != nil {
				d.denied(p, audit.ViaAPI, err)
				writeError(w, err)
				return
			}
			if active {
				d.touch()
			}
			r.Body = http.MaxBytesReader(w, r.Body, MaxRequestBody)
			var err error
			// Values pass through here: what the handler leaves on the
			// heap is erased once garbage, where the build allows it.
			erase.Do(func() { err = h(w, r, p) })
			if err != nil {
				writeError(w, err)
			}
			d.debugf("api: %s %s from pid %d: %v", r.Method, r.URL.Path, p.PID, errOK(err))
		})
	}
	route("GET /v1/status", PermStatus, false, d.handleStatus)
	route("POST /v1/lock", PermAdmin, false, d.handleLock)
	route("POST /v1/unlock", PermAdmin, false, d.handleUnlock)
	route("POST /v1/reload", PermAdmin, false, d.handleReload)
	route("GET /v1/secrets", PermList, true, d.handleList)
	route("POST /v1/secrets", PermWrite, true, d.handleAdd)
	route("GET /v1/secrets/{name}", PermUse, true, d.handleGet)
	route("PUT /v1/secrets/{name}", PermWrite, true, d.handleUpdate)
	route("DELETE /v1/secrets/{name}", PermWrite, true, d.handleRemove)
	route("POST /v1/secrets/{name}/use", PermUse, true, d.handleUse)
	route("POST /v1/audit", PermUse, true, d.handleAudit)
	route("POST /v1/audit/batch", PermUse, true, d.handleAuditBatch)
	route("GET /v1/audit/key", PermAdmin, true, d.handleAuditKey)

	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       apiReadTimeout,
		WriteTimeout:      apiReadTimeout,
		IdleTimeout:       apiIdleTimeout,
		MaxHeaderBytes:    apiHeaderLimit,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			if pc, ok := c.(*peerConn); ok {
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

func (d *Daemon) handleStatus(w http.ResponseWriter, _ *http.Request, _ sshagent.Peer) error {
	return writeJSON(w, http.StatusOK, d.Status())
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

func (d *Daemon) handleList(w http.ResponseWriter, _ *http.Request, _ sshagent.Peer) error {
	metas, err := d.st.List()
	if err != nil && metas == nil {
		return err
	}
	resp := listResponse{Secrets: metas}
	if err != nil {
		resp.Error = newWireError(err)
	}
	if resp.Secrets == nil {
		resp.Secrets = []store.Meta{}
	}
	return writeJSON(w, http.StatusOK, resp)
}

func (d *Daemon) handleGet(w http.ResponseWriter, r *http.Request, _ sshagent.Peer) error {
	sec, err := d.st.Get(r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, encodeSecret(sec, r.URL.Query().Get("all") == "1"))
}

// useRequest is the body of POST /v1/secrets/{name}/use: who uses the
// secret, for its `used` record.
type useRequest struct {
	Via     string         `json:"via"`
	Process *audit.Process `json:"process,omitempty"`
	Context *audit.Context `json:"context,omitempty"`
}

func (d *Daemon) handleUse(w http.ResponseWriter, r *http.Request, p sshagent.Peer) error {
	var req useRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	name := r.PathValue("name")
	sec, err := d.st.Get(name)
	if err != nil {
		return err
	}
	if req.Via == "" {
		req.Via = audit.ViaAPI
	}
	rec := audit.Record{Event: audit.EventUsed, Secret: sec.Name, Via: req.Via, Result: audit.ResultOK,
		Actor: d.actor(p.UID), Process: req.Process, Context: req.Context}
	if rec.Process == nil {
		rec.Process = d.describe(p.PID).proc
	}
	// The record is written before the value is sent; its fsync comes
	// with the group commit, as for signatures.
	if _, err := d.appendRecord(rec); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, encodeSecret(sec, false))
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
	sec, err := req.Secret.decode()
	if err != nil {
		return err
	}
	m, err := d.st.Add(sec, store.AddOptions{AllowDangerousName: req.AllowDangerousName})
	if err != nil {
		return err
	}
	d.changed()
	return writeJSON(w, http.StatusCreated, m)
}

// updateRequest is the body of PUT /v1/secrets/{name}: the secret as the
// client changed it, from the version it read.
type updateRequest struct {
	Version uint64     `json:"version"`
	Secret  wireSecret `json:"secret"`
}

func (d *Daemon) handleUpdate(w http.ResponseWriter, r *http.Request, _ sshagent.Peer) error {
	var req updateRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	next, err := req.Secret.decode()
	if err != nil {
		return err
	}
	name := r.PathValue("name")
	m, err := d.st.Update(name, func(cur *store.Secret) error {
		if cur.Version != req.Version {
			return fmt.Errorf("secret %s is at version %d, not %d: %w", name, cur.Version, req.Version, ErrConflict)
		}
		// The store keeps its own Created, Version and Updated.
		next.Created, next.Version, next.Updated = cur.Created, cur.Version, cur.Updated
		*cur = next
		return nil
	})
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

// auditRequest is the body of POST /v1/audit.
type auditRequest struct {
	Record audit.Record `json:"record"`
}

func (d *Daemon) handleAudit(w http.ResponseWriter, r *http.Request, p sshagent.Peer) error {
	var req auditRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	out, err := d.appendFrom(p, req.Record)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

// MaxAuditBatch bounds the records of one POST /v1/audit/batch.
const MaxAuditBatch = 1024

// auditBatchRequest is the body of POST /v1/audit/batch: the records of
// one command (wsx exec's one per secret), appended in order with one
// request.
type auditBatchRequest struct {
	Records []audit.Record `json:"records"`
}

func (d *Daemon) handleAuditBatch(w http.ResponseWriter, r *http.Request, p sshagent.Peer) error {
	var req auditBatchRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if len(req.Records) == 0 || len(req.Records) > MaxAuditBatch {
		return fmt.Errorf("%w: a batch holds 1 to %d records, not %d", errBadRequest, MaxAuditBatch, len(req.Records))
	}
	out := make([]audit.Record, 0, len(req.Records))
	for _, rec := range req.Records {
		// On an error the records before it stay: they err on the side
		// of saying a value was used, and the caller releases nothing.
		written, err := d.appendFrom(p, rec)
		if err != nil {
			return err
		}
		out = append(out, written)
	}
	return writeJSON(w, http.StatusOK, out)
}

// appendFrom appends rec as sent by peer p: the actor is who the socket
// says, not who the request says.
func (d *Daemon) appendFrom(p sshagent.Peer, rec audit.Record) (audit.Record, error) {
	rec.Actor = d.actor(p.UID)
	return d.appendRecord(rec)
}

// keyResponse is the answer to GET /v1/audit/key.
type keyResponse struct {
	Key []byte `json:"key"`
}

func (d *Daemon) handleAuditKey(w http.ResponseWriter, _ *http.Request, _ sshagent.Peer) error {
	key, err := d.st.AuditKey()
	if err != nil {
		return err
	}
	defer clear(key)
	return writeJSON(w, http.StatusOK, keyResponse{Key: key})
}

// listResponse is the answer to GET /v1/secrets. Error is set when some
// secrets could not be read (the store's List returns the others with it).
type listResponse struct {
	Secrets []store.Meta `json:"secrets"`
	Error   *wireError   `json:"error,omitempty"`
}

var errBadRequest = errors.New("bad request")
