// Package e2e drives the built wsx binary through testscript scenarios
// (testdata/*.txtar), with the real git and OpenSSH tools beside it.
//
// Every script runs with its own HOME, WSX_HOME and TMPDIR inside its work
// directory, and $CANARY holds a secret value that must never leave the
// store in clear. Commands run through the `wsx` and `run` script commands
// have their output recorded; when a script ends, that output and every
// file under its work directory are searched for the canary, and any hit
// fails the script.
package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// canary is the secret value the scenarios store and use. It is long and
// unusual so that any appearance of it is a leak, not a coincidence.
const canary = "wsx-canary-7f3a9c1e5b2d4086-DO-NOT-LEAK"

// binDir holds the wsx binary built for this run.
var binDir string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "wsx-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if err := buildWSX(filepath.Join(dir, "wsx")); err != nil {
		fmt.Fprintln(os.Stderr, "build wsx:", err)
		return 1
	}
	if err := buildCompanion("wsx-provider", filepath.Join(dir, "wsx-provider")); err != nil {
		fmt.Fprintln(os.Stderr, "build wsx-provider:", err)
		return 1
	}
	if err := buildCompanion("git-credential-wsx", filepath.Join(dir, "git-credential-wsx")); err != nil {
		fmt.Fprintln(os.Stderr, "build git-credential-wsx:", err)
		return 1
	}
	binDir = dir
	return m.Run()
}

// buildTags are the Makefile's TAGS: the binary under test is the one
// `make build` makes.
const buildTags = "urfave_cli_no_docs"

// buildWSX builds wsx to out, or, when WSX_E2E_BIN names a binary (as
// `make bench` does with the one it built), copies that one.
func buildWSX(out string) error {
	if bin := os.Getenv("WSX_E2E_BIN"); bin != "" {
		b, err := os.ReadFile(bin)
		if err != nil {
			return err
		}
		return os.WriteFile(out, b, 0o755)
	}
	_, file, _, _ := runtime.Caller(0)
	// As `make build` builds it: static, without cgo, so the scenarios
	// and benchmarks run what ships.
	build := exec.Command("go", "build", "-trimpath", "-tags", buildTags, "-ldflags", "-s -w", "-o", out, "./cmd/wsx")
	build.Dir = filepath.Dir(filepath.Dir(file))
	// WSX_E2E_GOEXPERIMENT=runtimesecret builds internal/erase with runtime/secret.
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOEXPERIMENT="+os.Getenv("WSX_E2E_GOEXPERIMENT"))
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	return build.Run()
}

// requireTools fails under CI, and skips elsewhere, when a tool the
// scenarios need is missing. `make test` installs them.
func requireTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err == nil {
			continue
		}
		if _, err := os.Stat(tool); err == nil {
			continue
		}
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing; `make test` installs it (scripts/deps.sh)", tool)
		}
		t.Skipf("%s is missing; run scripts/deps.sh (as root) to install it", tool)
	}
}

type transcriptKey struct{}
type statusKey struct{}

func TestScripts(t *testing.T) {
	requireTools(t, "git", "ssh", "ssh-add", "ssh-keygen", "ssh-agent")
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata",
		RequireUniqueNames:  true,
		RequireExplicitExec: true,
		Setup:               setup,
		Condition:           condition,
		Cmds: map[string]func(*testscript.TestScript, bool, []string){
			"wsx":       cmdWSX,
			"run":       cmdRun,
			"status":    cmdStatus,
			"canary":    cmdCanary,
			"gitserver": cmdGitServer,
			"agentenv":  cmdAgentEnv,
			"sshd":      cmdSSHD,
			"waitfor":   cmdWaitFor,
			"sarif":     cmdSARIF,
		},
	})
}

// condition adds [tool:NAME]: NAME is on PATH. Under CI a missing tool is
// an error rather than a skip: scripts/deps.sh installs them.
func condition(cond string) (bool, error) {
	tool, ok := strings.CutPrefix(cond, "tool:")
	if !ok {
		return false, fmt.Errorf("unknown condition %q", cond)
	}
	if _, err := exec.LookPath(tool); err == nil {
		return true, nil
	}
	if os.Getenv("CI") == "true" {
		return false, fmt.Errorf("%s is missing; `make test` installs it (scripts/deps.sh)", tool)
	}
	return false, nil
}

func setup(env *testscript.Env) error {
	work := env.WorkDir
	for _, d := range []string{"home", "tmp"} {
		if err := os.MkdirAll(filepath.Join(work, d), 0o700); err != nil {
			return err
		}
	}
	env.Setenv("PATH", binDir+string(os.PathListSeparator)+env.Getenv("PATH"))
	env.Setenv("HOME", filepath.Join(work, "home"))
	env.Setenv("WSX_HOME", filepath.Join(work, "wsxhome"))
	env.Setenv("TMPDIR", filepath.Join(work, "tmp"))
	env.Setenv("XDG_RUNTIME_DIR", filepath.Join(work, "tmp"))
	env.Setenv("TZ", "UTC")
	env.Setenv("CANARY", canary)
	env.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	env.Setenv("GIT_TERMINAL_PROMPT", "0")
	env.Setenv("UID", strconv.Itoa(os.Getuid()))
	if err := os.WriteFile(filepath.Join(work, "pass"), []byte("correct horse battery staple\n"), 0o600); err != nil {
		return err
	}
	env.Setenv("PASSFILE", filepath.Join(work, "pass"))
	// SHM: a directory of this script's own on tmpfs, where no other
	// script's wsx exec sweeps the directories of runs that are gone.
	if shm, err := os.MkdirTemp("/dev/shm", "wsx-e2e-"); err == nil {
		env.Setenv("SHM", shm)
		env.Defer(func() { os.RemoveAll(shm) })
	}
	tr := new(bytes.Buffer)
	env.Values[transcriptKey{}] = tr
	env.Values[statusKey{}] = new(int)
	env.Defer(func() {
		if hits := scanForCanary(work, tr.Bytes()); len(hits) > 0 {
			env.T().Fatal("canary found in: " + strings.Join(hits, ", "))
		}
	})
	return nil
}

// cmdWSX runs the built wsx binary and records its output for the canary
// scan: `wsx ARGS...`, or `! wsx ARGS...` when it must fail. `status N`
// then checks the exit code.
func cmdWSX(ts *testscript.TestScript, neg bool, args []string) {
	runRecorded(ts, neg, filepath.Join(binDir, "wsx"), args)
}

// cmdRun runs any program like exec does, but records its output for the
// canary scan.
func cmdRun(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) == 0 {
		ts.Fatalf("usage: run PROGRAM [ARGS...]")
	}
	runRecorded(ts, neg, args[0], args[1:])
}

func runRecorded(ts *testscript.TestScript, neg bool, prog string, args []string) {
	err := ts.Exec(prog, args...)
	tr := ts.Value(transcriptKey{}).(*bytes.Buffer)
	tr.WriteString(ts.ReadFile("stdout"))
	tr.WriteString(ts.ReadFile("stderr"))
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		ts.Fatalf("%s: %v", prog, err)
	}
	*ts.Value(statusKey{}).(*int) = code
	if neg && code == 0 {
		ts.Fatalf("%s %s: unexpected success", filepath.Base(prog), strings.Join(args, " "))
	}
	if !neg && code != 0 {
		ts.Fatalf("%s %s: exit status %d", filepath.Base(prog), strings.Join(args, " "), code)
	}
}

// cmdStatus checks the exit code of the last `wsx` or `run` command.
func cmdStatus(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: status CODE")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("status: %v", err)
	}
	got := *ts.Value(statusKey{}).(*int)
	if (got == want) == neg {
		ts.Fatalf("exit status %d, want %s%d", got, map[bool]string{true: "not ", false: ""}[neg], want)
	}
}

// cmdCanary writes the canary to a file, so scripts can feed it to commands
// without it appearing in the script text: `canary FILE`. With `-n` no
// newline follows it.
func cmdCanary(ts *testscript.TestScript, neg bool, args []string) {
	nl := "\n"
	if len(args) == 2 && args[0] == "-n" {
		nl, args = "", args[1:]
	}
	if neg || len(args) != 1 {
		ts.Fatalf("usage: canary [-n] FILE")
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(canary+nl), 0o600))
}

// scanForCanary lists where the canary appears: the recorded output, and
// any file under dir except the canary files the scripts themselves wrote
// (named canary*).
func scanForCanary(dir string, transcript []byte) []string {
	var hits []string
	if bytes.Contains(transcript, []byte(canary)) {
		hits = append(hits, "command output")
	}
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() || strings.HasPrefix(d.Name(), "canary") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err == nil && bytes.Contains(b, []byte(canary)) {
			rel, _ := filepath.Rel(dir, path)
			hits = append(hits, rel)
		}
		return nil
	})
	return hits
}
