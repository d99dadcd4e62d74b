package cmd

import "github.com/urfave/cli/v2"

func execCommand(env *Env) *cli.Command {
	return &cli.Command{Name: "exec", Hidden: true, Action: func(*cli.Context) error { return usagef("exec is not available in this build") }}
}

func shellCommand(env *Env) *cli.Command {
	return &cli.Command{Name: "shell", Hidden: true, Action: func(*cli.Context) error { return usagef("shell is not available in this build") }}
}
