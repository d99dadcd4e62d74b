package cmd

import (
	"strings"

	"github.com/urfave/cli/v2"
	"github.com/wsxdev/wsx/internal/clidoc"
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
		i += clidoc.FlagWidth(app.Flags, args[i])
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
		sub := clidoc.FindSub(cmd, args[start])
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
			w := clidoc.FlagWidth(cmd.Flags, a)
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
