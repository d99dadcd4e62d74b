package credhelper

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/wsxdev/wsx/internal/hint"
)

// Setup is `wsx git setup`: it makes wsx the first credential helper of the scope, keeping
// the others after it, and warns when git would still not ask wsx first
// or also hands passwords to a helper that stores them in clear: git gives
// every password that worked to every helper. The helper is an absolute
// path (HelperFor: git-credential-wsx beside this wsx, else this wsx), so
// git starts it directly rather than through a second git process.
func Setup(ctx context.Context, scope string, w io.Writer) error {
	if scope == "--local" {
		if _, err := git(ctx, "rev-parse", "--git-dir"); err != nil {
			return hint.With(errors.New("--local needs a git repository, and this directory is not in one"),
				"run it inside the repository, or use --global")
		}
	}
	current, err := GitHelpers(ctx, scope)
	if err != nil {
		return err
	}
	exe, err := wsxPath()
	if err != nil {
		return err
	}
	helper := HelperFor(exe)
	want := SetupHelpers(current, helper)
	if slices.Equal(current, want) {
		fmt.Fprintf(w, "wsx: git %s config already asks wsx first for credentials; nothing changed\n", scope)
	} else {
		if len(current) > 0 {
			if _, err := git(ctx, "config", scope, "--unset-all", "credential.helper"); err != nil {
				return err
			}
		}
		for _, h := range want {
			if _, err := git(ctx, "config", scope, "--add", "credential.helper", h); err != nil {
				return err
			}
		}
		fmt.Fprintf(w, "wsx: set credential.helper = %s in git %s config", helper, scope)
		if i := slices.Index(want, helper); i < len(want)-1 {
			fmt.Fprintf(w, ", first; kept after it: %s", strings.Join(want[i+1:], ", "))
		}
		fmt.Fprintln(w)
	}
	all, err := GitHelpers(ctx, "")
	if err != nil {
		return err
	}
	eff := EffectiveHelpers(all)
	switch i := slices.IndexFunc(eff, IsWSX); {
	case i < 0:
		fmt.Fprintln(w, "wsx: warning: another git config (see `git config --show-origin --get-all credential.helper`) resets credential.helper, so git does not ask wsx here")
	case i > 0:
		fmt.Fprintf(w, "wsx: warning: git asks %s before wsx (from another config scope; see `git config --show-origin --get-all credential.helper`)\n", strings.Join(eff[:i], ", "))
	}
	for _, h := range eff {
		if IsPlaintextStore(h) {
			fmt.Fprintf(w, "wsx: warning: credential.helper %q is also configured: git gives it every password that works, and it writes them to disk in clear; remove it with `git config --unset-all credential.helper '^store'` (in its scope)\n", h)
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

// GitHelpers lists credential.helper values in scope ("" for all scopes,
// in the order git reads them), empty values included: an empty value
// resets the list.
func GitHelpers(ctx context.Context, scope string) ([]string, error) {
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

// GitMayPrompt reads GIT_TERMINAL_PROMPT as git reads a boolean; unset
// means git may prompt.
func GitMayPrompt(v string) bool {
	switch strings.ToLower(v) {
	case "0", "false", "no", "off":
		return false
	}
	return true
}
