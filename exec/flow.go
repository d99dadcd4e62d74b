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
	// Only names the secrets to inject. When empty, and Governed is not
	// set, every token, password and file secret is injected; SSH keys,
	// which the agent serves, only when named.
	Only []string
	// Governed says a wsx.toml governs the working directory; Manifest
	// holds the names it declares, the secrets injected without Only.
	Governed bool
	Manifest []string
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
	// git asked to store); nil skips none.
	Skip func(store.Meta) bool
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
	// Close, while the command runs.
	Access AccessRecorder

	// Inject is how every chosen secret reaches the command: InjectEnv
	// or InjectProxy, placeholders and an HTTPS proxy that puts the
	// values into requests to each secret's hosts (internal/proxy), so
	// the command never holds them; "" is DefaultInject(Role).
	Inject string
	// Role is the role the agent gives this user when it is a guest of
	// another user's agent (daemon.Status.Role); "" otherwise.
	Role string
	// ProxyNames go through the proxy whatever Inject says (`inject =
	// "proxy"` in wsx.toml); each must be a token or password with a host.
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

// Run is `wsx exec`: it chooses the secrets from their metadata, checks
// that the command can be found (ErrStart, before anything is recorded),
// records their use and receives their values with one Use, builds the
// child's environment, closes the store, and runs the command: in place
// of this process without masking and without a pty, else supervised
// (Supervise). It returns the command's exit status; err is set when the
// command did not run, or its output could not be delivered.
func Run(ctx context.Context, spec Spec) (int, error) {
	if len(spec.Argv) == 0 {
		return 1, ErrNoCommand
	}
	names, metas, err := choose(spec)
	if err != nil {
		return 1, err
	}
	if spec.Inject == "" {
		spec.Inject = DefaultInject(spec.Role)
	}
	names, proxied, err := splitProxied(spec, names, metas)
	if err != nil {
		return 1, err
	}
	if _, err := LookPath(spec.Argv[0], spec.Parent); err != nil {
		return 1, fmt.Errorf("%w %s: %w", ErrStart, spec.Argv[0], err)
	}
	xdg, _ := lookupEnv(spec.Parent, "XDG_RUNTIME_DIR")
	var pr *proxyRun
	if len(proxied) > 0 {
		// Each request that carries a placeholder is a use: the store (or
		// the agent's client) stays open while the command runs, in this
		// process, which the command cannot read (non-dumpable); it is
		// closed after the proxy.
		if spec.Close != nil {
			defer spec.Close()
			spec.Close = nil
		}
		if pr, err = startProxy(spec, proxied, metas, []string{xdg, "/dev/shm"}); err != nil {
			return 1, err
		}
		defer pr.close()
		spec.Extra = append(slices.Clone(spec.Extra), pr.env...)
		if v, ok := lookupInjected(pr.env, "NODE_OPTIONS"); ok {
			// The access hook adds itself after the proxy's.
			spec.Parent = append(slices.Clone(spec.Parent), "NODE_OPTIONS="+v)
		}
	}
	env, files, err := use(ctx, spec, names)
	if err != nil {
		return 1, err
	}
	names = append(names, proxied...)
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
	inPlace := spec.NoMask && spec.PTY != PTYAlways && pr == nil
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
	}
	// The values are all the child needs from the store now.
	if spec.Close != nil {
		spec.Close()
	}
	if inPlace {
		acc.finish() // no supervisor stays to write the records
		if err := ExecInPlace(opts); !errors.Is(err, ErrNoMemfd) {
			return 1, err
		}
	}
	return Supervise(ctx, opts)
}

// choose names the secrets the command gets, from their metadata, which
// it returns by name.
func choose(spec Spec) ([]string, map[string]store.Meta, error) {
	names, metas, err := chooseNames(spec)
	if err != nil {
		return nil, nil, err
	}
	byName := make(map[string]store.Meta, len(metas))
	for _, m := range metas {
		byName[m.Name] = m
	}
	return names, byName, nil
}

func chooseNames(spec Spec) ([]string, []store.Meta, error) {
	metas, err := spec.Source.List()
	dmg, err := damaged(err)
	if err != nil {
		return nil, nil, err
	}
	if err := checkDamaged(dmg, spec); err != nil {
		return nil, nil, err
	}
	var avail []store.Meta
	for _, m := range metas {
		// Names from an agent are checked as the store checks them.
		if err := store.ValidateName(m.Name); err != nil {
			return nil, nil, err
		}
		if spec.Skip == nil || !spec.Skip(m) {
			avail = append(avail, m)
		}
	}
	if err := checkRenames(avail, spec.Rename); err != nil {
		return nil, nil, err
	}
	named := true
	var chosen []store.Meta
	switch {
	case len(spec.Only) > 0:
		if chosen, err = pickOnly(avail, spec.Only); err != nil {
			return nil, nil, err
		}
	case spec.Governed:
		chosen = slices.DeleteFunc(slices.Clone(avail), func(m store.Meta) bool { return !slices.Contains(spec.Manifest, m.Name) })
	default:
		named = false
		chosen = slices.DeleteFunc(slices.Clone(avail), func(m store.Meta) bool { return m.Type == store.TypeKey })
	}
	chosen = withRenamed(avail, chosen, spec.Rename)
	if chosen, err = dropShadowed(spec.Stderr, chosen, spec.Rename, named); err != nil {
		return nil, nil, err
	}
	if spec.Chosen != nil {
		spec.Chosen(chosen)
	}
	var names []string
	for _, m := range chosen {
		if v := varName(spec.Rename, m.Name); v != m.Name {
			// Renamed: the command sees v, not the secret's own name.
			if store.DangerousName(v) && !spec.AllowDangerous {
				return nil, nil, fmt.Errorf("--env %s=%s: %w", v, m.Name, store.CheckDangerousName(v))
			}
			names = append(names, m.Name)
			continue
		}
		if store.DangerousName(m.Name) && !spec.AllowDangerous {
			if named {
				return nil, nil, fmt.Errorf("secret %s: the name could change what the command runs or loads: %w", m.Name, store.ErrDangerousName)
			}
			fmt.Fprintf(spec.Stderr, "wsx: warning: %s is left out: the name could change what the command runs or loads; name it with --only and add --allow-dangerous-name to inject it\n", m.Name)
			continue
		}
		names = append(names, m.Name)
	}
	return names, avail, nil
}

// pickOnly returns the secrets of avail named in only, in the order of
// avail.
func pickOnly(avail []store.Meta, only []string) ([]store.Meta, error) {
	all := make([]string, len(avail))
	for i, m := range avail {
		all[i] = m.Name
	}
	for _, n := range only {
		if !slices.Contains(all, n) {
			return nil, &UnknownNameError{Name: n, Avail: all}
		}
	}
	return slices.DeleteFunc(slices.Clone(avail), func(m store.Meta) bool { return !slices.Contains(only, m.Name) }), nil
}

// use records the use of names and returns their values, by type. The
// records carry the command, the script it runs and the line of it that
// names each secret, and the git repository of the working directory.
func use(ctx context.Context, spec Spec, names []string) ([]Injected, []FileSecret, error) {
	if len(names) == 0 {
		return nil, nil, nil
	}
	rec := release.Record{Via: audit.ViaExec, Context: audit.Context{Command: caller.Command(spec.Argv)}}
	caller.Repo(&rec.Context, spec.Cwd)
	// The script names the variables; the records name the secrets.
	vars := make([]string, len(names))
	for i, n := range names {
		vars[i] = varName(spec.Rename, n)
	}
	if locs := ScriptContext(spec.Argv, spec.Cwd, vars); len(locs) > 0 {
		rec.Places = make(map[string]release.Place, len(locs))
		for i, v := range vars {
			if l, ok := locs[v]; ok {
				rec.Places[names[i]] = release.Place{File: l.File, Line: l.Line}
			}
		}
	}
	secs, err := spec.Source.Use(ctx, names, rec)
	if err != nil {
		return nil, nil, fmt.Errorf("record the use of %s: %w", strings.Join(names, ", "), err)
	}
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
