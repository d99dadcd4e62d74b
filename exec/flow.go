package exec

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/wsxdev/wsx/audit"
	"github.com/wsxdev/wsx/internal/caller"
	"github.com/wsxdev/wsx/internal/hint"
	"github.com/wsxdev/wsx/internal/mask"
	"github.com/wsxdev/wsx/internal/release"
	"github.com/wsxdev/wsx/store"
)

// Source is what Run needs of the store: metadata, and values through
// "record, then release". The store opened here and the wsx agent's API
// both are one.
type Source interface {
	release.Releaser
	List() ([]store.Meta, error)
}

// Spec is one `wsx exec` or `wsx shell`.
type Spec struct {
	Argv []string
	// Only names the secrets to inject. When empty, and no Project
	// governs, every token, password and file secret is injected; SSH
	// keys, which the agent serves, only when named.
	Only []string
	// Project is the wsx.toml that governs Cwd; nil when none does (never
	// a nil pointer in the interface). See Project for what it decides.
	Project Project
	// All injects every secret even where Project declares the ones the
	// project gets (--all).
	All bool
	// AllowDangerous injects names that could change what the command
	// runs (store.DangerousName) when they are named; without it they are
	// refused when named and left out, with a warning, otherwise.
	AllowDangerous bool
	// Rename maps a secret's name to the variable it goes in as (`--env
	// GH_TOKEN=GITHUB_TOKEN`, `env` in wsx.toml). A renamed secret is
	// named, so chosen; its record names the secret.
	Rename map[string]string

	Source Source
	// Skip says which listed secrets are not for programs (credentials
	// git asked to store); nil skips none. The agent skips those itself.
	Skip func(store.Meta) bool
	// ProviderCredentials names the secrets providers sign in with: left
	// out unless renamed when neither Only nor Project names the secrets
	// (only then is it called); nil: none.
	ProviderCredentials func() []string
	// Chosen is told the secrets about to be used (for rotation
	// reminders); nil: nobody.
	Chosen func([]store.Meta)
	// Close closes the store once the values are out: the child runs
	// without it. Nil: nothing to close.
	Close func()

	Parent []string   // the environment the child inherits
	Extra  []Injected // variables that are not secrets (WSX_SHELL=1)
	Cwd    string     // for the record: the git repository, the script

	Stdin            io.Reader
	Stdout, Stderr   io.Writer
	StdoutIsTerminal bool
	NoMask           bool
	PTY              string
	// Access records where the program reads each secret (`accessed`
	// records, see startAccess); nil: no such records. It is used after
	// the store is closed, while the command runs: Run then closes it
	// with KeepLog in place of Close. NoAccessAudit (--no-access-audit)
	// and a Project can turn the records off.
	Access        AccessRecorder
	KeepLog       func()
	NoAccessAudit bool

	// Inject is how every chosen secret reaches the command: InjectEnv
	// or InjectProxy, placeholders and an HTTPS proxy that puts the
	// values into requests to each secret's hosts (internal/proxy), so
	// the command never holds them; "" is DefaultInject(Role).
	Inject string
	// Role is the role the agent gives this user when it is a guest of
	// another user's agent (daemon.Status.Role); "" otherwise.
	Role string
	// ProxyNames go through the proxy whatever Inject says (Run adds
	// Project's); each must be a token or password with a host.
	ProxyNames []string
	// ProxyBodyTypes are the media types whose request bodies get the
	// placeholders replaced too (--proxy-body).
	ProxyBodyTypes []string
	// ProxyRootCAs verify the hosts the proxy talks to; nil: the system's
	// roots. Tests set it.
	ProxyRootCAs *x509.CertPool
}

// UnknownNameError is returned when Spec.Only names a secret that is not
// there; Avail lists the names that are.
type UnknownNameError struct {
	Name  string
	Avail []string
	Flag  string // what named it, before Name: "--env GH_TOKEN="; "" is --only
}

func (e *UnknownNameError) Error() string {
	if e.Flag != "" {
		return fmt.Sprintf("%s%s: %v", e.Flag, e.Name, store.ErrNotFound)
	}
	return fmt.Sprintf("--only %s: %v", e.Name, store.ErrNotFound)
}

func (e *UnknownNameError) Unwrap() error { return store.ErrNotFound }

// Run is `wsx exec`: it chooses the secrets (Choose), records their use
// and receives their values, builds the child's environment, closes the
// store, and runs the command: in place of this process without masking
// and without a pty, else supervised (Supervise). Through the agent
// (release.Selector) choosing, recording and releasing are one request;
// else the list, then one Use. A command that cannot be found is an error
// (ErrStart) before anything is recorded. It returns the command's exit
// status; err is set when the command did not run, or its output could
// not be delivered.
func Run(ctx context.Context, spec Spec) (int, error) {
	if len(spec.Argv) == 0 {
		return 1, ErrNoCommand
	}
	spec = spec.governed()
	warm := func() {}
	if spec.supervised(spec.mayProxy()) {
		// It may be supervised: its set-up runs while the values come.
		warm = warmUp()
		defer warm()
	}
	script, complete := scriptWords(spec.Argv, spec.Cwd)
	sel := spec.selection(script)
	rec := release.Record{Via: audit.ViaExec, Context: audit.Context{Command: caller.Command(spec.Argv)}}
	caller.Repo(&rec.Context, spec.Cwd)
	path, lookErr := LookPath(spec.Argv[0], spec.Parent)
	// The proxy starts between the choice and the release: a run that
	// may use it chooses here.
	one := lookErr == nil && complete && !spec.mayProxy()
	choice, secs, err := useSelected(ctx, spec, sel, rec, one)
	var missing *MissingError
	if errors.As(err, &missing) && spec.Project != nil {
		return 1, &MissingError{Names: missing.Names, project: spec.Project.MissingNames(missing.Names)}
	}
	if err != nil {
		return 1, err
	}
	if lookErr != nil {
		return 1, fmt.Errorf("%w %s: %w", ErrStart, spec.Argv[0], lookErr)
	}
	xdg, _ := lookupEnv(spec.Parent, "XDG_RUNTIME_DIR")
	var pr *proxyRun
	if len(choice.Proxied) > 0 {
		// Each request that carries a placeholder is a use: the store (or
		// the agent's client) stays open while the command runs, in this
		// process, which the command cannot read (non-dumpable); it is
		// closed after the proxy.
		if spec.Close != nil {
			defer spec.Close()
			spec.Close = nil
		}
		if pr, err = startProxy(spec, choice.Proxied, metasByName(choice.Metas), []string{xdg, "/dev/shm"}); err != nil {
			return 1, err
		}
		defer pr.close()
		spec.Extra = append(slices.Clone(spec.Extra), pr.env...)
		if v, ok := lookupInjected(pr.env, "NODE_OPTIONS"); ok {
			// The access hook adds itself after the proxy's.
			spec.Parent = append(slices.Clone(spec.Parent), "NODE_OPTIONS="+v)
		}
	}
	if secs == nil && len(choice.Names) > 0 {
		if secs, err = use(ctx, spec, choice.Names, rec, script); err != nil {
			return 1, err
		}
	}
	env, files, err := byType(spec, secs)
	if err != nil {
		return 1, err
	}
	names := append(slices.Clone(choice.Names), choice.Proxied...)
	if err := CheckInjected(env); err != nil {
		return 1, err
	}
	vals := make([][]byte, 0, len(env)+len(files))
	for _, e := range env {
		vals = append(vals, e.Value)
	}
	for _, f := range files {
		vals = append(vals, f.Content)
	}
	if !spec.NoMask {
		warnShort(spec.Stderr, env, files)
	}
	inPlace := !spec.supervised(pr != nil)
	acc := startAccess(spec.Access, spec.Argv, spec.Cwd, names, spec.Parent, []string{xdg, "/dev/shm"}, !inPlace, spec.Stderr)
	defer acc.finish()
	opts := Options{
		Argv:             spec.Argv,
		Env:              BuildEnv(spec.Parent, slices.Concat(env, spec.Extra, acc.Env())),
		Stdin:            spec.Stdin,
		Stdout:           spec.Stdout,
		Stderr:           spec.Stderr,
		Mask:             !spec.NoMask,
		Values:           vals,
		Files:            files,
		PTY:              spec.PTY,
		StdoutIsTerminal: spec.StdoutIsTerminal,
		built:            true,
	}
	if lookupPATH(opts.Env) == lookupPATH(spec.Parent) {
		opts.path = path // found above, in the same PATH
	}
	// The values are all the child needs from the store now.
	if spec.Close != nil {
		spec.Close()
	}
	if inPlace {
		acc.finish() // no supervisor stays to write the records
		warm()       // the signals it caught are given back before the exec
		if err := ExecInPlace(opts); !errors.Is(err, ErrNoMemfd) {
			return 1, err
		}
	}
	return Supervise(ctx, opts)
}

// supervised says whether a run stays to supervise the command
// (Supervise) instead of replacing this process (ExecInPlace): it masks,
// has a pty, or serves a proxy (proxied).
func (spec Spec) supervised(proxied bool) bool {
	return !spec.NoMask || spec.PTY == PTYAlways || proxied
}

// mayProxy says whether a run may put secrets behind the proxy, before
// they are chosen: which do is choice.Proxied.
func (spec Spec) mayProxy() bool {
	return spec.Inject == InjectProxy || len(spec.ProxyNames) > 0
}

// CheckModes checks the values of --pty and --inject ("" for the
// default).
func CheckModes(pty, inject string) error {
	switch pty {
	case PTYAuto, PTYAlways, PTYNever:
	default:
		return hint.Usagef("--pty %q: want auto, always or never", pty)
	}
	if inject != "" && inject != InjectEnv && inject != InjectProxy {
		return hint.Usagef("--inject %q: want env or proxy", inject)
	}
	return nil
}

// selection is what spec (governed) asks for, as Choose and the agent
// read it.
func (spec Spec) selection(script *release.Script) release.Selection {
	sel := release.Selection{
		Only: spec.Only, Rename: spec.Rename, AllowDangerous: spec.AllowDangerous,
		Inject: spec.Inject, ProxyNames: spec.ProxyNames, Script: script,
	}
	switch {
	case spec.governs():
		sel.Governed = true
		sel.Manifest, sel.Required = spec.Project.Declared()
	case len(spec.Only) == 0:
		if spec.ProviderCredentials != nil {
			sel.Exclude = spec.ProviderCredentials()
		}
	}
	return sel
}

// useSelected chooses the secrets. With one set and a Source that
// chooses itself (the agent), it also records their use and returns their
// values, in one request; else (or when the Source answers
// release.ErrChooseHere) it chooses from the list, and returns no values:
// the caller's use does. The notes of the choice, and the reminders of
// overdue rotations, are printed.
func useSelected(ctx context.Context, spec Spec, sel release.Selection, rec release.Record, one bool) (release.Choice, []store.Secret, error) {
	var choice release.Choice
	var secs []store.Secret
	err := release.ErrChooseHere
	if s, ok := spec.Source.(release.Selector); ok && one {
		choice, secs, err = s.UseSelected(ctx, sel, rec)
	}
	if errors.Is(err, release.ErrChooseHere) {
		metas, lerr := spec.Source.List()
		choice, err = Choose(metas, lerr, sel, spec.Skip)
		secs = nil
	}
	// The notes come before an error, as they came when the choice
	// stopped.
	for i, n := range choice.Notes {
		if i == choice.RemindAt && spec.Chosen != nil {
			spec.Chosen(choice.Metas)
		}
		fmt.Fprintf(spec.Stderr, "wsx: %s\n", n)
	}
	if len(choice.Notes) <= choice.RemindAt && spec.Chosen != nil {
		spec.Chosen(choice.Metas)
	}
	if err != nil {
		return choice, nil, err
	}
	return choice, secs, nil
}

func metasByName(metas []store.Meta) map[string]store.Meta {
	byName := make(map[string]store.Meta, len(metas))
	for _, m := range metas {
		byName[m.Name] = m
	}
	return byName
}

// use records the use of names and returns their values. The records
// carry the command, the script it runs and the line of it that names
// each secret, and the git repository of the working directory.
func use(ctx context.Context, spec Spec, names []string, rec release.Record, script *release.Script) ([]store.Secret, error) {
	if script != nil {
		// The script names the variables; the records name the secrets.
		var data []byte
		if script.Lines == nil {
			data = readScript(scriptOf(spec.Argv, 0), spec.Cwd)
		}
		rec.Places = make(map[string]release.Place, len(names))
		for _, n := range names {
			pl := script.Place(varName(spec.Rename, n))
			if script.Lines == nil {
				pl.Line = firstLine(data, varName(spec.Rename, n))
			}
			rec.Places[n] = pl
		}
	}
	secs, err := spec.Source.Use(ctx, names, rec)
	if err != nil {
		return nil, fmt.Errorf("record the use of %s: %w", strings.Join(names, ", "), err)
	}
	return secs, nil
}

// byType sorts the values released by type: into the environment, or
// into files.
func byType(spec Spec, secs []store.Secret) ([]Injected, []FileSecret, error) {
	var env []Injected
	var files []FileSecret
	for _, sec := range secs {
		name := varName(spec.Rename, sec.Name)
		if store.DangerousName(name) && !spec.AllowDangerous {
			return nil, nil, fmt.Errorf("secret %s: %w", name, store.ErrDangerousName)
		}
		v := sec.Value.Bytes()
		switch sec.Type {
		case store.TypeToken, store.TypePassword, store.TypeKey:
			env = append(env, Injected{Name: name, Value: v})
		case store.TypeFile:
			files = append(files, FileSecret{Name: name, Content: v})
		}
	}
	return env, files, nil
}

// warnShort names the values too short to be masked.
func warnShort(w io.Writer, env []Injected, files []FileSecret) {
	warn := func(name string, v []byte) {
		if len(v) > 0 && len(v) < mask.MinMaskLen {
			fmt.Fprintf(w, "wsx: warning: %s is shorter than %d bytes: its value is not masked in the output\n", name, mask.MinMaskLen)
		}
	}
	for _, e := range env {
		warn(e.Name, e.Value)
	}
	for _, f := range files {
		warn(f.Name, f.Content)
	}
}
