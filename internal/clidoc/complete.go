package clidoc

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/urfave/cli/v2"
)

// CompleteArg is the hidden first argument with which the completion
// scripts ask wsx for candidates: `wsx __complete bash|fish WORD... CUR`,
// the words after "wsx" up to the one under the cursor (CUR, maybe empty).
// The answer is one candidate a line, starting with CUR.
const CompleteArg = "__complete"

// nameCommands take a secret's NAME as their argument.
var nameCommands = []string{"info", "set", "rm", "remove", "rotate", "doctor"}

// fixedValues are the values of flags and arguments that have a small set.
var fixedValues = sync.OnceValue(func() map[string][]string {
	return map[string][]string{
		"type":       {"token", "password", "key", "file"},
		"pty":        {"auto", "always", "never"},
		"backend":    {"file", "secret-service", "keyctl", "pass"},
		"completion": {"bash", "zsh", "fish", "man"},
		"credential": {"get", "store", "erase", "capability"},
	}
})

// Complete prints on w the completions of words (see CompleteArg); names
// lists the store's secret names. It is false when words are too few.
func Complete(w io.Writer, app *cli.App, words []string, names func() []string) bool {
	if len(words) < 2 {
		return false
	}
	fish := words[0] == "fish"
	prev, cur := words[1:len(words)-1], words[len(words)-1]
	for _, c := range Completions(app, prev, cur, fish, names) {
		if strings.HasPrefix(c, cur) {
			fmt.Fprintln(w, c)
		}
	}
	return true
}

// Completions are the candidates for cur after the words prev.
func Completions(app *cli.App, prev []string, cur string, fish bool, names func() []string) []string {
	i := 0
	for i < len(prev) && strings.HasPrefix(prev[i], "-") {
		i += FlagWidth(app.Flags, prev[i])
	}
	if i >= len(prev) {
		if strings.HasPrefix(cur, "-") {
			return flagNames(app.Flags)
		}
		var out []string
		for _, c := range app.VisibleCommands() {
			out = append(out, c.Name)
		}
		return out
	}
	cmd := app.Command(prev[i])
	if cmd == nil {
		return nil
	}
	rest := prev[i+1:]
	if len(cmd.Subcommands) > 0 && len(rest) > 0 {
		if sub := FindSub(cmd, rest[0]); sub != nil {
			cmd, rest = sub, rest[1:]
		}
	}
	if slices.Contains(rest, "--") {
		return nil // the command wsx runs: the shell's own completion
	}
	// A flag's value: "--only NAME" (bash splits "--only=NAME" at "=").
	if n := len(rest); n > 0 {
		last := rest[n-1]
		if last == "=" && n > 1 {
			last = rest[n-2]
		}
		if strings.HasPrefix(last, "-") && !strings.Contains(last, "=") && FlagWidth(cmd.Flags, last) == 2 {
			return flagValues(names, strings.TrimLeft(last, "-"), cur, fish)
		}
	}
	if strings.HasPrefix(cur, "-") {
		return flagNames(cmd.Flags)
	}
	positional := 0
	for j := 0; j < len(rest); j++ {
		if strings.HasPrefix(rest[j], "-") {
			j += FlagWidth(cmd.Flags, rest[j]) - 1
			continue
		}
		positional++
	}
	if positional > 0 {
		return nil
	}
	switch {
	case len(cmd.Subcommands) > 0:
		var out []string
		for _, s := range cmd.VisibleCommands() {
			if s.Name != "help" {
				out = append(out, s.Name)
			}
		}
		return out
	case slices.Contains(nameCommands, cmd.Name):
		return names()
	}
	return fixedValues()[cmd.Name]
}

// flagValues completes the value of the flag called name.
func flagValues(names func() []string, name, cur string, fish bool) []string {
	switch name {
	case "only":
		// A comma-separated list: complete its last element.
		head := ""
		if i := strings.LastIndexByte(cur, ','); i >= 0 {
			head = cur[:i+1]
		}
		chosen := strings.Split(head, ",")
		var out []string
		for _, n := range names() {
			if !slices.Contains(chosen, n) {
				out = append(out, head+n)
			}
		}
		return out
	case "type", "pty", "backend":
		return fixedValues()[name]
	}
	if fish {
		return completeFiles(cur)
	}
	return nil // bash and zsh complete file names themselves (-o default)
}

func flagNames(flags []cli.Flag) []string {
	var out []string
	for _, f := range flags {
		for _, n := range f.Names() {
			if len(n) == 1 {
				out = append(out, "-"+n)
			} else {
				out = append(out, "--"+n)
			}
		}
	}
	out = append(out, "--help")
	return out
}

// completeFiles lists the files whose path starts with cur, for fish,
// where the completion of wsx replaces its own.
func completeFiles(cur string) []string {
	m, _ := filepath.Glob(cur + "*")
	for i, p := range m {
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			m[i] = p + "/"
		}
	}
	return m
}

// BashCompletion asks wsx itself for candidates, for bash and for zsh's
// bashcompinit. When wsx offers none (a file argument, the command after
// "--") the shell completes file names.
const BashCompletion = `# wsx completion; load with: source <(wsx completion bash)
_wsx() {
	local IFS=$'\n'
	COMPREPLY=($("${COMP_WORDS[0]}" __complete bash "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null))
}
complete -o bashdefault -o default -F _wsx wsx
`

// FishCompletion is BashCompletion for fish.
const FishCompletion = `# wsx completion; load with: wsx completion fish | source
function __wsx_complete
	set -l words (commandline -opc)
	set -e words[1]
	wsx __complete fish $words (commandline -ct) 2>/dev/null
end
complete -c wsx -f -a '(__wsx_complete)'
`

// ErrUnknownShell is Script's answer to a shell it has no script for.
var ErrUnknownShell = errors.New("unknown shell")

// Script writes to w what `wsx completion SHELL` prints: the completion
// script of bash, zsh or fish, or with "man" the man page of app.
func Script(w io.Writer, app *cli.App, shell string) error {
	var err error
	switch shell {
	case "bash":
		_, err = io.WriteString(w, BashCompletion)
	case "zsh":
		_, err = io.WriteString(w, "autoload -U +X bashcompinit && bashcompinit\n"+BashCompletion)
	case "fish":
		_, err = io.WriteString(w, FishCompletion)
	case "man":
		err = WriteMan(w, app)
	default:
		err = fmt.Errorf("%w %q: bash, zsh, fish or man", ErrUnknownShell, shell)
	}
	return err
}

// FindSub is the subcommand of cmd called name, or nil.
func FindSub(cmd *cli.Command, name string) *cli.Command {
	for _, s := range cmd.Subcommands {
		if s.HasName(name) {
			return s
		}
	}
	return nil
}

// FlagWidth is how many arguments the flag in arg takes up: 2 when it
// expects a value in the next argument, else 1.
func FlagWidth(flags []cli.Flag, arg string) int {
	name := strings.TrimLeft(arg, "-")
	if strings.Contains(name, "=") {
		return 1
	}
	for _, f := range flags {
		for _, n := range f.Names() {
			if n != name {
				continue
			}
			if dg, ok := f.(cli.DocGenerationFlag); ok && dg.TakesValue() {
				return 2
			}
			return 1
		}
	}
	return 1
}
