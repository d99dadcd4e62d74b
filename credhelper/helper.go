package credhelper

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/wsxdev/wsx/audit"
	"github.com/wsxdev/wsx/internal/caller"
	"github.com/wsxdev/wsx/internal/release"
	"github.com/wsxdev/wsx/store"
)

// Secrets is the part of the store the helper uses: the store opened
// here, or the wsx agent. Values come only through Use, which records the
// use first; the other methods never return one.
type Secrets interface {
	release.Releaser
	List() ([]store.Meta, error)
	// Compare says which value of the secret v is, without returning it.
	Compare(name string, v store.Value) (store.Match, error)
	Add(sec store.Secret, opts ...store.AddOptions) (store.Meta, error)
	Edit(name string, e store.Edit) (store.Meta, error)
	Remove(name string) error
	// Record appends records of the helper's other events (created,
	// updated, deleted, denied); the caller's process is found by the
	// store's side, as for a use.
	Record(rs ...audit.Record) error
}

// Options are the inputs of one helper run.
type Options struct {
	Stdin  io.Reader
	Stdout io.Writer // protocol lines only
	Stderr io.Writer // one-line notes for the user

	Secrets Secrets
	Now     func() time.Time // nil: time.Now

	// Locked says the store is locked and cannot be unlocked here (no
	// agent, no terminal, no WSX_PASSPHRASE_FILE). Secrets is not used.
	Locked bool

	// Remind, when set, is given the metadata of each named secret get
	// released, after it was sent: the caller reminds of an overdue
	// rotation there (cmd does so at most once a day per secret).
	Remind func(store.Meta)

	// UnlockHint is the fix shown when the store is locked, e.g. "unlock
	// the agent with `wsx unlock`"; "" shows how to start the agent.
	UnlockHint string
}

// The operations git passes to a helper.
const (
	OpGet        = "get"
	OpStore      = "store"
	OpErase      = "erase"
	OpCapability = "capability"
)

// defaultUnlockHint is the fix for a locked store when no agent runs.
const defaultUnlockHint = "start the agent with `eval \"$(wsx agent -s)\"` (or set WSX_PASSPHRASE_FILE)"

// Run performs one helper operation. An operation it does not know prints
// nothing and returns nil, as gitcredentials(7) asks. A returned error
// (malformed request, unusable value, store or audit failure) never holds
// a value; the caller prints it. Notes that are not failures (locked store,
// a secret a host rejected) go to Stderr and Run returns nil.
func Run(ctx context.Context, op string, opts Options) error {
	switch op {
	case OpCapability:
		_, err := io.WriteString(opts.Stdout, "version 0\n")
		return err
	case OpGet, OpStore, OpErase:
	default:
		return nil
	}
	req, err := Parse(opts.Stdin)
	if err != nil {
		return fmt.Errorf("credential %s: %w", op, err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	h := &helper{ctx: ctx, opts: opts, req: req}
	if h.opts.Now == nil {
		h.opts.Now = time.Now
	}
	if h.opts.Stderr == nil {
		h.opts.Stderr = io.Discard
	}
	if opts.Locked {
		h.locked(op)
		return nil
	}
	t, ok := newTarget(req)
	if !ok {
		return nil // no protocol or host: never a wildcard
	}
	h.t = t
	switch op {
	case OpGet:
		err = h.get()
	case OpStore:
		err = h.store()
	default:
		err = h.erase()
	}
	if errors.Is(err, store.ErrLocked) {
		h.locked(op)
		return nil
	}
	if err != nil {
		return fmt.Errorf("credential %s: %w", op, err)
	}
	return nil
}

type helper struct {
	ctx  context.Context
	opts Options
	req  Request
	t    target
}

// note writes one line to stderr.
func (h *helper) note(format string, args ...any) {
	fmt.Fprintf(h.opts.Stderr, "wsx: "+format+"\n", args...)
}

func (h *helper) locked(op string) {
	unlockHint := h.opts.UnlockHint
	if unlockHint == "" {
		unlockHint = defaultUnlockHint
	}
	switch op {
	case OpGet:
		h.note("the store is locked, so git will ask for the password; %s", unlockHint)
	case OpStore:
		h.note("the store is locked, so the credential git approved was not saved; %s", unlockHint)
	default:
		h.note("the store is locked, so no credential was erased; %s", unlockHint)
	}
}

// auditContext is what the request says of the use: the target git asked
// for. The git command and its repository are found by the store's side
// (caller.Describe), from the process that runs the helper.
func (h *helper) auditContext() audit.Context {
	return audit.Context{Protocol: h.req.Protocol, Host: h.req.Host, Path: h.req.Path}
}

// record appends a record of event ev on name.
func (h *helper) record(ev audit.Event, name, result, detail string) error {
	ctx := h.auditContext()
	return h.opts.Secrets.Record(audit.Record{Event: ev, Secret: name, Via: audit.ViaCredential, Result: result,
		Detail: detail, Context: &ctx})
}

// expiredAt reports whether expiry, when known, is not after now. Only
// Meta.Expires is an expiry: a rotation due date is advice, and sending it
// as password_expiry_utc would make git 2.41 and newer drop a token that
// still works.
func expiredAt(expiry, now time.Time) bool {
	return !expiry.IsZero() && !expiry.After(now)
}

// safeValue reports whether the value of sec can travel in the protocol.
// Only a password may be empty (SSO and Kerberos logins).
func safeValue(sec store.Secret) bool {
	return (!sec.Value.IsZero() || sec.Type == store.TypePassword) && !bytes.ContainsAny(sec.Value.Bytes(), "\n\r\x00")
}

// list returns the metadata of the secrets that can be read. Secrets that
// cannot be read do not stop the helper, as they do not stop wsx exec: each
// is named on stderr and the others answer. Only the credential stored for
// exactly this request is needed by name; when it cannot be read, the
// operation fails, naming it.
func (h *helper) list() ([]store.Meta, error) {
	metas, err := h.opts.Secrets.List()
	de, ok := errors.AsType[*store.DamagedError](err)
	if !ok {
		if err != nil {
			return nil, fmt.Errorf("list secrets: %w", err)
		}
		return metas, nil
	}
	name := keyOf(h.t).name()
	if cause := de.Cause(name); cause != nil {
		return nil, fmt.Errorf("%s, the credential stored for %s, cannot be read: %w", name, display(h.req.Host), cause)
	}
	for _, w := range de.Warnings() {
		h.note("%s", w)
	}
	return metas, nil
}

func (h *helper) get() error {
	metas, err := h.list()
	if err != nil {
		return err
	}
	named, stored, needsPath := candidates(metas, h.t)
	now := h.opts.Now()
	for _, c := range append(named, stored...) {
		if c.stored && expiredAt(c.meta.Expires, now) {
			continue // expired; git would ignore it, so its value is not read
		}
		// One request: the use is recorded, then the value comes back.
		secs, err := h.opts.Secrets.Use(h.ctx, []string{c.meta.Name},
			release.Record{Via: audit.ViaCredential, Context: h.auditContext()})
		if errors.Is(err, store.ErrNotFound) {
			continue // removed since List
		}
		if err != nil {
			return err
		}
		return h.release(c, secs[0], now)
	}
	if miss, ok := schemeMiss(metas, h.t); ok {
		h.note("%s", miss)
	}
	if len(needsPath) > 0 {
		h.note("%s is limited to paths on %s, but git sent no path; run `git config --global credential.useHttpPath true`",
			strings.Join(needsPath, ", "), display(h.req.Host))
	}
	return nil
}

// release sends sec, whose use is on record, to git. A stored credential
// goes back exactly as git approved it, empty user name or password
// included.
func (h *helper) release(c candidate, sec store.Secret, now time.Time) error {
	name := c.meta.Name
	if !safeValue(sec) {
		what := "is empty"
		if !sec.Value.IsZero() {
			what = "holds a line break or NUL byte, which git cannot receive"
		}
		return fmt.Errorf("secret %s %s; replace it with `wsx rotate %s`: %w", name, what, name, ErrUnsafeValue)
	}
	var out bytes.Buffer
	defer func() { clear(out.Bytes()) }()
	resp := Response{Username: c.username, Password: sec.Value, HasUsername: c.stored, HasPassword: true, PasswordExpiry: sec.Expires}
	if err := Format(&out, resp); err != nil {
		return fmt.Errorf("secret %s: user name: %w", name, err)
	}
	if !c.stored && expiredAt(sec.Expires, now) {
		h.note("%s expired at %s (its --expires), so git 2.41 and newer will not use it; give it a new value with `wsx rotate %s`, or if it still works, `wsx set %s --expires never`",
			name, sec.Expires.UTC().Format("2006-01-02 15:04 UTC"), name, name)
	}
	if _, err := h.opts.Stdout.Write(out.Bytes()); err != nil {
		return err
	}
	if !c.stored && h.opts.Remind != nil {
		h.opts.Remind(sec.Meta)
	}
	return nil
}

// expired reports whether the request's password has expired already.
func (h *helper) expired() bool {
	return expiredAt(h.req.PasswordExpiry, h.opts.Now())
}

// validScheme reports whether s can be a URL scheme.
func validScheme(s string) bool {
	if s == "" || !('a' <= s[0] && s[0] <= 'z') {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

func (h *helper) store() error {
	req := h.req
	if !req.HasPassword || !req.HasUsername || req.Ephemeral || h.expired() || !validScheme(h.t.protocol) {
		return nil // nothing git's store helper would keep, or not meant to be kept
	}
	metas, err := h.list()
	if err != nil {
		return err
	}
	named, _, _ := candidates(metas, h.t)
	for _, c := range named {
		same, err := h.holdsPassword(c.meta.Name)
		if err != nil {
			return err
		}
		if same {
			return nil // what we sent: nothing to write
		}
	}
	if len(named) > 0 {
		name := named[0].meta.Name
		h.note("the credential git approved for %s differs from %s, which answers for it, so it was not saved; replace %s with `wsx rotate %s`",
			display(req.Host), name, name, name)
		return nil
	}
	k := keyOf(h.t)
	if len(k.url()) > maxStoredURL {
		h.note("the credential git approved for %s was not saved: its URL is longer than %d bytes", display(req.Host), maxStoredURL)
		return nil
	}
	return h.put(k)
}

// put writes the request's credential under k, creating or replacing it;
// a credential stored already, with the same user and expiry, is not
// written again.
func (h *helper) put(k storedKey) error {
	name := k.name()
	desc, hosts, user := k.description(), []string{k.url()}, k.username
	var never time.Duration
	expiry := h.req.PasswordExpiry
	edit := store.Edit{Type: store.TypePassword, Description: &desc, Hosts: &hosts, Username: &user, RotateEvery: &never,
		Value: h.req.Password, SetValue: true, Expires: &expiry, KeepSame: true}
	fresh := edit
	fresh.KeepSame = false
	for range 3 { // Add and Edit race with other helpers; settle in a few rounds
		_, err := h.opts.Secrets.Edit(name, edit)
		switch {
		case errors.Is(err, store.ErrUnchanged):
			return nil // already stored: no rewrite
		case err == nil:
			return h.changed(audit.EventUpdated, name)
		case !errors.Is(err, store.ErrNotFound):
			return fmt.Errorf("save %s: %w", name, err)
		}
		sec := store.Secret{Meta: store.Meta{Name: name, Created: h.opts.Now()}}
		if err := fresh.Apply(&sec); err != nil {
			return fmt.Errorf("save %s: %w", name, err)
		}
		_, err = h.opts.Secrets.Add(sec)
		if errors.Is(err, store.ErrExists) {
			continue
		}
		if err != nil {
			return fmt.Errorf("save %s: %w", name, err)
		}
		return h.changed(audit.EventCreated, name)
	}
	return fmt.Errorf("save %s: it keeps changing under us; try again", name)
}

func (h *helper) changed(ev audit.Event, name string) error {
	if err := h.record(ev, name, audit.ResultOK, ""); err != nil {
		return fmt.Errorf("record %s of %s: %w", ev, name, err)
	}
	return nil
}

func (h *helper) erase() error {
	metas, err := h.list()
	if err != nil {
		return err
	}
	named, stored, _ := candidates(metas, h.t)
	if h.req.HasPassword {
		for _, c := range named {
			same, err := h.holdsPassword(c.meta.Name)
			if err != nil {
				return err
			}
			if !same {
				continue
			}
			detail := display(h.req.Host) + " rejected " + c.meta.Name
			if err := h.record(audit.EventDenied, c.meta.Name, audit.ResultDenied, detail); err != nil {
				return fmt.Errorf("record rejection of %s: %w", c.meta.Name, err)
			}
			h.note("%s; it was kept: rotate it with `wsx rotate %s`", detail, c.meta.Name)
		}
	}
	for _, c := range stored {
		if h.req.HasPassword {
			same, err := h.holdsPassword(c.meta.Name)
			if err != nil {
				return err
			}
			if !same {
				continue // not the password git saw fail: keep ours
			}
		}
		err := h.opts.Secrets.Remove(c.meta.Name)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("remove %s: %w", c.meta.Name, err)
		}
		if err := h.changed(audit.EventDeleted, c.meta.Name); err != nil {
			return err
		}
	}
	return nil
}

// holdsPassword reports whether the secret called name holds the password
// of the request; a secret removed meanwhile does not.
func (h *helper) holdsPassword(name string) (bool, error) {
	m, err := h.opts.Secrets.Compare(name, h.req.Password)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read %s: %w", name, err)
	}
	return m == store.MatchCurrent, nil
}

// display returns s as it is when every rune is printable, else quoted,
// so that ESC, BEL, CR and the like never reach a terminal raw.
func display(s string) string { return caller.Printable(s) }
