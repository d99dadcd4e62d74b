// Package fetch brings the values of the secrets a wsx.toml sources from a
// company secret service (`source = "vault://secret/app#db_url"`) into
// the store: every one for `wsx sync`, the missing and stale ones (older
// than their ttl) when `wsx exec` or `wsx agent` starts.
//
// One fetch: the source's provider is opened with its [provider.NAME]
// table and a Creds that reads its credentials through the release path
// (each read is a `used` record); each try is bounded by the table's
// timeout, and a service that cannot be reached is tried again, after
// 250 ms, 500 ms, ..., up to its retries. The value is stored as a
// rotation would store it: the value it replaces is kept as the previous
// one (a rotation still pending is finished first), and checked like any
// value of its type, so a token with a newline or a NUL is refused. Each
// fetch, and each failed one, is a `fetched` record. A service that cannot
// be reached leaves the stored value in use, with a warning, unless the
// secret is required_fresh.
//
// When each secret was last fetched, and from where, is kept in
// WSX_HOME/fetched.json (names, sources and times; never a value).
package fetch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/wsxdev/wsx/audit"
	"github.com/wsxdev/wsx/internal/release"
	"github.com/wsxdev/wsx/manifest"
	"github.com/wsxdev/wsx/provider"
	"github.com/wsxdev/wsx/provider/external"
	"github.com/wsxdev/wsx/provider/pass"
	"github.com/wsxdev/wsx/store"
	"github.com/wsxdev/wsx/store/atomicfile"
)

// Openers returns the providers, by source scheme. Those built on a
// service's client, and sops (its YAML and age), run in wsx-provider
// (provider/external), so wsx starts without their package initialisers;
// pass runs the pass program from here. A function, not a variable: a
// command that fetches nothing does not build it.
func Openers() map[string]provider.Opener {
	o := map[string]provider.Opener{"pass": pass.Open}
	for _, s := range inProvider {
		o[s] = external.Open(s)
	}
	return o
}

// inProvider are the schemes whose providers run in wsx-provider.
var inProvider = [...]string{"vault", "aws-sm", "azure-kv", "sops"}

// InProvider lists the schemes of m's sources that wsx-provider fetches,
// each once, in the order of the secrets.
func InProvider(m *manifest.Manifest) []string {
	var out []string
	for _, sec := range m.Sourced() {
		src, err := provider.ParseSource(sec.Source)
		if err == nil && slices.Contains(inProvider[:], src.Scheme) && !slices.Contains(out, src.Scheme) {
			out = append(out, src.Scheme)
		}
	}
	return out
}

// Store is what a fetch needs of the store: Use reads the providers'
// credentials, the others store values and write records.
type Store interface {
	release.Releaser
	Stat(name string) (store.Meta, int, error)
	Add(sec store.Secret, opts ...store.AddOptions) (store.Meta, error)
	Edit(name string, e store.Edit) (store.Meta, error)
	Record(rs ...audit.Record) error
}

// Options say what to fetch and how.
type Options struct {
	Manifest *manifest.Manifest
	// Names limits the fetch to these sourced secrets; all when empty.
	Names []string
	// All fetches every value; without it only those missing from the
	// store or fetched longer ago than their ttl.
	All bool
	// Via is the part of wsx fetching, for the records.
	Via string
	// Home is WSX_HOME, where fetched.json is kept.
	Home string
	Now  func() time.Time
	// Openers replaces the package's Openers() (tests).
	Openers map[string]provider.Opener
	// Progress is called before each fetch, and with done == total at
	// the end.
	Progress func(done, total int, name string)
	// Warn prints a warning (a cached value used).
	Warn func(format string, args ...any)
	// Sleep waits between tries; it returns early with ctx's error.
	Sleep func(ctx context.Context, d time.Duration) error
	// OptionalWarn makes a failed fetch of a secret the manifest does not
	// require a warning rather than an error: a command that starts
	// does not stop for it.
	OptionalWarn bool
}

// Status is what became of one sourced secret.
type Status string

// The statuses of a Result.
const (
	StatusFetched   Status = "fetched"   // a new value was stored
	StatusUnchanged Status = "unchanged" // fetched; the store had it already
	StatusFresh     Status = "fresh"     // not fetched: younger than its ttl
	StatusCached    Status = "cached"    // the service was unreachable; the stored value stays in use
	StatusFailed    Status = "failed"    // no value: Err says why
)

// Result is one sourced secret's outcome; it holds no value.
type Result struct {
	Name    string `json:"name"`
	Source  string `json:"source"`
	Status  Status `json:"status"`
	Version string `json:"version,omitempty"`
	Detail  string `json:"detail,omitempty"`
	Error   string `json:"error,omitempty"`
	Err     error  `json:"-"`
}

// StateFile, under WSX_HOME, keeps when each secret was fetched.
const StateFile = "fetched.json"

// maxState bounds what is read of it.
const maxState = 1 << 20

type fetchedAt struct {
	Time    time.Time `json:"time"`
	Source  string    `json:"source"`
	Version string    `json:"version,omitempty"`
}

// Run fetches o.Manifest's sourced secrets into st. The error joins the
// failures (each wrapping provider.ErrNotFound, ErrAuth, ErrUnavailable or
// the store's error); a cached value is no failure.
func Run(ctx context.Context, st Store, o Options) ([]Result, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Openers == nil {
		o.Openers = Openers()
	}
	if o.Sleep == nil {
		o.Sleep = sleep
	}
	if o.Warn == nil {
		o.Warn = func(string, ...any) {}
	}
	var todo []manifest.Secret
	for _, sec := range o.Manifest.Sourced() {
		if len(o.Names) == 0 || slices.Contains(o.Names, sec.Name) {
			todo = append(todo, sec)
		}
	}
	for _, n := range o.Names {
		if !slices.ContainsFunc(todo, func(s manifest.Secret) bool { return s.Name == n }) {
			return nil, fmt.Errorf("%s names no source for %s: %w", o.Manifest.Path, n, store.ErrNotFound)
		}
	}
	state := readState(o.Home)
	f := &fetcher{st: st, o: o, creds: map[string][]byte{}, providers: map[string]provider.Provider{}}
	defer f.forget()
	var results []Result
	var errs []error
	changed := false
	for i, sec := range todo {
		if o.Progress != nil {
			o.Progress(i, len(todo), sec.Name)
		}
		r := f.one(ctx, sec, state)
		if r.Err != nil {
			r.Error = r.Err.Error()
			if o.OptionalWarn && !sec.Required {
				o.Warn("%v", r.Err)
			} else {
				errs = append(errs, r.Err)
			}
		}
		if r.Status == StatusFetched || r.Status == StatusUnchanged {
			state.Secrets[sec.Name] = fetchedAt{Time: o.Now().UTC(), Source: sec.Source, Version: r.Version}
			changed = true
		}
		for name := range f.creds {
			if !slices.Contains(state.Credentials, name) {
				state.Credentials = append(state.Credentials, name)
				changed = true
			}
		}
		results = append(results, r)
	}
	if o.Progress != nil && len(todo) > 0 {
		o.Progress(len(todo), len(todo), "")
	}
	if changed && o.Home != "" {
		if err := writeState(o.Home, state); err != nil {
			errs = append(errs, err)
		}
	}
	return results, errors.Join(errs...)
}

// Stale says whether any of m's sourced secrets named in names (all when
// empty) is missing from have or older than its ttl: whether Run without
// All would fetch anything. It needs no unlocked store.
func Stale(m *manifest.Manifest, home string, have []string, names []string, now time.Time) bool {
	state := readState(home)
	for _, sec := range m.Sourced() {
		if len(names) > 0 && !slices.Contains(names, sec.Name) {
			continue
		}
		if !slices.Contains(have, sec.Name) || stale(sec, state, now) {
			return true
		}
	}
	return false
}

func stale(sec manifest.Secret, state *fetchState, now time.Time) bool {
	at, ok := state.Secrets[sec.Name]
	if !ok || at.Source != sec.Source {
		return sec.TTL > 0
	}
	return sec.TTL > 0 && now.Sub(at.Time) >= sec.TTL
}

// fetcher is one Run's providers and the credentials they read.
type fetcher struct {
	st        Store
	o         Options
	providers map[string]provider.Provider
	creds     map[string][]byte
	src       provider.Source // the source being fetched, for the credentials' use records
}

// forget ends the providers' processes and clears the credentials read.
func (f *fetcher) forget() {
	for _, p := range f.providers {
		if c, ok := p.(io.Closer); ok {
			c.Close()
		}
	}
	for _, v := range f.creds {
		clear(v)
	}
	f.creds = nil
}

// Secret reads a provider's credential through the release path: one
// `used` record per credential and run.
func (f *fetcher) Secret(ctx context.Context, name string) ([]byte, error) {
	if v, ok := f.creds[name]; ok {
		return v, nil
	}
	secs, err := f.st.Use(ctx, []string{name}, release.Record{
		Via:     f.o.Via,
		Context: audit.Context{Command: "fetch " + f.src.Name()},
	})
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("the %s provider reads its credential from the secret %s, which is not in the store: %w", f.src.Scheme, name, err)
		}
		return nil, fmt.Errorf("read the credential %s: %w", name, err)
	}
	v := slices.Clone(secs[0].Value.Bytes())
	f.creds[name] = v
	return v, nil
}

// one fetches sec, unless it is fresh.
func (f *fetcher) one(ctx context.Context, sec manifest.Secret, state *fetchState) Result {
	r := Result{Name: sec.Name, Source: sec.Source}
	meta, _, statErr := f.st.Stat(sec.Name)
	have := statErr == nil
	if statErr != nil && !errors.Is(statErr, store.ErrNotFound) {
		r.Status, r.Err = StatusFailed, statErr
		return r
	}
	if have && !f.o.All && !stale(sec, state, f.o.Now()) {
		r.Status = StatusFresh
		return r
	}
	src, err := provider.ParseSource(sec.Source)
	if err != nil {
		r.Status, r.Err = StatusFailed, err
		return r
	}
	f.src = src
	res, err := f.fetch(ctx, src)
	inner := err
	if err == nil {
		r.Version, r.Detail = res.Version, res.Detail
		err = f.put(sec, res.Value, have, meta)
		clear(res.Value)
		switch {
		case errors.Is(err, store.ErrUnchanged):
			r.Status, err = StatusUnchanged, nil
		case err == nil:
			r.Status = StatusFetched
		default:
			inner = fmt.Errorf("%s: %w", src.Name(), err)
			err = fmt.Errorf("%s from %s: %w", sec.Name, src.Name(), err)
		}
	} else {
		err = fmt.Errorf("fetch %s: %w", sec.Name, err)
	}
	rec := audit.Record{Event: audit.EventFetched, Secret: sec.Name, Via: f.o.Via, Result: audit.ResultOK, Detail: r.Detail}
	if err != nil {
		rec.Result, rec.Detail = audit.ResultError, detail(inner)
	}
	if rerr := f.st.Record(rec); rerr != nil && err == nil {
		err = fmt.Errorf("record the fetch of %s: %w", sec.Name, rerr)
	}
	if err == nil {
		return r
	}
	r.Status, r.Err = StatusFailed, err
	if errors.Is(err, provider.ErrUnavailable) && have && !sec.RequiredFresh {
		r.Status, r.Err = StatusCached, nil
		r.Error = err.Error()
		when := "at an unknown time"
		if at, ok := state.Secrets[sec.Name]; ok {
			when = "at " + at.Time.Local().Format("2006-01-02 15:04")
		} else if !meta.Updated.IsZero() {
			when = "at " + meta.Updated.Local().Format("2006-01-02 15:04")
		}
		f.o.Warn("%s: %s is unreachable; using the value stored %s (%v)", sec.Name, src.Name(), when, errors.Unwrap(err))
	} else if errors.Is(err, provider.ErrUnavailable) && have {
		r.Err = fmt.Errorf("%w; %s is required_fresh, so the stored value is not used", err, sec.Name)
	}
	return r
}

// detail is a failed fetch's record detail: "failed: " and why, cut to
// 200 bytes.
func detail(err error) string {
	s := "failed: " + err.Error()
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// fetch fetches src with the bounded tries of its provider's table.
func (f *fetcher) fetch(ctx context.Context, src provider.Source) (provider.Result, error) {
	p, err := f.provider(src.Scheme)
	if err != nil {
		return provider.Result{}, err
	}
	settings := provider.Settings(f.o.Manifest.Providers[src.Scheme])
	timeout, err := settings.Timeout(src.Scheme)
	if err != nil {
		return provider.Result{}, err
	}
	retries, err := settings.Retries(src.Scheme)
	if err != nil {
		return provider.Result{}, err
	}
	wait := 250 * time.Millisecond
	for try := 0; ; try++ {
		tctx, cancel := context.WithTimeout(ctx, timeout)
		res, err := p.Fetch(tctx, src)
		if err != nil && tctx.Err() != nil && !errors.Is(err, provider.ErrUnavailable) {
			err = fmt.Errorf("%s: no answer within %s: %w", src.Name(), timeout, provider.ErrUnavailable)
		}
		cancel()
		if err == nil || !errors.Is(err, provider.ErrUnavailable) || try >= retries || ctx.Err() != nil {
			if err != nil && errors.Is(err, provider.ErrUnavailable) && try > 0 {
				err = fmt.Errorf("%w (%d tries)", err, try+1)
			}
			return res, err
		}
		if serr := f.o.Sleep(ctx, wait); serr != nil {
			return res, err
		}
		wait = min(2*wait, 4*time.Second)
	}
}

// provider opens the provider of scheme once per run.
func (f *fetcher) provider(scheme string) (provider.Provider, error) {
	if p, ok := f.providers[scheme]; ok {
		return p, nil
	}
	open, ok := f.o.Openers[scheme]
	if !ok {
		return nil, fmt.Errorf("this wsx has no %s provider (it has %v)", scheme, slices.Sorted(maps.Keys(f.o.Openers)))
	}
	settings := provider.Settings{}
	maps.Copy(settings, f.o.Manifest.Providers[scheme])
	if _, ok := settings["dir"]; !ok && scheme == "sops" {
		// A sops file's relative path is the manifest's directory's.
		settings["dir"] = filepath.Dir(f.o.Manifest.Path)
	}
	p, err := open(settings, f)
	if err != nil {
		return nil, err
	}
	f.providers[scheme] = p
	return p, nil
}

// put stores v as sec's value: added when the store has no such secret,
// else by a rotation that keeps the value it replaces.
func (f *fetcher) put(sec manifest.Secret, v []byte, have bool, meta store.Meta) error {
	val := store.NewValue(slices.Clone(v))
	if !have {
		_, err := f.st.Add(store.Secret{Meta: store.Meta{Name: sec.Name, Type: sec.Type, Description: sec.Description, Hosts: sec.Hosts}, Value: val})
		return err
	}
	edit := store.Edit{Value: val, SetValue: true, Rotate: true, KeepSame: true}
	_, err := f.st.Edit(sec.Name, edit)
	if errors.Is(err, store.ErrRotationPending) {
		// The value kept is the one before the last fetch or rotation;
		// the one the new value replaces takes its place.
		if _, err := f.st.Edit(sec.Name, store.Edit{Finish: true}); err != nil {
			return err
		}
		_, err = f.st.Edit(sec.Name, edit)
	}
	return err
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// fetchState is what StateFile holds: names, sources and times.
type fetchState struct {
	// Secrets are the sourced secrets fetched, by name.
	Secrets map[string]fetchedAt `json:"secrets"`
	// Credentials are the secrets providers read their credentials
	// from: `wsx exec` leaves them out unless they are named.
	Credentials []string `json:"credentials,omitempty"`
}

// Credentials are the names of the secrets that providers have read
// their credentials from, as kept in home's StateFile.
func Credentials(home string) []string {
	return readState(home).Credentials
}

func readState(home string) *fetchState {
	out := &fetchState{}
	defer func() {
		if out.Secrets == nil {
			out.Secrets = map[string]fetchedAt{}
		}
	}()
	if home == "" {
		return out
	}
	fh, err := os.Open(filepath.Join(home, StateFile))
	if err != nil {
		return out
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, maxState))
	if err == nil && json.Unmarshal(b, out) != nil {
		out = &fetchState{}
	}
	return out
}

func writeState(home string, state *fetchState) error {
	b, err := json.MarshalIndent(state, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(home, StateFile), append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", StateFile, err)
	}
	return nil
}
