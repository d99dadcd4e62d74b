package cmd

import (
	"errors"

	"github.com/urfave/cli/v2"
	"github.com/wsxdev/wsx/audit"
	"github.com/wsxdev/wsx/credhelper"
	"github.com/wsxdev/wsx/internal/clidoc"
	"github.com/wsxdev/wsx/secrets"
	"github.com/wsxdev/wsx/store"
)

// passphraseFlag is accepted before or after any command.
var passphraseFlag = &cli.StringFlag{
	Name:    "passphrase-file",
	Usage:   "read the store passphrase from `FILE` (also WSX_PASSPHRASE_FILE)",
	EnvVars: nil,
}

func newApp(env *Env) *cli.App {
	app := &cli.App{
		Name:      "wsx",
		Usage:     "keep a workspace's secrets encrypted and let programs use them",
		UsageText: "wsx [--passphrase-file FILE] COMMAND [options] [arguments]",
		Description: "wsx keeps API tokens, passwords, SSH keys and files encrypted in a store, and lets\n" +
			"git, ssh and other programs use them without the values being typed, printed or\n" +
			"written to disk in clear. Every use is recorded in a tamper-evident audit log.\n\n" +
			"Environment: WSX_HOME (store location), WSX_PASSPHRASE_FILE (unlock without a prompt).\n" +
			"Exit codes: 0 ok, 1 error, 2 usage, 3 secret not found, 4 locked or wrong passphrase,\n" +
			"5 permission denied.",
		Version:              Version,
		Reader:               env.Stdin,
		Writer:               env.Stdout,
		ErrWriter:            env.Stderr,
		Flags:                []cli.Flag{passphraseFlag},
		HideHelpCommand:      true,
		EnableBashCompletion: true,
		Suggest:              true,
		ExitErrHandler:       func(*cli.Context, error) {},
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return usageError{Msg: err.Error()}
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usagef("unknown command %q; `wsx --help` lists the commands", c.Args().First())
			}
			return cli.ShowAppHelp(c)
		},
		Commands: []*cli.Command{
			initCommand(env),
			addCommand(env, "add", "add a new secret", true),
			addCommand(env, "set", "create a secret or change it", false),
			rotateCommand(env),
			rmCommand(env),
			listCommand(env),
			infoCommand(env),
			auditCommand(env),
			credentialCommand(env),
			gitCommand(env),
			execCommand(env),
			syncCommand(env),
			shellCommand(env),
			agentCommand(env),
			lockCommand(env),
			unlockCommand(env),
			passwdCommand(env),
			statusCommand(env),
			doctorCommand(env),
			templateCommand(env),
			scanCommand(env),
			uiCommand(env),
			completionCommand(env),
		},
	}
	app.Commands = append(app.Commands, shareCommands(env)...)
	for _, c := range app.Commands {
		c.Flags = append(c.Flags, passphraseFlag)
		c.OnUsageError = app.OnUsageError
	}
	return app
}

// action wraps a command body: it opens a session for it and closes it.
func action(env *Env, body func(*session, *cli.Context) error) cli.ActionFunc {
	return func(c *cli.Context) error {
		s, err := newSession(env, c)
		if err != nil {
			return err
		}
		defer s.close()
		return body(s, c)
	}
}

// noArgsAction is action for a command that takes no arguments.
func noArgsAction(env *Env, body func(*session, *cli.Context) error) cli.ActionFunc {
	return action(env, func(s *session, c *cli.Context) error {
		if err := noArgs(c); err != nil {
			return err
		}
		return body(s, c)
	})
}

// nameAction is action for a command that takes one NAME argument.
func nameAction(env *Env, body func(s *session, c *cli.Context, name string) error) cli.ActionFunc {
	return action(env, func(s *session, c *cli.Context) error {
		n, err := oneName(c)
		if err != nil {
			return err
		}
		return body(s, c, n)
	})
}

// oneName checks that a command got exactly one NAME argument.
func oneName(c *cli.Context) (string, error) {
	if c.NArg() != 1 {
		return "", usagef("%s takes one NAME argument, got %d; see `wsx %s --help`", c.Command.Name, c.NArg(), c.Command.Name)
	}
	return c.Args().First(), nil
}

func noArgs(c *cli.Context) error {
	if c.NArg() != 0 {
		return usagef("%s takes no arguments, got %q", c.Command.Name, c.Args().Slice())
	}
	return nil
}

func initCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:  "init",
		Usage: "create the encrypted store",
		Description: "Creates a store in WSX_HOME (default $XDG_DATA_HOME/wsx). The passphrase is asked twice\n" +
			"on the terminal, or read from --passphrase-file / WSX_PASSPHRASE_FILE. It is stretched\n" +
			"with Argon2id; the --kdf-* flags trade unlock time for resistance to guessing.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "backend", Value: "file", Usage: "where items are kept: file, secret-service, keyctl or pass"},
			&cli.UintFlag{Name: "kdf-time", Value: uint(store.DefaultKDF.Time), Usage: "Argon2id passes"},
			&cli.UintFlag{Name: "kdf-memory", Value: uint(store.DefaultKDF.MemoryKiB / 1024), Usage: "Argon2id memory in MiB"},
			&cli.UintFlag{Name: "kdf-threads", Value: uint(store.DefaultKDF.Threads), Usage: "Argon2id lanes"},
		},
		Action: noArgsAction(env, func(s *session, c *cli.Context) error {
			return s.runInit(store.InitOptions{
				Backend: c.String("backend"),
				KDF: store.KDFParams{
					Time:      uint32(c.Uint("kdf-time")),
					MemoryKiB: uint32(c.Uint("kdf-memory")) * 1024,
					Threads:   uint8(c.Uint("kdf-threads")),
				},
			})
		}),
	}
}

func secretFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "type", Aliases: []string{"t"}, Usage: "token, password, key or file (add: default token); a key is an SSH private key (PEM or OpenSSH; not the .pub), or " + store.RawKeyRule},
		&cli.StringFlag{Name: "description", Aliases: []string{"d"}, Usage: "what the secret is for"},
		&cli.StringSliceFlag{Name: "host", Usage: "a git host the secret answers for (repeatable): HOST, HOST:PORT or HOST/PATH for https only; http://HOST[:PORT] for plain http"},
		&cli.StringFlag{Name: "username", Usage: "the user name sent to git with the secret"},
		&cli.StringFlag{Name: "rotate-every", Usage: "rotation period: 90d, 12w, 720h or never (default by type: token 90d, password 180d, key 365d, file never)"},
		&cli.StringFlag{Name: "expires", Usage: "when the value stops working at its service, as it told you: a date (2026-12-31, through that day), an RFC 3339 time, 30d from now, or never; git is told, a rotation period is not"},
		&cli.StringFlag{Name: "from-file", Aliases: []string{"f"}, Usage: "read the value from `PATH` instead of stdin or a prompt"},
		&cli.StringFlag{Name: "key-passphrase-file", Usage: "passphrase of an encrypted SSH key, from `FILE`, instead of a prompt"},
		&cli.BoolFlag{Name: "allow-dangerous-name", Usage: "allow a name such as PATH or LD_PRELOAD that changes how programs run"},
	}
}

func addCommand(env *Env, name, usage string, createOnly bool) *cli.Command {
	return &cli.Command{
		Name:      name,
		Usage:     usage,
		ArgsUsage: "NAME",
		Description: "The value comes from --from-file, from stdin when it is a pipe (one final newline is\n" +
			"dropped for tokens and passwords), or from a hidden prompt on the terminal. It is never\n" +
			"taken from the command line. NAME is an environment variable name such as GITHUB_TOKEN." +
			setNote(createOnly),
		Flags: secretFlags(),
		Action: nameAction(env, func(s *session, c *cli.Context, n string) error {
			o := secrets.Options{
				Name: n, Type: c.String("type"), FromFile: c.String("from-file"),
				KeyPassFile: c.String("key-passphrase-file"), AllowDanger: c.Bool("allow-dangerous-name"),
				CreateOnly: createOnly,
			}
			if c.IsSet("description") {
				d := c.String("description")
				o.Description = &d
			}
			if c.IsSet("host") {
				o.Hosts, o.HostsSet = c.StringSlice("host"), true
			}
			if c.IsSet("username") {
				u := c.String("username")
				o.Username = &u
			}
			if c.IsSet("rotate-every") {
				r := c.String("rotate-every")
				o.RotateEvery = &r
			}
			if c.IsSet("expires") {
				e, err := secrets.ParseExpires(c.String("expires"), env.Now())
				if err != nil {
					return err
				}
				o.Expires = &e
			}
			return s.run(func(f *secrets.Flows) error { return f.Add(o) })
		}),
	}
}

func rotateCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "rotate",
		Usage:     "give a secret a new value",
		ArgsUsage: "NAME",
		Description: "Rotation goes in the safe order. `wsx rotate NAME` stores the new value and keeps the\n" +
			"old one; programs get the new one. `wsx rotate NAME --undo` brings the old value back if\n" +
			"the new one does not work; `wsx rotate NAME --finish` deletes the old value once it does\n" +
			"(then revoke it at the service). A new rotation waits until the last one is finished\n" +
			"or undone. Each step is an audit record: rotated, updated (undo), deleted (finish).",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "from-file", Aliases: []string{"f"}, Usage: "read the new value from `PATH`"},
			&cli.StringFlag{Name: "key-passphrase-file", Usage: "passphrase of an encrypted SSH key, from `FILE`"},
			&cli.BoolFlag{Name: "undo", Usage: "bring back the value from before the last rotation"},
			&cli.BoolFlag{Name: "finish", Usage: "delete the value from before the last rotation, once the new one works"},
		},
		Action: nameAction(env, func(s *session, c *cli.Context, n string) error {
			o := secrets.RotateOptions{Name: n, FromFile: c.String("from-file"), KeyPassFile: c.String("key-passphrase-file"),
				Undo: c.Bool("undo"), Finish: c.Bool("finish")}
			return s.run(func(f *secrets.Flows) error { return f.Rotate(o) })
		}),
	}
}

func rmCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "rm",
		Aliases:   []string{"remove"},
		Usage:     "remove a secret",
		ArgsUsage: "NAME",
		Description: "Asks on the terminal first. Without a terminal (a script, CI) it removes nothing\n" +
			"unless --yes is given (exit 2).",
		Flags: []cli.Flag{&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "remove without asking"}},
		Action: nameAction(env, func(s *session, c *cli.Context, n string) error {
			return s.runRemoveAsked(n, c.Bool("yes"))
		}),
	}
}

func listCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:    "list",
		Aliases: []string{"ls"},
		Usage:   "list secrets: names, types, ages, rotation state; never values",
		Flags:   []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print JSON"}},
		Action: noArgsAction(env, func(s *session, c *cli.Context) error {
			return s.run(func(f *secrets.Flows) error { return f.List(c.Bool("json")) })
		}),
	}
}

func infoCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "info",
		Usage:     "show what is known about a secret, but not its value",
		ArgsUsage: "NAME",
		Flags:     []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print JSON"}},
		Action: nameAction(env, func(s *session, c *cli.Context, n string) error {
			return s.run(func(f *secrets.Flows) error { return f.Info(n, c.Bool("json")) })
		}),
	}
}

func auditCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "audit",
		Usage:     "show the audit log, or verify it",
		ArgsUsage: "[--accessed [NAME]]",
		Description: "Prints one line per event: `2026-11-28 14:30:22 - Secret used: NAME (app.js:12)`.\n" +
			"--accessed lists instead where programs run by `wsx exec` read each secret (NAME, or\n" +
			"--secret, for one): file and line, how many runs, the last one.\n" +
			"`wsx audit verify` checks the hash chain and MACs and names the first bad record.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "secret", Aliases: []string{"s"}, Usage: "only records about `NAME`"},
			&cli.StringFlag{Name: "since", Usage: "only records after `WHEN`: a duration (24h, 7d) or a date"},
			&cli.BoolFlag{Name: "json", Usage: "print the records as JSON lines"},
			&cli.BoolFlag{Name: "accessed", Usage: "list where programs read each secret (file:line, runs, last), from the `accessed` records"},
		},
		Subcommands: []*cli.Command{{
			Name:  "verify",
			Usage: "check the audit log's hash chain and MACs",
			Flags: []cli.Flag{passphraseFlag},
			Action: noArgsAction(env, func(s *session, c *cli.Context) error {
				return s.runAuditVerify()
			}),
		}},
		Action: action(env, func(s *session, c *cli.Context) error {
			f := audit.Filter{Secret: c.String("secret")}
			if c.Bool("accessed") && c.NArg() == 1 && f.Secret == "" {
				f.Secret = c.Args().First() // wsx audit --accessed NAME
			} else if err := noArgs(c); err != nil {
				return err
			}
			return s.runAudit(f, c.String("since"), c.Bool("json"), c.Bool("accessed"))
		}),
	}
}

func completionCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script (bash, zsh or fish) or the man page (man)",
		ArgsUsage: "bash|zsh|fish|man",
		Action: func(c *cli.Context) error {
			shell, err := oneName(c)
			if err != nil {
				return err
			}
			err = clidoc.Script(env.Stdout, c.App, shell)
			if errors.Is(err, clidoc.ErrUnknownShell) {
				return usageError{Msg: err.Error()}
			}
			return err
		},
	}
}

func credentialCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "credential",
		Usage:     "git credential helper: get, store, erase or capability (git runs it)",
		ArgsUsage: "get|store|erase|capability",
		Description: "Speaks git's credential helper protocol on stdin and stdout. `wsx git setup` sets\n" +
			"`credential.helper = /path/to/git-credential-wsx` (the small helper beside wsx that asks the\n" +
			"agent and hands the rest to `wsx credential`), so git starts it directly.\n" +
			"Answers come from token and password secrets whose --host matches, then from\n" +
			"credentials git asked it to store. When the store is locked and cannot be unlocked\n" +
			"here it prints nothing, so git asks as usual.",
		Action: nameAction(env, func(s *session, c *cli.Context, op string) error {
			return s.runCredential(op)
		}),
	}
}

func gitCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:  "git",
		Usage: "configure git to use wsx",
		Subcommands: []*cli.Command{{
			Name:  "setup",
			Usage: "make wsx git's first credential helper (idempotent)",
			Flags: []cli.Flag{
				&cli.BoolFlag{Name: "global", Usage: "in ~/.gitconfig (default)"},
				&cli.BoolFlag{Name: "local", Usage: "in this repository's .git/config"},
			},
			Action: noArgsAction(env, func(s *session, c *cli.Context) error {
				if c.Bool("global") && c.Bool("local") {
					return usagef("choose one of --global and --local")
				}
				scope := "--global"
				if c.Bool("local") {
					scope = "--local"
				}
				return credhelper.Setup(c.Context, scope, s.env.Stderr)
			}),
		}, gitHookCommand(env)},
	}
}
