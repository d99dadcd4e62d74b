// Package cmd is the command line of wsx: it turns arguments, flags,
// environment variables and terminal prompts into calls on the feature
// packages, and their errors into messages with a fix and an exit code.
//
// It is the only package that knows about the terminal. Every stream, the
// environment lookup and the clock come in through Env, so the whole command
// line runs in tests without touching process globals.
package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"time"

	"github.com/wsxdev/wsx/internal/clidoc"
	"github.com/wsxdev/wsx/internal/hint"
	"github.com/wsxdev/wsx/internal/prompt"

	"golang.org/x/term"
)

// Version is set at build time with -ldflags "-X github.com/wsxdev/wsx/cmd.Version=...".
var Version = "dev"

// Terminal is the controlling terminal prompts go to (prompt.Terminal).
type Terminal = prompt.Terminal

// Env is everything a command may use from the world outside it.
type Env struct {
	Args   []string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	Now    func() time.Time
	// Terminal opens the controlling terminal for prompts. It returns an
	// error when there is none.
	Terminal func() (Terminal, error)
	// StdinIsTerminal reports whether Stdin is a terminal, so a value is
	// asked for with a hidden prompt rather than read from a pipe.
	StdinIsTerminal bool
	UID             int
	// PID is this process's id, Dir its working directory and Environ
	// its whole environment (what a child of `wsx exec` inherits).
	PID     int
	Dir     string
	Environ func() []string
}

// Getwd is the working directory, "" when unknown.
func (e *Env) Getwd() string { return e.Dir }

// OSEnv is the Env of the running process.
func OSEnv() Env {
	wd, _ := os.Getwd()
	return Env{
		Args:            os.Args,
		Stdin:           os.Stdin,
		Stdout:          os.Stdout,
		Stderr:          os.Stderr,
		Getenv:          os.Getenv,
		Now:             time.Now,
		Terminal:        prompt.Open,
		StdinIsTerminal: term.IsTerminal(int(os.Stdin.Fd())),
		UID:             os.Getuid(),
		PID:             os.Getpid(),
		Dir:             wd,
		Environ:         os.Environ,
	}
}

// Main runs wsx with env and returns the process exit code. It is the only
// place that turns errors into exit codes; nothing below it exits.
func Main(ctx context.Context, env Env) int {
	if filepath.Base(env.Args[0]) == "git-credential-wsx" {
		env.Args = append([]string{"wsx", "credential"}, env.Args[1:]...)
	}
	app := newApp(&env)
	if len(env.Args) > 1 && env.Args[1] == clidoc.CompleteArg {
		return runComplete(&env, app, env.Args[2:])
	}
	err := app.RunContext(ctx, interspersed(app, env.Args))
	code := reportError(env.Stderr, err)
	if code != ExitOK && wantsJSON(env.Args) {
		reportJSONError(env.Stdout, err, code)
	}
	return code
}

// The errors of flows, as package hint defines them.
type (
	usageError = hint.Usage
	exitError  = hint.Exit
)

var (
	usagef   = hint.Usagef
	withHint = hint.With
)

func actor(env *Env) (int, string) {
	name := ""
	if u, err := user.LookupId(strconv.Itoa(env.UID)); err == nil {
		name = u.Username
	}
	return env.UID, name
}

func reportError(stderr io.Writer, err error) int {
	if err == nil {
		return 0
	}
	var ee exitError
	if errors.As(err, &ee) && ee.Err == nil {
		return ee.Code
	}
	if _, said := errors.AsType[hint.Said](err); said {
		return exitCode(err)
	}
	fmt.Fprintf(stderr, "wsx: %v\n", err)
	if h := hintOf(err); h != "" {
		fmt.Fprintf(stderr, "hint: %s\n", h)
	}
	return exitCode(err)
}
