package scan

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/wsxdev/wsx/internal/hint"
)

// Request is `wsx scan` as the command line asks it.
type Request struct {
	Staged, History, FromStdin bool     // the mode; none is a scan of Paths
	Paths                      []string // PATH arguments
	JSON                       bool     // --json
	Format                     string   // --format: text, json or sarif
	FormatSet                  bool     // --format given
	NoStore                    bool     // known formats only: Values is not asked
	Progress                   bool     // a progress bar on Out.Stderr for --history
	Stdin                      io.Reader
	Now                        func() time.Time
	// Values is the matcher of the store's values; nil from it scans for
	// known formats only.
	Values func() (Matcher, error)
}

// check turns r's flags into Options and the output format, or a usage
// error when they disagree.
func (r Request) check() (Options, string, error) {
	o := Options{Paths: r.Paths, Stdin: r.Stdin}
	modes := 0
	for _, m := range []struct {
		on   bool
		mode Mode
	}{{r.Staged, ModeStaged}, {r.History, ModeHistory}, {r.FromStdin, ModeStdin}} {
		if m.on {
			o.Mode = m.mode
			modes++
		}
	}
	if modes > 1 {
		return o, "", hint.Usagef("choose one of --staged, --history and --stdin")
	}
	if modes == 1 && len(r.Paths) > 0 {
		return o, "", hint.Usagef("PATH arguments go with a scan of files, not with --staged, --history or --stdin")
	}
	format := r.Format
	if format == "" {
		format = "text"
	}
	if r.JSON {
		if r.FormatSet && format != "json" {
			return o, "", hint.Usagef("--json and --format %s disagree", format)
		}
		format = "json"
	}
	if !slices.Contains([]string{"text", "json", "sarif"}, format) {
		return o, "", hint.Usagef("unknown --format %q: text, json or sarif", format)
	}
	return o, format, nil
}

// Scan is `wsx scan`: it checks the request's flags before anything is
// opened, gets the store's values (unless NoStore), and runs Command,
// which prints to out in the format asked.
func Scan(ctx context.Context, r Request, out Out) error {
	o, format, err := r.check()
	if err != nil {
		return err
	}
	if !r.NoStore && r.Values != nil {
		if o.Values, err = r.Values(); err != nil {
			return err
		}
	}
	if o.Mode == ModeHistory && r.Progress {
		o.Progress = ProgressBar(out.Stderr, r.Now)
	}
	out.Format = format
	return Command(ctx, o, out)
}

// InstallHookFor is `wsx git hook install`: a hook that runs this wsx
// (wsx from PATH when its path is unknown), into the repository in dir, or
// with global into git's template directory, by default wsx's under
// XDG_CONFIG_HOME (~/.config).
func InstallHookFor(ctx context.Context, dir string, global bool, getenv func(string) string, w io.Writer) error {
	self, err := os.Executable()
	if err != nil {
		self = "wsx"
	}
	o := HookOptions{Dir: dir, Global: global, Command: self}
	if global {
		cfg := getenv("XDG_CONFIG_HOME")
		if cfg == "" {
			cfg = filepath.Join(getenv("HOME"), ".config")
		}
		o.TemplateDir = filepath.Join(cfg, "wsx", "git-template")
	}
	return InstallHookCommand(ctx, o, w)
}
