package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/wsxdev/wsx/audit"
	"github.com/wsxdev/wsx/scan"
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

// runScan scans, prints the findings, records the stored secrets found
// (`leaked`) and says how to proceed. Finding anything is exit status 1.
func (s *session) runScan(ctx context.Context, o scanOptions) error {
	opts := scan.Options{Mode: o.Mode, Paths: o.Paths, Stdin: s.env.Stdin}
	if !o.NoStore {
		m, err := s.scanValues()
		if err != nil {
			return err
		}
		opts.Values = m
	}
	if o.Mode == scan.ModeHistory && isTerminal(s.env.Stderr) {
		opts.Progress = progressBar(s.env)
	}
	res, err := scan.Run(ctx, opts)
	if opts.Progress != nil {
		fmt.Fprint(s.env.Stderr, "\r\033[K")
	}
	if errors.Is(err, scan.ErrNotRepository) {
		return withHint(err, "--staged and --history read a git repository: run wsx scan inside one")
	}
	if err != nil {
		return err
	}
	switch o.Format {
	case "json":
		err = scan.WriteJSON(s.env.Stdout, res)
	case "sarif":
		err = scan.WriteSARIF(s.env.Stdout, res, Version)
	default:
		err = scan.WriteText(s.env.Stdout, res)
	}
	if err != nil {
		return err
	}
	for _, sk := range res.Skipped {
		fmt.Fprintf(s.env.Stderr, "wsx: not scanned: %s: %s\n", sk.File, sk.Reason)
	}
	if len(res.Findings) == 0 {
		return nil
	}
	if err := s.recordLeaks(res.Root, res.Findings); err != nil {
		fmt.Fprintf(s.env.Stderr, "wsx: warning: the leaks found are not in the audit log: %v\n", err)
	}
	s.scanAdvice(o, res.Findings)
	return exitError{code: ExitError}
}

// scanValues returns the matcher of the store's values: the wsx agent's,
// which keeps them, or one built here from the store opened here. Without
// a store, or with one that cannot be unlocked here, the scan looks for
// known formats only and says so.
func (s *session) scanValues() (scan.Matcher, error) {
	if c, ok := s.viaDaemon(); ok {
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
	metas, err := st.List()
	if err != nil && metas == nil {
		return nil, err
	}
	if err != nil {
		fmt.Fprintf(s.env.Stderr, "wsx: warning: %v; the other secrets are looked for\n", err)
	}
	// Matching is not a use: the values stay in this process, which
	// holds the store unlocked anyway, and no program receives them.
	var vals []scan.Value
	for _, m := range metas {
		sec, err := s.st.Get(m.Name)
		if err != nil {
			fmt.Fprintf(s.env.Stderr, "wsx: warning: secret %s is not looked for: %v\n", m.Name, err)
			continue
		}
		vals = append(vals, scan.Value{Secret: sec.Name, Bytes: sec.Value.Bytes()})
		if !sec.PreviousValue.IsZero() {
			vals = append(vals, scan.Value{Secret: sec.Name, Previous: true, Bytes: sec.PreviousValue.Bytes()})
		}
	}
	vm, short := scan.NewValueMatcher(vals)
	for _, name := range short {
		fmt.Fprintf(s.env.Stderr, "wsx: note: %s is shorter than %d bytes: too short to look for\n", name, scan.MinValueLen)
	}
	return vm, nil
}

// recordLeaks appends a `leaked` record per stored secret and file found
// (its first line there): where a value was written, never the value.
// Known formats are not the store's secrets and leave no record.
func (s *session) recordLeaks(repo string, fs []scan.Finding) error {
	type key struct{ secret, file, commit string }
	seen := map[key]bool{}
	var rs []audit.Record
	for _, f := range fs {
		k := key{f.Secret, f.File, f.Commit}
		if f.Secret == "" || seen[k] {
			continue
		}
		seen[k] = true
		detail := "found by wsx scan"
		if f.Previous {
			detail += " (previous value)"
		}
		if f.Form != "" && f.Form != "raw" {
			detail += " as " + f.Form
		}
		rs = append(rs, audit.Record{Event: audit.EventLeaked, Secret: f.Secret, Via: audit.ViaCLI, Result: audit.ResultOK,
			Detail: detail, Context: &audit.Context{File: f.File, Line: f.Line, Repo: repo, Commit: f.Commit}})
		if len(rs) == 1000 {
			break
		}
	}
	if len(rs) == 0 {
		return nil
	}
	st, err := s.unlocked()
	if err != nil {
		return err
	}
	return st.Record(rs...)
}

// scanAdvice tells, on stderr, how to proceed after findings.
func (s *session) scanAdvice(o scanOptions, fs []scan.Finding) {
	var stored []string
	for _, f := range fs {
		if f.Secret != "" && !slices.Contains(stored, f.Secret) {
			stored = append(stored, f.Secret)
		}
	}
	w := s.env.Stderr
	n := len(fs)
	switch o.Mode {
	case scan.ModeStaged:
		fmt.Fprintf(w, "wsx: commit stopped: %d secret%s in the staged changes (listed above).\n", n, plural(n))
		fmt.Fprintln(w, "hint: take the value out (wsx exec gives it to programs as an environment variable), `git add` again, and commit;")
		fmt.Fprintln(w, "hint: a false alarm: add `wsx:allow` on the line, or its path or fingerprint to .wsxscanignore;")
		fmt.Fprintln(w, "hint: `git commit --no-verify` skips this check once.")
	case scan.ModeHistory:
		fmt.Fprintf(w, "wsx: %d secret%s in the history.\n", n, plural(n))
		fmt.Fprintln(w, "hint: a value in a pushed commit is in every clone: rotate it, removing it from the files does not help.")
	default:
		fmt.Fprintf(w, "wsx: %d secret%s found.\n", n, plural(n))
		fmt.Fprintln(w, "hint: take the values out of the files; a false alarm: `wsx:allow` on the line, or .wsxscanignore.")
	}
	for _, name := range stored {
		if o.Mode == scan.ModeHistory {
			fmt.Fprintf(w, "hint: %s is in the history: `wsx rotate %s`, then update where it is used.\n", name, name)
		} else {
			fmt.Fprintf(w, "hint: if %s was ever pushed or shared: `wsx rotate %s`.\n", name, name)
		}
	}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// progressBar draws the history scan's progress on stderr, at most ten
// times a second.
func progressBar(env *Env) func(done, total int) {
	return labelledBar(env, "scanning history", "commits")
}

// labelledBar draws a progress bar on stderr, at most ten times a
// second: "LABEL [====    ] 4/8 UNIT".
func labelledBar(env *Env, label, unit string) func(done, total int) {
	var last time.Time
	return func(done, total int) {
		now := env.Now()
		if now.Sub(last) < 100*time.Millisecond && done != total {
			return
		}
		last = now
		if total <= 0 {
			fmt.Fprintf(env.Stderr, "\r%s: %d %s", label, done, unit)
			return
		}
		const width = 30
		fill := min(width, done*width/total)
		fmt.Fprintf(env.Stderr, "\r%s [%s%s] %d/%d %s", label, strings.Repeat("=", fill), strings.Repeat(" ", width-fill), done, total, unit)
	}
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
				return s.runHookInstall(c.Context, c.Bool("global"))
			}),
		}},
	}
}

func (s *session) runHookInstall(ctx context.Context, global bool) error {
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
	res, err := scan.InstallHook(ctx, o)
	switch {
	case errors.Is(err, scan.ErrNotRepository):
		return withHint(err, "run it inside the repository, or use --global for new repositories")
	case errors.Is(err, scan.ErrHookExists):
		return withHint(err, "nothing was changed; merge the two hooks into pre-commit%s yourself, then run this again", scan.ChainedSuffix)
	case err != nil:
		return err
	}
	w := s.env.Stderr
	if res.Unchanged {
		fmt.Fprintf(w, "wsx: %s already runs wsx scan --staged; nothing changed\n", res.Path)
		return nil
	}
	fmt.Fprintf(w, "wsx: installed %s: each commit runs wsx scan --staged first\n", res.Path)
	if res.Chained != "" {
		fmt.Fprintf(w, "wsx: the hook that was there runs after it: %s\n", res.Chained)
	}
	if res.TemplateDir != "" {
		fmt.Fprintf(w, "wsx: set init.templateDir = %s in git --global config\n", res.TemplateDir)
	}
	if global {
		fmt.Fprintln(w, "hint: repositories created or cloned from now on get the hook; in an existing one run `git init` or `wsx git hook install`")
	}
	return nil
}
