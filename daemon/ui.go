package daemon

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"time"

	"github.com/wsxdev/wsx/audit"
	"github.com/wsxdev/wsx/internal/access"
	"github.com/wsxdev/wsx/internal/release"
	"github.com/wsxdev/wsx/sshagent"
	"github.com/wsxdev/wsx/store"
	"github.com/wsxdev/wsx/ui"
)

// uiRequest is the body of POST /v1/ui: where to serve the page, and the
// directory `wsx ui` runs in (for the project's wsx.toml).
type uiRequest struct {
	Port int           `json:"port,omitempty"`
	Dir  string        `json:"dir,omitempty"`
	Idle time.Duration `json:"idle,omitempty"`
}

// UIEvent is a line of the answer to POST /v1/ui: first the page's URL,
// then, when the page stops on its own, why.
type UIEvent struct {
	URL     string `json:"url,omitempty"`
	Stopped string `json:"stopped,omitempty"`
}

// handleUI serves the settings page (package ui) for as long as the
// request lasts: the answer's first line is the URL with its one-time
// token, and the page stops when the client hangs up, or on its own after
// its idle timeout (a last line says so).
func (d *Daemon) handleUI(w http.ResponseWriter, r *http.Request, p sshagent.Peer) error {
	var req uiRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.Port < 0 || req.Port > 65535 {
		return fmt.Errorf("%w: port %d", errBadRequest, req.Port)
	}
	srv, err := ui.New(ui.Options{
		Backend:     &uiBackend{d: d, peer: p, recBy: release.Peer{PID: p.PID, Actor: d.actor(p.UID)}},
		Addr:        "127.0.0.1:" + strconv.Itoa(req.Port),
		Dir:         req.Dir,
		IdleTimeout: req.Idle,
		Logf:        d.logf,
	})
	if err != nil {
		return err
	}
	url, err := srv.Listen()
	if err != nil {
		return err
	}
	// The request lasts as long as the page: no deadline on it.
	rc := http.NewResponseController(w)
	rc.SetReadDeadline(time.Time{})
	rc.SetWriteDeadline(time.Time{})
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	// A stopping agent stops the page at once, not after the grace its
	// API gives requests in flight.
	if hs, ok := r.Context().Value(http.ServerContextKey).(*http.Server); ok {
		hs.RegisterOnShutdown(cancel)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx) }()
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	enc.Encode(UIEvent{URL: url})
	rc.Flush()
	d.logf("settings page served for pid %d", p.PID)
	select {
	case <-ctx.Done():
		<-served
		if r.Context().Err() == nil {
			enc.Encode(UIEvent{Stopped: "the agent stopped"})
			rc.Flush()
		}
	case <-srv.Done():
		<-served
		enc.Encode(UIEvent{Stopped: srv.Reason()})
		rc.Flush()
	}
	d.logf("settings page stopped (%s)", srv.Reason())
	return nil
}

// uiBackend is the daemon as the settings page sees it: the store's
// metadata and its add, edit and remove paths, records by the process that
// asked for the page, the agent's unlock, its grants. It has no way to a
// value.
type uiBackend struct {
	d     *Daemon
	peer  sshagent.Peer // the `wsx ui` process
	recBy release.Peer
}

func (b *uiBackend) Locked() bool { return b.d.Locked() }

func (b *uiBackend) Unlock(passphrase []byte) error { return b.d.unlock(passphrase, audit.ViaUI) }

func (b *uiBackend) List() ([]store.Meta, error) {
	b.d.touch()
	return b.d.st.List()
}

func (b *uiBackend) Add(sec store.Secret, opts store.AddOptions) (store.Meta, error) {
	b.d.touch()
	m, err := b.d.st.Add(sec, opts)
	if err == nil {
		b.d.changed()
	}
	return m, err
}

func (b *uiBackend) Edit(name string, e store.Edit) (store.Meta, error) {
	b.d.touch()
	m, err := b.d.st.Edit(name, e)
	if err == nil {
		b.d.changed()
	}
	return m, err
}

func (b *uiBackend) Remove(name string) error {
	b.d.touch()
	err := b.d.st.Remove(name)
	if err == nil {
		b.d.changed()
	}
	return err
}

func (b *uiBackend) Record(rs ...audit.Record) error {
	rel, err := b.d.released()
	if err != nil {
		return err
	}
	return rel.RecordBy(b.recBy, rs)
}

func (b *uiBackend) Grants() (access.Grants, error) {
	b.d.touch()
	return b.d.loadGrants()
}

// Share changes the grants as `wsx share` through the API does: the
// checker gives the role of the process that asked for the page (asked
// again at each change), access.Change decides what that role may grant,
// and the change is recorded (granted or revoked) via ui.
func (b *uiBackend) Share(req access.Request) (access.Grant, error) {
	b.d.touch()
	role, err := b.d.authorize(b.peer, access.Share)
	if err != nil {
		b.d.denied(b.peer, audit.ViaUI, err)
		return access.Grant{}, err
	}
	return b.d.change(req, role, b.peer, audit.ViaUI)
}

func (b *uiBackend) GuestEnv() string {
	dir := b.d.opts.SharedDir
	if dir == "" {
		return ""
	}
	owner := strconv.Itoa(b.d.owner)
	if u, err := user.LookupId(owner); err == nil {
		owner = u.Username
	}
	return fmt.Sprintf("WSX_AGENT=%s:%s SSH_AUTH_SOCK=%s", owner, dir, filepath.Join(dir, AgentSocketName))
}

// maxUIAudit bounds the audit log the page reads.
const maxUIAudit = 64 << 20

func (b *uiBackend) AuditRecords() ([]audit.Record, error) {
	f, err := os.Open(b.d.opts.AuditPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open audit log: %w", err)
	}
	defer f.Close()
	return audit.ReadRecords(bufio.NewReader(io.LimitReader(f, maxUIAudit)))
}

func (b *uiBackend) Status() []ui.Fact {
	s := b.d.Status()
	state := "unlocked"
	if s.Locked {
		state = "locked"
	}
	if s.AgentLocked {
		state += "; SSH agent locked with ssh-add -x"
	}
	facts := []ui.Fact{
		{Label: "Store", Value: state},
		{Label: "Store directory", Value: s.Home},
		{Label: "Agent", Value: fmt.Sprintf("pid %d, since %s", s.PID, s.Started.Local().Format(time.DateTime))},
		{Label: "SSH_AUTH_SOCK", Value: s.AgentSocket},
		{Label: "SSH keys served", Value: fmt.Sprintf("%d from the store, %d added with ssh-add", s.Keys, s.AddedKeys)},
		{Label: "Locks after", Value: s.LockAfter + " without use"},
	}
	if len(s.HiddenKeys) > 0 {
		facts = append(facts, ui.Fact{Label: "Keys removed with ssh-add", Value: fmt.Sprint(s.HiddenKeys)})
	}
	if !s.Locked {
		if res, err := release.Verify(b.d.st, b.d.opts.AuditPath); err == nil {
			v := fmt.Sprintf("OK, %d records", res.Records)
			if !res.OK {
				v = fmt.Sprintf("TAMPERED at record %d: %s", res.BadSeq, res.Reason)
			}
			facts = append(facts, ui.Fact{Label: "Audit log", Value: v})
		}
	}
	return facts
}

// UIOptions are what `wsx ui` asks of the page.
type UIOptions struct {
	Port int           // 0: a free port
	Dir  string        // where wsx.toml is looked for
	Idle time.Duration // 0: ui.DefaultIdleTimeout
}

// ServeUI asks the agent to serve the settings page, calls ready with its
// URL, and waits until ctx is done (the page then stops) or the page
// stops on its own; it returns why.
func (c *Client) ServeUI(ctx context.Context, o UIOptions, ready func(url string) error) (string, error) {
	b, err := json.Marshal(uiRequest{Port: o.Port, Dir: o.Dir, Idle: o.Idle})
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://wsx/v1/ui", bytes.NewReader(b))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	// No timeout: the request lasts as long as the page.
	resp, err := c.hc.Do(req)
	if err != nil {
		if noDaemon(err) {
			return "", fmt.Errorf("%s: %w", c.socket, ErrNoDaemon)
		}
		return "", fmt.Errorf("wsx agent at %s: %w", c.socket, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		var we wireError
		if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&we); err != nil || we.Message == "" {
			return "", fmt.Errorf("wsx agent at %s answered %s", c.socket, resp.Status)
		}
		return "", &RemoteError{Kind: we.Kind, Message: we.Message}
	}
	dec := json.NewDecoder(io.LimitReader(resp.Body, 64<<10))
	var ev UIEvent
	if err := dec.Decode(&ev); err != nil || ev.URL == "" {
		return "", fmt.Errorf("wsx agent at %s: no address for the page", c.socket)
	}
	if err := ready(ev.URL); err != nil {
		return "", err
	}
	for {
		ev = UIEvent{}
		if err := dec.Decode(&ev); err != nil {
			if ctx.Err() != nil {
				return "stopped", nil
			}
			return "", fmt.Errorf("wsx agent at %s stopped serving the page", c.socket)
		}
		if ev.Stopped != "" {
			return ev.Stopped, nil
		}
	}
}
