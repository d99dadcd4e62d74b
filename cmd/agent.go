package cmd

import "github.com/urfave/cli/v2"

func agentCommand(env *Env) *cli.Command {
	return &cli.Command{Name: "agent", Hidden: true, Action: func(*cli.Context) error { return usagef("agent is not available in this build") }}
}

func lockCommand(env *Env) *cli.Command {
	return &cli.Command{Name: "lock", Hidden: true, Action: func(*cli.Context) error { return usagef("lock is not available in this build") }}
}

func unlockCommand(env *Env) *cli.Command {
	return &cli.Command{Name: "unlock", Hidden: true, Action: func(*cli.Context) error { return usagef("unlock is not available in this build") }}
}
