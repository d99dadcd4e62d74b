package cmd

import (
	"errors"
	"io/fs"
	osexec "os/exec"

	"github.com/urfave/cli/v2"
	"github.com/wsxdev/wsx/audit"
	"github.com/wsxdev/wsx/credhelper"
	"github.com/wsxdev/wsx/exec"
	"github.com/wsxdev/wsx/fetch"
	"github.com/wsxdev/wsx/internal/access"
	"github.com/wsxdev/wsx/manifest"
	"github.com/wsxdev/wsx/secrets"
	"github.com/wsxdev/wsx/store"
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
	Env         []string // --env NEW=OLD: secret OLD goes in as NEW
	NoMask      bool
	PTY         string // exec.PTYAuto, exec.PTYAlways or exec.PTYNever
	AllowNested bool
	// AllowDangerous injects secrets whose names could change what the
	// command runs (store.DangerousName).
	AllowDangerous bool
	Shell          bool     // `wsx shell`: WSX_SHELL=1 in the environment
	NoAccessAudit  bool     // no `accessed` records (also access_audit = false in wsx.toml)
	All            bool     // inject every secret even where a wsx.toml names the project's
	Inject         string   // exec.InjectEnv or exec.InjectProxy
	ProxyBody      []string // media types whose request bodies the proxy fills in

}

// shellMarker is set to "1" in the environment of `wsx shell`, so a
// prompt can show that the secrets are there.
const shellMarker = "WSX_SHELL"

func execFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{Name: "only", Usage: "inject only the secrets named in `NAMES` (comma-separated; repeatable)"},
		&cli.StringSliceFlag{Name: "env", Usage: "inject secret OLD as the variable NEW, `NEW=OLD` (repeatable); OLD goes in even when --only or wsx.toml does not name it"},
		&cli.BoolFlag{Name: "no-mask", Usage: "do not mask secret values in the output"},
		&cli.BoolFlag{Name: "allow-nested", Usage: "run even inside another wsx exec or wsx shell"},
		&cli.BoolFlag{Name: "allow-dangerous-name", Usage: "inject secrets whose names could change what the command runs (LD_PRELOAD, NODE_OPTIONS, ...)"},
		&cli.BoolFlag{Name: "no-access-audit", Aliases: []string{"no-trace"}, Usage: "do not record where the command reads each secret (no node/python hooks)"},
		&cli.StringFlag{Name: "inject", Usage: "how secrets reach the command, `MODE`: env (values; the default) or proxy (placeholders; an HTTPS proxy puts the values into requests to each secret's --host; the default for a guest with the edit role)"},
		&cli.StringSliceFlag{Name: "proxy-body", Usage: "with --inject proxy, replace placeholders in request bodies of media `TYPE` too (repeatable)"},
	}
}

func execCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "exec",
		Usage:     "run a command with secrets in its environment, masked in its output",
		ArgsUsage: "-- COMMAND [ARGS...]",
		Description: "Runs COMMAND with every token and password secret as an environment variable\n" +
			"NAME=value, and every file secret as a variable holding the path of a 0400 file in\n" +
			"memory (a private directory on tmpfs, removed when COMMAND ends) that every process\n" +
			"it starts can read. SSH keys (served by `wsx agent`) go in only when named, with\n" +
			"--only or in wsx.toml. Values, and their base64 (also wrapped at 64 or 76 columns),\n" +
			"hex (also `xxd -p`), URL and JSON forms, with or without colour codes between\n" +
			"characters, are replaced by *** in what the command prints on stdout and stderr, and\n" +
			"on the pseudo-terminal it gets; at most the first 3 characters of a value printed\n" +
			"slowly show. Not masked: a value split between stdout and stderr, UTF-16, reversed,\n" +
			"or written to wsx's own terminal (/dev/tty) when the output is a pipe (a note says\n" +
			"so; --pty always masks it). Values shorter than 4 bytes are not masked (a warning\n" +
			"says so). Each secret's use is recorded in the audit log, with the script it runs and\n" +
			"the line that names it, before it starts; while it runs, where it reads each secret\n" +
			"(`Secret accessed: NAME (lib/db.js:7)`: node and python through a hook in\n" +
			"NODE_OPTIONS and PYTHONPATH, shell scripts by their text) unless --no-access-audit\n" +
			"or access_audit = false in wsx.toml.\n\n" +
			"With --inject proxy (or inject = \"proxy\" in wsx.toml) a token or password bound to hosts\n" +
			"(--host) goes in as a placeholder, and HTTPS_PROXY names a proxy in wsx that puts the\n" +
			"value into the command's requests to those hosts, recording each; SSL_CERT_FILE and its\n" +
			"kin name the run's CA bundle. It is the default for a guest with the edit role (`wsx\n" +
			"share`); --inject env gives it the values. See \"Use without seeing\" in the README.\n\n" +
			"With --pty auto the command gets a pseudo-terminal when wsx's stdout is a terminal.\n" +
			"With --no-mask (and --pty other than always) wsx replaces itself by the command.\n" +
			"INT, TERM, HUP, QUIT and WINCH reach the command; if wsx dies, it gets a hangup.\n\n" +
			"Examples:\n" +
			"  wsx exec -- ./deploy.sh\n" +
			"  wsx exec --only STRIPE_API_KEY -- node app.js\n" +
			"  wsx exec --env GH_TOKEN=GITHUB_TOKEN -- gh pr list   # GITHUB_TOKEN's value as GH_TOKEN\n" +
			"  wsx exec -- sh -c 'echo $GITHUB_TOKEN'      # prints ***\n" +
			"  wsx exec --inject proxy -- git clone https://github.com/org/private.git\n" +
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
			o := execOpts(c, c.Args().Slice(), c.String("pty"))
			o.All = c.Bool("all")
			return s.runExec(o)
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
			if !c.Bool("no-mask") && env.StdinIsTerminal && exec.IsTerminal(env.Stdout) {
				pty = exec.PTYAlways
			}
			o := execOpts(c, []string{sh}, pty)
			o.Shell = true
			return s.runExec(o)
		}),
	}
}

// execOpts reads the flags exec and shell share.
func execOpts(c *cli.Context, argv []string, pty string) execOptions {
	return execOptions{
		Argv: argv, Only: c.StringSlice("only"), Env: c.StringSlice("env"), NoMask: c.Bool("no-mask"), PTY: pty,
		AllowNested: c.Bool("allow-nested"), AllowDangerous: c.Bool("allow-dangerous-name"), NoAccessAudit: c.Bool("no-access-audit"),
		Inject: c.String("inject"), ProxyBody: c.StringSlice("proxy-body"),
	}
}

// runExec runs o.Argv with the secrets (exec.Run). It returns an
// exitError carrying the command's status when the command ran.
func (s *session) runExec(o execOptions) error {
	if err := exec.CheckModes(o.PTY, o.Inject); err != nil {
		return err
	}
	if !o.AllowNested && exec.Nested([]string{exec.EnvMarker + "=" + s.env.Getenv(exec.EnvMarker)}) {
		return withHint(usagef("already inside wsx exec or wsx shell (%s is set)", exec.EnvMarker),
			"the secrets are in this environment already; run the command directly, or add --allow-nested")
	}
	only, err := exec.ParseOnly(o.Only)
	if err != nil {
		return err
	}
	renames, err := exec.ParseRenames(o.Env)
	if err != nil {
		return err
	}
	cwd := s.env.Getwd()
	m, err := manifest.Governing(cwd)
	if err != nil {
		return err
	}
	if err := s.fetchCommand().Stale(s.c.Context, m, only, audit.ViaExec); err != nil {
		return err
	}
	st, err := s.unlocked()
	if err != nil {
		return err
	}
	spec := exec.Spec{
		Argv: o.Argv, Only: only, All: o.All, AllowDangerous: o.AllowDangerous, Rename: renames,
		Source: st, Skip: credhelper.IsStored, ProviderCredentials: func() []string { return fetch.Credentials(s.home) },
		Chosen: s.remindOverdue, Close: s.close, KeepLog: s.lockKeepLog,
		Parent: s.env.Environ(), Cwd: cwd,
		Stdin: s.env.Stdin, Stdout: s.env.Stdout, Stderr: s.env.Stderr, StdoutIsTerminal: exec.IsTerminal(s.env.Stdout),
		NoMask: o.NoMask, PTY: o.PTY, Access: st, NoAccessAudit: o.NoAccessAudit,
		Inject: o.Inject, Role: s.guestRole, ProxyBodyTypes: o.ProxyBody,
	}
	if m != nil {
		spec.Project = m
	}
	if o.Shell {
		spec.Extra = []exec.Injected{{Name: shellMarker, Value: []byte("1")}}
	}
	code, err := exec.Run(s.c.Context, spec)
	var unknown *exec.UnknownNameError
	var missing *exec.MissingError
	switch {
	case errors.As(err, &missing):
		return err // 3, with the command that adds each
	case errors.As(err, &unknown):
		return secrets.DidYouMean(err, unknown.Name, unknown.Avail)
	case errors.Is(err, store.ErrDangerousName):
		return withHint(err, "if you mean it, add --allow-dangerous-name to wsx exec")
	case errors.Is(err, exec.ErrNotProxied):
		return withHint(err, "leave it out with --only, or drop --inject proxy / inject = \"proxy\" for it")
	case errors.Is(err, exec.ErrBadEnv):
		return withHint(err, "store such a secret with --type file, or leave it out with --only")
	case errors.Is(err, exec.ErrStart):
		return startError(err)
	case errors.Is(err, access.ErrDenied), errors.Is(err, store.ErrLocked):
		return err // 5 or 4, as for any command
	case err != nil && code == 1 && !errors.Is(err, exec.ErrNoCommand):
		return exitError{Code: code, Err: err}
	case err != nil:
		return err
	case code != 0:
		return exitError{Code: code}
	}
	return nil
}

// startError reports a command that could not be started with the exit
// code a shell would give.
func startError(err error) error {
	switch {
	case errors.Is(err, osexec.ErrNotFound), errors.Is(err, fs.ErrNotExist):
		return exitError{Code: exitNotFound, Err: err}
	default:
		return exitError{Code: exitCannotRun, Err: err}
	}
}
