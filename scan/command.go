package scan

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/wsxdev/wsx/audit"
	"github.com/wsxdev/wsx/internal/hint"
)

// ErrFound is what Command returns when it found secrets, once said.
var ErrFound = errors.New("secrets found")

// Out is where Command reports.
type Out struct {
	Format         string // text, json or sarif
	Version        string // wsx's, for SARIF
	Stdout, Stderr io.Writer
	// Record appends records to the audit log of the store looked in.
	Record func(...audit.Record) error
}

// Command is `wsx scan` and the pre-commit hook: it scans, prints the
// findings in c.Format, records the stored secrets found (`leaked`) and
// says how to proceed. Finding anything is ErrFound, once said.
func Command(ctx context.Context, opts Options, c Out) error {
	res, err := Run(ctx, opts)
	if opts.Progress != nil {
		fmt.Fprint(c.Stderr, "\r\033[K")
	}
	if errors.Is(err, ErrNotRepository) {
		return hint.With(err, "--staged and --history read a git repository: run wsx scan inside one")
	}
	if err != nil {
		return err
	}
	switch c.Format {
	case "json":
		err = WriteJSON(c.Stdout, res)
	case "sarif":
		err = WriteSARIF(c.Stdout, res, c.Version)
	default:
		err = WriteText(c.Stdout, res)
	}
	if err != nil {
		return err
	}
	for _, sk := range res.Skipped {
		fmt.Fprintf(c.Stderr, "wsx: not scanned: %s: %s\n", sk.File, sk.Reason)
	}
	if len(res.Findings) == 0 {
		return nil
	}
	if err := c.Record(leakRecords(res.Root, res.Findings)...); err != nil {
		fmt.Fprintf(c.Stderr, "wsx: warning: the leaks found are not in the audit log: %v\n", err)
	}
	writeAdvice(c.Stderr, opts.Mode, res.Findings)
	return hint.Said{Err: ErrFound}
}

// leakRecords are the `leaked` records of findings: one per stored secret
// and file found (its first line there), where a value was written, never
// the value. Known formats are not the store's secrets and leave none.
func leakRecords(repo string, fs []Finding) []audit.Record {
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
	return rs
}

// writeAdvice tells, on w, how to proceed after findings.
func writeAdvice(w io.Writer, mode Mode, fs []Finding) {
	var stored []string
	for _, f := range fs {
		if f.Secret != "" && !slices.Contains(stored, f.Secret) {
			stored = append(stored, f.Secret)
		}
	}
	n := len(fs)
	switch mode {
	case ModeStaged:
		fmt.Fprintf(w, "wsx: commit stopped: %d secret%s in the staged changes (listed above).\n", n, plural(n))
		fmt.Fprintln(w, "hint: take the value out (wsx exec gives it to programs as an environment variable), `git add` again, and commit;")
		fmt.Fprintln(w, "hint: a false alarm: add `wsx:allow` on the line, or its path or fingerprint to .wsxscanignore;")
		fmt.Fprintln(w, "hint: `git commit --no-verify` skips this check once.")
	case ModeHistory:
		fmt.Fprintf(w, "wsx: %d secret%s in the history.\n", n, plural(n))
		fmt.Fprintln(w, "hint: a value in a pushed commit is in every clone: rotate it, removing it from the files does not help.")
	default:
		fmt.Fprintf(w, "wsx: %d secret%s found.\n", n, plural(n))
		fmt.Fprintln(w, "hint: take the values out of the files; a false alarm: `wsx:allow` on the line, or .wsxscanignore.")
	}
	for _, name := range stored {
		if mode == ModeHistory {
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

// ProgressBar draws the history scan's progress on w, at most ten times
// a second.
func ProgressBar(w io.Writer, clock func() time.Time) func(done, total int) {
	return Bar(w, clock, "scanning history", "commits")
}

// Bar draws a progress bar on w, at most ten times a second:
// "LABEL [====    ] 4/8 UNIT".
func Bar(w io.Writer, clock func() time.Time, label, unit string) func(done, total int) {
	var last time.Time
	return func(done, total int) {
		now := clock()
		if now.Sub(last) < 100*time.Millisecond && done != total {
			return
		}
		last = now
		if total <= 0 {
			fmt.Fprintf(w, "\r%s: %d %s", label, done, unit)
			return
		}
		const width = 30
		fill := min(width, done*width/total)
		fmt.Fprintf(w, "\r%s [%s%s] %d/%d %s", label, strings.Repeat("=", fill), strings.Repeat(" ", width-fill), done, total, unit)
	}
}

// InstallHookCommand is `wsx git hook install`: InstallHook, and what it
// did said on w.
func InstallHookCommand(ctx context.Context, o HookOptions, w io.Writer) error {
	global := o.Global
	res, err := InstallHook(ctx, o)
	switch {
	case errors.Is(err, ErrNotRepository):
		return hint.With(err, "run it inside the repository, or use --global for new repositories")
	case errors.Is(err, ErrHookExists):
		return hint.With(err, "nothing was changed; merge the two hooks into pre-commit%s yourself, then run this again", ChainedSuffix)
	case err != nil:
		return err
	}
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
