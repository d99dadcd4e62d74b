package cmd

import (
	"strings"

	"github.com/urfave/cli/v2"
	"github.com/wsxdev/wsx/credhelper"
	"github.com/wsxdev/wsx/internal/clidoc"
	"github.com/wsxdev/wsx/store"
)

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

// runComplete prints the completions of words (clidoc.Complete). Secret
// names come from the item file names of the store, so completing needs no
// unlock (and shows names only for the file backend).
func runComplete(env *Env, app *cli.App, words []string) int {
	if !clidoc.Complete(env.Stdout, app, words, func() []string { return completeNames(env) }) {
		return ExitUsage
	}
	return ExitOK
}
