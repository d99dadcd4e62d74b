package cmd

import (
	"github.com/urfave/cli/v2"

	"github.com/wsxdev/wsx/daemon"
	"github.com/wsxdev/wsx/internal/hint"
	"github.com/wsxdev/wsx/ui"
)

func uiCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:  "ui",
		Usage: "open a local settings page for the secrets",
		Description: "The wsx agent (started when none runs) serves a page on 127.0.0.1 and the browser\n" +
			"opens it (xdg-open; without it, or with --no-browser, the address is printed). The\n" +
			"address holds a one-time token, exchanged for a cookie at the first visit. The page\n" +
			"lists secrets (never a value), adds, rotates and deletes them, shows the audit log,\n" +
			"the project's wsx.toml and who the workspace is shared with. It stops when this\n" +
			"command ends (Ctrl-C) or after --idle without a request.",
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "port", Usage: "port on 127.0.0.1; a free one when 0"},
			&cli.DurationFlag{Name: "idle", Value: ui.DefaultIdleTimeout, Usage: "stop the page after this long without a request"},
			&cli.BoolFlag{Name: "no-browser", Usage: "print the address instead of opening a browser"},
		},
		Action: noArgsAction(env, func(s *session, c *cli.Context) error {
			if p := c.Int("port"); p < 0 || p > 65535 {
				return hint.Usagef("--port %d: use a port from 1 to 65535, or 0 for a free one", p)
			}
			o := daemon.UIOptions{Port: c.Int("port"), Dir: s.env.Getwd(), Idle: c.Duration("idle")}
			return s.launch(daemon.Args{LockAfter: daemon.DefaultLockAfter}).RunUI(c.Context, o, c.Bool("no-browser"))
		}),
	}
}
