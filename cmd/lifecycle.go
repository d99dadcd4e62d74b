package cmd

import (
	"github.com/urfave/cli/v2"
	"github.com/wsxdev/wsx/secrets"
	"github.com/wsxdev/wsx/store"
)

func statusCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:  "status",
		Usage: "show how old each secret is and when it is due for rotation",
		Description: "One row per secret: its age (since its value was last set), its rotation period,\n" +
			"the date it is due, and `due in 12d` or `OVERDUE 5d`. Overdue secrets come first.\n" +
			"A secret whose last rotation is neither finished nor undone says `old value kept`.\n" +
			"Rotation periods default by type (token 90d, password 180d, key 365d, file never);\n" +
			"`wsx set NAME --rotate-every 30d|never` changes one.",
		Flags: []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print JSON"}},
		Action: noArgsAction(env, func(s *session, c *cli.Context) error {
			return s.run(func(f *secrets.Flows) error { return f.Status(c.Bool("json")) })
		}),
	}
}

// remindOverdue prints the overdue reminders of metas (secrets.Reminder).
func (s *session) remindOverdue(metas []store.Meta) { s.reminder().Remind(metas) }

func (s *session) reminder() secrets.Reminder {
	return secrets.Reminder{Home: s.home, UID: s.env.UID, Stderr: s.env.Stderr, Now: s.env.Now}
}
