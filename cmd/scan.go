package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/urfave/cli/v2"

	"github.com/wsxdev/wsx/audit"
	"github.com/wsxdev/wsx/exec"
	"github.com/wsxdev/wsx/scan"
	"github.com/wsxdev/wsx/secrets"
	"github.com/wsxdev/wsx/store"
)

// scanOptions are the flags of `wsx scan`.
type scanOptions struct {
	Mode    scan.Mode
	Paths   []string
	Format  string // text, json or sarif
	NoStore bool   // known formats only
}

func scanCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "scan",
		Usage:     "find stored secrets and known token formats in files, staged changes or history",
		ArgsUsage: "[PATH...]",
		Description: "Looks for the values in the store (current and previous, raw or encoded) and for\n" +
			"tokens of known formats (GitHub, GitLab, AWS, Slack, Stripe, Google, OpenAI, Anthropic,\n" +
			"npm, private keys, JWTs, passwords in URLs). Without a mode it reads the files under\n" +
			"PATH (default .), honouring .gitignore in a git work tree. A finding prints as\n" +
			"FILE:LINE:COL  NAME-OR-RULE  PREVIEW, the value replaced by ***.\n\n" +
			"Allow a finding with a wsx:allow comment on its line (wsx:allow=NAME for a stored\n" +
			"secret) or in .wsxscanignore (path globs, or the fingerprint --json prints).\n" +
			"With the wsx agent running, the values are matched inside it. Exit status: 0 clean,\n" +
			"1 found (or an error, explained on stderr), 2 usage.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "staged", Usage: "scan what the next commit adds (the pre-commit hook's mode)"},
			&cli.BoolFlag{Name: "history", Usage: "scan what every commit reachable from HEAD added"},
			&cli.BoolFlag{Name: "stdin", Usage: "scan standard input"},
			&cli.BoolFlag{Name: "json", Usage: "print the findings as JSON (same as --format json)"},
			&cli.StringFlag{Name: "format", Value: "text", Usage: "output `FORMAT`: text, json or sarif (SARIF 2.1.0)"},
			&cli.BoolFlag{Name: "no-store", Usage: "look for known formats only; do not open the store"},
		},
		Action: action(env, func(s *session, c *cli.Context) error {
			o := scanOptions{Paths: c.Args().Slice(), Format: c.String("format"), NoStore: c.Bool("no-store")}
			modes := 0
			for flag, m := range map[string]scan.Mode{"staged": scan.ModeStaged, "history": scan.ModeHistory, "stdin": scan.ModeStdin} {
				if c.Bool(flag) {
					o.Mode = m
					modes++
				}
			}
			if modes > 1 {
				return usagef("choose one of --staged, --history and --stdin")
			}
			if modes == 1 && len(o.Paths) > 0 {
				return usagef("PATH arguments go with a scan of files, not with --staged, --history or --stdin")
			}
			if c.Bool("json") {
				if c.IsSet("format") && o.Format != "json" {
					return usagef("--json and --format %s disagree", o.Format)
				}
				o.Format = "json"
			}
			if !slices.Contains([]string{"text", "json", "sarif"}, o.Format) {
				return usagef("unknown --format %q: text, json or sarif", o.Format)
			}
			return s.runScan(c.Context, o)
		}),
	}
}

// scanValues returns the matcher of the store's values: the wsx agent's,
// which keeps them, or one built here from the store opened here. Without
// a store, or with one that cannot be unlocked here, the scan looks for
// known formats only and says so.
func (s *session) scanValues() (scan.Matcher, error) {
	if c, ok := s.viaDaemon(false); ok {
		return c.ScanMatcher(), nil
	}
	st, err := s.direct()
	switch {
	case errors.Is(err, store.ErrNotInitialized):
		fmt.Fprintln(s.env.Stderr, "wsx: no store here: looking for known formats only")
		return nil, nil
	case errors.Is(err, store.ErrLocked):
		fmt.Fprintf(s.env.Stderr, "wsx: warning: the store is locked: stored secrets are NOT looked for, known formats are (%v); "+
			"`wsx unlock` or WSX_PASSPHRASE_FILE lets wsx scan look for them\n", err)
		return nil, nil
	case err != nil:
		return nil, err
	}
	return secrets.ScanMatcher(st, s.st, s.env.Stderr)
}

// gitHookCommand is `wsx git hook install`.
func gitHookCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:  "hook",
		Usage: "install a pre-commit hook that runs `wsx scan --staged`",
		Subcommands: []*cli.Command{{
			Name:  "install",
			Usage: "install the pre-commit hook in this repository, or with --global in git's template",
			Description: "The hook stops a commit that adds a stored secret or a known token format.\n" +
				"A pre-commit hook already in place is kept as pre-commit" + scan.ChainedSuffix + " and runs after\n" +
				"wsx's check. --global puts the hook in git's template directory (init.templateDir),\n" +
				"which `git init` and `git clone` copy into new repositories. For the pre-commit\n" +
				"framework, use the hook id wsx-scan of this repository's .pre-commit-hooks.yaml.",
			Flags: []cli.Flag{
				&cli.BoolFlag{Name: "global", Usage: "install into git's template directory, for new repositories"},
			},
			Action: action(env, func(s *session, c *cli.Context) error {
				if err := noArgs(c); err != nil {
					return err
				}
				return s.installHook(c.Context, c.Bool("global"))
			}),
		}},
	}
}

// runScan runs scan.Command with the store's values (unless o.NoStore).
func (s *session) runScan(ctx context.Context, o scanOptions) error {
	opts := scan.Options{Mode: o.Mode, Paths: o.Paths, Stdin: s.env.Stdin}
	if !o.NoStore {
		m, err := s.scanValues()
		if err != nil {
			return err
		}
		opts.Values = m
	}
	if o.Mode == scan.ModeHistory && exec.IsTerminal(s.env.Stderr) {
		opts.Progress = scan.ProgressBar(s.env.Stderr, s.env.Now)
	}
	return scan.Command(ctx, opts, scan.Out{Format: o.Format, Version: Version, Stdout: s.env.Stdout, Stderr: s.env.Stderr,
		Record: func(rs ...audit.Record) error {
			if len(rs) == 0 {
				return nil
			}
			st, err := s.unlocked()
			if err != nil {
				return err
			}
			return st.Record(rs...)
		}})
}

// installHook is `wsx git hook install`, with wsx's own path in the hook.
func (s *session) installHook(ctx context.Context, global bool) error {
	self, err := os.Executable()
	if err != nil {
		self = "wsx"
	}
	o := scan.HookOptions{Dir: ".", Global: global, Command: self}
	if global {
		cfg := s.env.Getenv("XDG_CONFIG_HOME")
		if cfg == "" {
			cfg = filepath.Join(s.env.Getenv("HOME"), ".config")
		}
		o.TemplateDir = filepath.Join(cfg, "wsx", "git-template")
	}
	return scan.InstallHookCommand(ctx, o, s.env.Stderr)
}
