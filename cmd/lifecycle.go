package cmd

import "github.com/urfave/cli/v2"

func statusCommand(env *Env) *cli.Command {
	return &cli.Command{Name: "status", Hidden: true, Action: func(*cli.Context) error { return usagef("status is not available in this build") }}
}

func doctorCommand(env *Env) *cli.Command {
	return &cli.Command{Name: "doctor", Hidden: true, Action: func(*cli.Context) error { return usagef("doctor is not available in this build") }}
}

func templateCommand(env *Env) *cli.Command {
	return &cli.Command{Name: "template", Hidden: true, Action: func(*cli.Context) error { return usagef("template is not available in this build") }}
}
