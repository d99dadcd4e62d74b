package cmd

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/wsxdev/wsx/exec"
	"github.com/wsxdev/wsx/scan"
	"github.com/wsxdev/wsx/secrets"
	"github.com/wsxdev/wsx/store"
)

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
			return scan.Scan(c.Context, scan.Request{
				Staged: c.Bool("staged"), History: c.Bool("history"), FromStdin: c.Bool("stdin"), Paths: c.Args().Slice(),
				JSON: c.Bool("json"), Format: c.String("format"), FormatSet: c.IsSet("format"), NoStore: c.Bool("no-store"),
				Progress: exec.IsTerminal(s.env.Stderr), Stdin: s.env.Stdin, Now: s.env.Now, Values: s.scanValues,
			}, scan.Out{Version: Version, Stdout: s.env.Stdout, Stderr: s.env.Stderr, Record: s.record})
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
			Action: noArgsAction(env, func(s *session, c *cli.Context) error {
				return scan.InstallHookFor(c.Context, ".", c.Bool("global"), s.env.Getenv, s.env.Stderr)
			}),
		}},
	}
}
