package cmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/wsxdev/wsx/credhelper"
)

// gitSetupOptions are the flags of `wsx git setup`.
type gitSetupOptions struct {
	Scope string // --global or --local
}

// runGitSetup makes wsx the first credential helper of the scope, keeping
// the others after it, and warns when git would still not ask wsx first
// or also hands passwords to a helper that stores them in clear: git gives
// every password that worked to every helper. The helper is this wsx's
// absolute path (credhelper.HelperFor), so git starts wsx directly rather
// than through a second git process.
func (s *session) runGitSetup(ctx context.Context, o gitSetupOptions) error {
	if o.Scope == "--local" {
		if _, err := git(ctx, "rev-parse", "--git-dir"); err != nil {
			return withHint(errors.New("--local needs a git repository, and this directory is not in one"),
				"run it inside the repository, or use --global")
		}
	}
	current, err := gitHelpers(ctx, o.Scope)
	if err != nil {
		return err
	}
	exe, err := wsxPath()
	if err != nil {
		return err
	}
	helper := credhelper.HelperFor(exe)
	want := credhelper.SetupHelpers(current, helper)
	if slices.Equal(current, want) {
		fmt.Fprintf(s.env.Stderr, "wsx: git %s config already asks wsx first for credentials; nothing changed\n", o.Scope)
	} else {
		if len(current) > 0 {
			if _, err := git(ctx, "config", o.Scope, "--unset-all", "credential.helper"); err != nil {
				return err
			}
		}
		for _, h := range want {
			if _, err := git(ctx, "config", o.Scope, "--add", "credential.helper", h); err != nil {
				return err
			}
		}
		fmt.Fprintf(s.env.Stderr, "wsx: set credential.helper = %s in git %s config", helper, o.Scope)
		if i := slices.Index(want, helper); i < len(want)-1 {
			fmt.Fprintf(s.env.Stderr, ", first; kept after it: %s", strings.Join(want[i+1:], ", "))
		}
		fmt.Fprintln(s.env.Stderr)
	}
	all, err := gitHelpers(ctx, "")
	if err != nil {
		return err
	}
	eff := credhelper.EffectiveHelpers(all)
	switch i := slices.IndexFunc(eff, credhelper.IsWSX); {
	case i < 0:
		fmt.Fprintln(s.env.Stderr, "wsx: warning: another git config (see `git config --show-origin --get-all credential.helper`) resets credential.helper, so git does not ask wsx here")
	case i > 0:
		fmt.Fprintf(s.env.Stderr, "wsx: warning: git asks %s before wsx (from another config scope; see `git config --show-origin --get-all credential.helper`)\n", strings.Join(eff[:i], ", "))
	}
	for _, h := range eff {
		if credhelper.IsPlaintextStore(h) {
			fmt.Fprintf(s.env.Stderr, "wsx: warning: credential.helper %q is also configured: git gives it every password that works, and it writes them to disk in clear; remove it with `git config --unset-all credential.helper '^store'` (in its scope)\n", h)
		}
	}
	return nil
}

// wsxPath is the absolute path of the running wsx, for git to start it
// directly: the one PATH finds when that is this same file (a stable
// symlink such as /usr/local/bin/wsx survives an upgrade), else the
// executable's own path.
func wsxPath() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find the path of wsx for credential.helper: %w", err)
	}
	if p, err := exec.LookPath("wsx"); err == nil {
		if abs, err := filepath.Abs(p); err == nil && sameFile(abs, exe) {
			return abs, nil
		}
	}
	return exe, nil
}

func sameFile(a, b string) bool {
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	return err == nil && os.SameFile(fa, fb)
}

// gitHelpers lists credential.helper values in scope ("" for all scopes,
// in the order git reads them), empty values included: an empty value
// resets the list.
func gitHelpers(ctx context.Context, scope string) ([]string, error) {
	args := []string{"config", "--null"}
	if scope != "" {
		args = append(args, scope)
	}
	out, err := git(ctx, append(args, "--get-all", "credential.helper")...)
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 1 {
		return nil, nil // no such key
	}
	if err != nil {
		return nil, err
	}
	hs := strings.Split(out, "\x00")
	return hs[:len(hs)-1], nil // each value ends in NUL
}

func git(ctx context.Context, args ...string) (string, error) {
	c := exec.CommandContext(ctx, "git", args...)
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	if err := c.Run(); err != nil {
		if _, ok := err.(*exec.ExitError); ok && errb.Len() == 0 {
			return "", err
		}
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}
