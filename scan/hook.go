package scan

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
)

// HookOptions configure InstallHook.
type HookOptions struct {
	// Dir is a directory of the repository to install into.
	Dir string
	// Global installs into git's template directory (init.templateDir,
	// set to TemplateDir when unset), so every repository created or
	// cloned from now on gets the hook; `git init` in an existing one
	// copies it there too.
	Global      bool
	TemplateDir string
	// Command is the wsx the hook runs: the absolute path of this binary,
	// with "wsx" from PATH as the fallback when it has moved.
	Command string
	Git     string // "git" when empty
}

// HookResult says what InstallHook did.
type HookResult struct {
	Path      string // the hook file
	Chained   string // the hook that was there before, now run after wsx's
	Unchanged bool   // the hook was already this one
	// TemplateDir is set when Global set init.templateDir.
	TemplateDir string
}

// ChainedSuffix is appended to the name of a hook found in place; the
// wsx hook runs it after its own check, with the same arguments.
const ChainedSuffix = ".wsx-chained"

// hookMarker is in every hook wsx writes, so an update replaces it rather
// than chaining to an older copy of itself.
const hookMarker = "# wsx pre-commit hook"

// ErrHookExists is returned when a hook is in place and so is a chained
// one: wsx would have nowhere to keep the first.
var ErrHookExists = errors.New("a pre-commit hook is in place and so is " + "pre-commit" + ChainedSuffix)

// HookScript returns the pre-commit hook that runs `wsx scan --staged`
// with the wsx at command.
func HookScript(command string) string {
	return "#!/bin/sh\n" + hookMarker + `: stops a commit that adds a secret kept in the wsx
# store, or a token of a known format. Written by ` + "`wsx git hook install`" + `.
# A hook that was here before runs after it: pre-commit` + ChainedSuffix + `.
# Skip it once with ` + "`git commit --no-verify`" + `.
wsx=` + shellQuote(command) + `
[ -x "$wsx" ] || wsx=wsx
"$wsx" scan --staged || exit $?
chained="$(dirname "$0")/pre-commit` + ChainedSuffix + `"
if [ -x "$chained" ]; then exec "$chained" "$@"; fi
`
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// InstallHook installs the pre-commit hook. A hook of another tool found
// in place is kept: renamed with ChainedSuffix and run after wsx's check.
func InstallHook(ctx context.Context, o HookOptions) (HookResult, error) {
	if o.Git == "" {
		o.Git = "git"
	}
	var res HookResult
	var dir string
	if o.Global {
		t, err := gitOut(ctx, o, "config", "--global", "--type=path", "--get", "init.templateDir")
		if err != nil || t == "" {
			if o.TemplateDir == "" {
				return res, errors.New("no git template directory: init.templateDir is unset and none was given")
			}
			if _, err := gitOut(ctx, o, "config", "--global", "init.templateDir", o.TemplateDir); err != nil {
				return res, err
			}
			t, res.TemplateDir = o.TemplateDir, o.TemplateDir
		}
		dir = filepath.Join(t, "hooks")
	} else {
		h, err := gitOut(ctx, o, "rev-parse", "--git-path", "hooks")
		if err != nil {
			return res, fmt.Errorf("%s: %w", o.Dir, ErrNotRepository)
		}
		dir = h
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(o.Dir, dir)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return res, err
	}
	res.Path = filepath.Join(dir, "pre-commit")
	script := []byte(HookScript(o.Command))
	old, err := os.ReadFile(res.Path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return res, err
	case bytes.Equal(old, script):
		res.Unchanged = true
		return res, nil
	case bytes.Contains(old, []byte(hookMarker)):
		// An older wsx hook: replaced below.
	default:
		chained := res.Path + ChainedSuffix
		if _, err := os.Lstat(chained); err == nil {
			return res, fmt.Errorf("%s: %w", res.Path, ErrHookExists)
		}
		if err := os.Rename(res.Path, chained); err != nil {
			return res, err
		}
		res.Chained = chained
	}
	if _, err := os.Lstat(res.Path + ChainedSuffix); err == nil {
		res.Chained = res.Path + ChainedSuffix
	}
	if err := writeHook(res.Path, script); err != nil {
		return res, err
	}
	return res, nil
}

// writeHook replaces the hook at path with script, mode 0755, through a
// new temporary file beside it (created exclusively, so a link planted in
// the hooks directory is never followed) renamed over it.
//
// store/atomicfile is not used: scan may import nothing under store
// (internal/archtest), and a hook needs neither its flock nor its sweep of
// stale temporary files.
func writeHook(path string, script []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".wsx-tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(script)
	if err == nil {
		err = f.Chmod(0o755)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

func gitOut(ctx context.Context, o HookOptions, args ...string) (string, error) {
	cmd := osexec.CommandContext(ctx, o.Git, args...)
	cmd.Dir = o.Dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %w: %s", args[0], err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimRight(string(out), "\n"), nil
}
