package cmd

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
	"github.com/wsxdev/wsx/credhelper"
	"github.com/wsxdev/wsx/store"
)

// completeArg is the hidden first argument with which the completion
// scripts ask wsx for candidates: `wsx __complete bash|fish WORD... CUR`,
// the words after "wsx" up to the one under the cursor (CUR, maybe empty).
// The answer is one candidate a line, starting with CUR.
const completeArg = "__complete"

// nameCommands take a secret's NAME as their argument.
var nameCommands = []string{"info", "set", "rm", "remove", "rotate", "doctor"}

// fixedValues are the values of flags and arguments that have a small set.
var fixedValues = map[string][]string{
	"type":       {"token", "password", "key", "file"},
	"pty":        {"auto", "always", "never"},
	"backend":    {"file", "secret-service", "keyctl", "pass"},
	"completion": {"bash", "zsh", "fish", "man"},
	"credential": {"get", "store", "erase", "capability"},
}

// runComplete prints the completions of words (see completeArg). Secret
// names come from the item file names of the store, so completing needs no
// unlock (and shows names only for the file backend).
func runComplete(env *Env, app *cli.App, words []string) int {
	if len(words) < 2 {
		return ExitUsage
	}
	fish := words[0] == "fish"
	prev, cur := words[1:len(words)-1], words[len(words)-1]
	for _, c := range completions(env, app, prev, cur, fish) {
		if strings.HasPrefix(c, cur) {
			fmt.Fprintln(env.Stdout, c)
		}
	}
	return ExitOK
}

func completions(env *Env, app *cli.App, prev []string, cur string, fish bool) []string {
	i := 0
	for i < len(prev) && strings.HasPrefix(prev[i], "-") {
		i += flagWidth(app.Flags, prev[i])
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
		if sub := findSub(cmd, rest[0]); sub != nil {
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
		if strings.HasPrefix(last, "-") && !strings.Contains(last, "=") && flagWidth(cmd.Flags, last) == 2 {
			return flagValues(env, strings.TrimLeft(last, "-"), cur, fish)
		}
	}
	if strings.HasPrefix(cur, "-") {
		return flagNames(cmd.Flags)
	}
	positional := 0
	for j := 0; j < len(rest); j++ {
		if strings.HasPrefix(rest[j], "-") {
			j += flagWidth(cmd.Flags, rest[j]) - 1
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
		return completeNames(env)
	}
	return fixedValues[cmd.Name]
}

// flagValues completes the value of the flag called name.
func flagValues(env *Env, name, cur string, fish bool) []string {
	switch name {
	case "only":
		// A comma-separated list: complete its last element.
		head := ""
		if i := strings.LastIndexByte(cur, ','); i >= 0 {
			head = cur[:i+1]
		}
		chosen := strings.Split(head, ",")
		var out []string
		for _, n := range completeNames(env) {
			if !slices.Contains(chosen, n) {
				out = append(out, head+n)
			}
		}
		return out
	case "type", "pty", "backend":
		return fixedValues[name]
	}
	if fish {
		return completeFiles(cur)
	}
	return nil // bash and zsh complete file names themselves (-o default)
}

// completeNames lists the store's secret names, read from its item files.
func completeNames(env *Env) []string {
	home, err := homeDir(env)
	if err != nil {
		return nil
	}
	var out []string
	for _, n := range store.ItemNames(home) {
		if !strings.HasPrefix(n, credhelper.StoredPrefix) {
			out = append(out, n)
		}
	}
	return out
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

// bashCompletion asks wsx itself for candidates, for bash and for zsh's
// bashcompinit. When wsx offers none (a file argument, the command after
// "--") the shell completes file names.
const bashCompletion = `# wsx completion; load with: source <(wsx completion bash)
_wsx() {
	local IFS=$'\n'
	COMPREPLY=($("${COMP_WORDS[0]}" __complete bash "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null))
}
complete -o bashdefault -o default -F _wsx wsx
`

// fishCompletion is bashCompletion for fish.
const fishCompletion = `# wsx completion; load with: wsx completion fish | source
function __wsx_complete
	set -l words (commandline -opc)
	set -e words[1]
	wsx __complete fish $words (commandline -ct) 2>/dev/null
end
complete -c wsx -f -a '(__wsx_complete)'
`
