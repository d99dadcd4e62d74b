package cmd

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	osexec "os/exec"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
	"github.com/wsxdev/wsx/audit"
	"github.com/wsxdev/wsx/credhelper"
	"github.com/wsxdev/wsx/exec"
	"github.com/wsxdev/wsx/internal/caller"
	"github.com/wsxdev/wsx/internal/release"
	"github.com/wsxdev/wsx/store"
	"golang.org/x/term"
)

// Exit codes of a command that could not be run, as shells and env(1)
// report them.
const (
	exitCannotRun = 126
	exitNotFound  = 127
)

// execOptions are the flags of `wsx exec` and `wsx shell`.
type execOptions struct {
	Argv        []string
	Only        []string // names to inject; all when empty
	NoMask      bool
	PTY         string // exec.PTYAuto, exec.PTYAlways or exec.PTYNever
	AllowNested bool
	// AllowDangerous injects secrets whose names could change what the
	// command runs (store.DangerousName).
	AllowDangerous bool
	Shell          bool // `wsx shell`: WSX_SHELL=1 in the environment
	All            bool // inject every secret even where a wsx.toml names the project's

	// manifest holds the names a wsx.toml governing the working directory
	// declares, when governed is set.
	manifest []string
	governed bool
}

// shellMarker is set to "1" in the environment of `wsx shell`, so a
// prompt can show that the secrets are there.
const shellMarker = "WSX_SHELL"

func execFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{Name: "only", Usage: "inject only the secrets named in `NAMES` (comma-separated; repeatable)"},
		&cli.BoolFlag{Name: "no-mask", Usage: "do not mask secret values in the output"},
		&cli.BoolFlag{Name: "allow-nested", Usage: "run even inside another wsx exec or wsx shell"},
		&cli.BoolFlag{Name: "allow-dangerous-name", Usage: "inject secrets whose names could change what the command runs (LD_PRELOAD, NODE_OPTIONS, ...)"},
	}
}

func execCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "exec",
		Usage:     "run a command with secrets in its environment, masked in its output",
		ArgsUsage: "-- COMMAND [ARGS...]",
		Description: "Runs COMMAND with every token and password secret as an environment variable\n" +
			"NAME=value, and every file secret as a variable holding a path to its content in\n" +
			"memory (/dev/fd/N). SSH keys (served by `wsx agent`) go in only when named, with\n" +
			"--only or in wsx.toml. Values, and their base64, hex, URL and JSON forms, are replaced\n" +
			"by *** in what the command prints, on stdout, stderr and its terminal. Values shorter\n" +
			"than 4 bytes are not masked (a warning says so). Each secret's use is recorded in the\n" +
			"audit log, with the script it runs and the line that names it, before it starts.\n\n" +
			"With --pty auto the command gets a pseudo-terminal when wsx's stdout is a terminal.\n" +
			"With --no-mask (and --pty other than always) wsx replaces itself by the command.\n" +
			"INT, TERM, HUP, QUIT and WINCH reach the command; if wsx dies, it gets a hangup.\n\n" +
			"Examples:\n" +
			"  wsx exec -- ./deploy.sh\n" +
			"  wsx exec --only STRIPE_API_KEY -- node app.js\n" +
			"  wsx exec -- sh -c 'echo $GITHUB_TOKEN'      # prints ***\n" +
			"  wsx exec -- sh -c 'kubectl --kubeconfig \"$KUBECONFIG_FILE\" get pods'\n\n" +
			"Exit status: the command's, or 128+N when signal N killed it; 126 when it cannot\n" +
			"be run, 127 when it is not found; wsx's own codes (2 usage, 3 secret not found,\n" +
			"4 locked) when it did not start.",
		Flags: append(execFlags(),
			&cli.StringFlag{Name: "pty", Value: exec.PTYAuto, Usage: "a pseudo-terminal for the command, `MODE`: auto (when stdout is one), always or never"},
			&cli.BoolFlag{Name: "all", Usage: "inject every secret, not only those the project's wsx.toml declares"},
		),
		Action: action(env, func(s *session, c *cli.Context) error {
			if c.NArg() == 0 {
				return usagef("exec needs a command: `wsx exec [options] -- COMMAND [ARGS...]`")
			}
			return s.runExec(execOptions{
				Argv:        c.Args().Slice(),
				Only:        c.StringSlice("only"),
				NoMask:      c.Bool("no-mask"),
				PTY:         c.String("pty"),
				AllowNested: c.Bool("allow-nested"),
				All:         c.Bool("all"),

				AllowDangerous: c.Bool("allow-dangerous-name"),
			})
		}),
	}
}

func shellCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:  "shell",
		Usage: "start $SHELL with the secrets in its environment, masked in its output",
		Description: "Starts $SHELL (or /bin/sh) as `wsx exec` runs a command: secrets in the environment,\n" +
			"their values masked in the output, one audit record per secret. WSX_SHELL=1 is set\n" +
			"so a prompt can show it. On a terminal the shell gets a pseudo-terminal of its own;\n" +
			"otherwise it reads commands from stdin. `exit` leaves it.\n\n" +
			"Examples:\n" +
			"  wsx shell\n" +
			"  wsx shell --only GITHUB_TOKEN,NPM_TOKEN\n\n" +
			"Exit status: the shell's, or 128+N when signal N killed it.",
		Flags: execFlags(),
		Action: action(env, func(s *session, c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			sh := env.Getenv("SHELL")
			if sh == "" {
				sh = "/bin/sh"
			}
			// A pty only to mask what the shell writes to the terminal;
			// without masking it uses the terminal as it is.
			pty := exec.PTYNever
			if !c.Bool("no-mask") && env.StdinIsTerminal && isTerminal(env.Stdout) {
				pty = exec.PTYAlways
			}
			return s.runExec(execOptions{
				Argv:        []string{sh},
				Only:        c.StringSlice("only"),
				NoMask:      c.Bool("no-mask"),
				PTY:         pty,
				AllowNested: c.Bool("allow-nested"),
				Shell:       true,

				AllowDangerous: c.Bool("allow-dangerous-name"),
			})
		}),
	}
}

// released is what a command gets from the store: secrets for its
// environment and secrets as files.
type released struct {
	env   []exec.Injected
	files []exec.FileSecret
	names []string // every released name, in order
}

// values lists every released value and file content, for masking.
func (r *released) values() [][]byte {
	vals := make([][]byte, 0, len(r.env)+len(r.files))
	for _, e := range r.env {
		vals = append(vals, e.Value)
	}
	for _, f := range r.files {
		vals = append(vals, f.Content)
	}
	return vals
}

// runExec runs o.Argv with the secrets. It returns an exitError carrying
// the command's status when the command ran.
func (s *session) runExec(o execOptions) error {
	switch o.PTY {
	case exec.PTYAuto, exec.PTYAlways, exec.PTYNever:
	default:
		return usagef("--pty %q: want auto, always or never", o.PTY)
	}
	if !o.AllowNested && exec.Nested([]string{exec.EnvMarker + "=" + s.env.Getenv(exec.EnvMarker)}) {
		return withHint(usagef("already inside wsx exec or wsx shell (%s is set)", exec.EnvMarker),
			"the secrets are in this environment already; run the command directly, or add --allow-nested")
	}
	cwd, _ := os.Getwd()
	if !o.All && len(o.Only) == 0 {
		// A project that declares its secrets gets those, and does not
		// start while a required one is missing.
		names, found, err := s.manifestSecrets(cwd)
		if err != nil {
			return err
		}
		o.manifest, o.governed = names, found
	}
	st, err := s.unlocked()
	if err != nil {
		return err
	}
	names, err := s.choose(st, o)
	if err != nil {
		return err
	}
	// A command that cannot be found is reported before any use is
	// recorded.
	if _, err := exec.LookPath(o.Argv[0], parentEnviron()); err != nil {
		return startError(err)
	}
	rel, err := s.release(st, o, names, cwd)
	if err != nil {
		return err
	}
	if err := exec.CheckInjected(rel.env); err != nil {
		return withHint(err, "store such a secret with --type file, or leave it out with --only")
	}
	injected := rel.env
	if o.Shell {
		injected = append(slices.Clip(injected), exec.Injected{Name: shellMarker, Value: []byte("1")})
	}
	childEnv := exec.BuildEnv(parentEnviron(), injected)
	if !o.NoMask {
		rel.warnShort(s.env.Stderr)
	}
	vals := rel.values()
	// The values are all the child needs from the store now.
	s.close()

	opts := exec.Options{
		Argv:             o.Argv,
		Env:              childEnv,
		Stdin:            s.env.Stdin,
		Stdout:           s.env.Stdout,
		Stderr:           s.env.Stderr,
		Mask:             !o.NoMask,
		Values:           vals,
		Files:            rel.files,
		PTY:              o.PTY,
		StdoutIsTerminal: isTerminal(s.env.Stdout),
	}
	if o.NoMask && o.PTY != exec.PTYAlways {
		err := exec.ExecInPlace(opts)
		if !errors.Is(err, exec.ErrNoMemfd) {
			return startError(err)
		}
	}
	code, err := exec.Run(s.c.Context, opts)
	if errors.Is(err, exec.ErrStart) {
		return startError(err)
	}
	if err != nil {
		return exitError{code: code, err: err}
	}
	if code != 0 {
		return exitError{code: code}
	}
	return nil
}

// warnShort names the values too short to be masked.
func (r *released) warnShort(w io.Writer) {
	warn := func(name string, v []byte) {
		if len(v) > 0 && len(v) < exec.MinMaskLen {
			fmt.Fprintf(w, "wsx: warning: %s is shorter than %d bytes: its value is not masked in the output\n", name, exec.MinMaskLen)
		}
	}
	for _, e := range r.env {
		warn(e.Name, e.Value)
	}
	for _, f := range r.files {
		warn(f.Name, f.Content)
	}
}

// choose names the secrets the command gets, from their metadata: every
// token, password and file secret (credentials git asked to store are
// git's alone; SSH keys are served by the agent, and go into an
// environment only when named), or those named by o.Only, or those a
// wsx.toml governing the working directory declares. A name that could
// change what the command runs (store.DangerousName) needs
// --allow-dangerous-name here too, whoever stored it.
func (s *session) choose(st secretStore, o execOptions) ([]string, error) {
	metas, err := st.List()
	if err != nil {
		return nil, err
	}
	var avail []store.Meta
	for _, m := range metas {
		if err := store.ValidateName(m.Name); err != nil {
			return nil, err
		}
		if !credhelper.IsStored(m) {
			avail = append(avail, m)
		}
	}
	named := true
	var chosen []store.Meta
	switch {
	case len(o.Only) > 0:
		chosen, err = pickOnly(avail, o.Only)
		if err != nil {
			return nil, err
		}
	case o.governed:
		chosen = slices.DeleteFunc(slices.Clone(avail), func(m store.Meta) bool {
			return !slices.Contains(o.manifest, m.Name)
		})
	default:
		named = false
		chosen = slices.DeleteFunc(slices.Clone(avail), func(m store.Meta) bool { return m.Type == store.TypeKey })
	}
	s.remindOverdue(chosen)
	var names []string
	for _, m := range chosen {
		if store.DangerousName(m.Name) && !o.AllowDangerous {
			if named {
				return nil, withHint(fmt.Errorf("secret %s: the name could change what the command runs or loads: %w", m.Name, store.ErrDangerousName),
					"if you mean it, add --allow-dangerous-name to wsx exec")
			}
			fmt.Fprintf(s.env.Stderr, "wsx: warning: %s is left out: the name could change what the command runs or loads; name it with --only and add --allow-dangerous-name to inject it\n", m.Name)
			continue
		}
		names = append(names, m.Name)
	}
	return names, nil
}

// release records the use of names and returns them, by type: the one
// request to the store (or the agent) that hands out values. The records
// carry the command, the script it runs and the line of it that names
// each secret, and the git repository of cwd.
func (s *session) release(st secretStore, o execOptions, names []string, cwd string) (*released, error) {
	rel := &released{}
	if len(names) == 0 {
		return rel, nil
	}
	rec := release.Record{Via: audit.ViaExec, Context: audit.Context{Command: caller.Command(o.Argv)}}
	caller.Repo(&rec.Context, cwd)
	if locs := exec.ScriptContext(o.Argv, cwd, names); len(locs) > 0 {
		rec.Places = make(map[string]release.Place, len(locs))
		for n, l := range locs {
			rec.Places[n] = release.Place{File: l.File, Line: l.Line}
		}
	}
	secs, err := st.Use(s.c.Context, names, rec)
	if err != nil {
		return nil, fmt.Errorf("record the use of %s: %w", strings.Join(names, ", "), err)
	}
	for _, sec := range secs {
		if store.DangerousName(sec.Name) && !o.AllowDangerous {
			return nil, fmt.Errorf("secret %s: %w", sec.Name, store.ErrDangerousName)
		}
		v := sec.Value.Bytes()
		switch sec.Type {
		case store.TypeToken, store.TypePassword, store.TypeKey:
			rel.env = append(rel.env, exec.Injected{Name: sec.Name, Value: v})
		case store.TypeFile:
			rel.files = append(rel.files, exec.FileSecret{Name: sec.Name, Content: v})
		default:
			continue
		}
		rel.names = append(rel.names, sec.Name)
	}
	return rel, nil
}

// pickOnly returns the secrets of avail named in only (each name once, in
// the order of avail). A name that is not there is an error listing the
// names close to it.
func pickOnly(avail []store.Meta, only []string) ([]store.Meta, error) {
	byName := make(map[string]bool, len(avail))
	all := make([]string, len(avail))
	for i, m := range avail {
		byName[m.Name] = true
		all[i] = m.Name
	}
	want := map[string]bool{}
	for _, n := range only {
		for part := range strings.SplitSeq(n, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			if !byName[part] {
				return nil, didYouMean(fmt.Errorf("--only %s: %w", part, store.ErrNotFound), part, all)
			}
			want[part] = true
		}
	}
	if len(want) == 0 {
		return nil, usagef("--only needs at least one NAME")
	}
	var out []store.Meta
	for _, m := range avail {
		if want[m.Name] {
			out = append(out, m)
		}
	}
	return out, nil
}

// startError reports a command that could not be started with the exit
// code a shell would give.
func startError(err error) error {
	switch {
	case errors.Is(err, osexec.ErrNotFound), errors.Is(err, fs.ErrNotExist):
		return exitError{code: exitNotFound, err: err}
	default:
		return exitError{code: exitCannotRun, err: err}
	}
}

// parentEnviron is the environment the command inherits: this process's.
func parentEnviron() []string { return os.Environ() }

// isTerminal reports whether w is a terminal, without switching it to
// blocking mode as File.Fd would.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || f == nil {
		return false
	}
	sc, err := f.SyscallConn()
	if err != nil {
		return false
	}
	is := false
	if sc.Control(func(fd uintptr) { is = term.IsTerminal(int(fd)) }) != nil {
		return false
	}
	return is
}
