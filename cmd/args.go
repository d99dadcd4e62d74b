package cmd

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// interspersed moves the flags that follow a command's arguments in front of
// them, so `wsx add NAME --type key` parses like `wsx add --type key NAME`
// (urfave/cli v2 stops at the first argument). Everything after "--" is left
// in place, and commands that run another program (their ArgsUsage starts
// with "--") are not touched.
func interspersed(app *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	i := 1
	for i < len(args) && strings.HasPrefix(args[i], "-") {
		if args[i] == "--" {
			return args
		}
		i += flagWidth(app.Flags, args[i])
	}
	if i >= len(args) {
		return args
	}
	cmd := app.Command(args[i])
	if cmd == nil {
		return args
	}
	start := i + 1
	for len(cmd.Subcommands) > 0 && start < len(args) {
		sub := findSub(cmd, args[start])
		if sub == nil {
			break
		}
		cmd, start = sub, start+1
	}
	if strings.HasPrefix(cmd.ArgsUsage, "--") || cmd.SkipFlagParsing {
		return args
	}
	var flags, pos []string
	for j := start; j < len(args); j++ {
		a := args[j]
		if a == "--" {
			pos = append(pos, args[j:]...)
			break
		}
		if strings.HasPrefix(a, "-") && a != "-" {
			w := flagWidth(cmd.Flags, a)
			end := min(j+w, len(args))
			flags = append(flags, args[j:end]...)
			j = end - 1
			continue
		}
		pos = append(pos, a)
	}
	out := append([]string{}, args[:start]...)
	out = append(out, flags...)
	return append(out, pos...)
}

func findSub(cmd *cli.Command, name string) *cli.Command {
	for _, s := range cmd.Subcommands {
		if s.HasName(name) {
			return s
		}
	}
	return nil
}

// flagWidth is how many arguments the flag in arg takes up: 2 when it
// expects a value in the next argument, else 1.
func flagWidth(flags []cli.Flag, arg string) int {
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
