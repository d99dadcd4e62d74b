package cmd

import (
	"github.com/urfave/cli/v2"
	"github.com/wsxdev/wsx/manifest"
	"github.com/wsxdev/wsx/secrets"
)

func templateCommand(env *Env) *cli.Command {
	fileFlag := &cli.StringFlag{Name: "file", Usage: "the manifest `PATH` (default: wsx.toml in this directory or a parent, up to the git root)"}
	sub := func(name, usage, desc string, run func(*session, *manifest.Manifest) error) *cli.Command {
		return &cli.Command{
			Name: name, Usage: usage, Description: desc,
			Flags: []cli.Flag{fileFlag, passphraseFlag},
			Action: noArgsAction(env, func(s *session, c *cli.Context) error {
				m, err := s.manifestFor(c.String("file"))
				if err != nil {
					return err
				}
				return run(s, m)
			}),
		}
	}
	return &cli.Command{
		Name:  "template",
		Usage: "check, fill in or document the secrets a project's wsx.toml requires",
		Description: "A project declares the secrets it needs in wsx.toml at its root:\n\n" +
			"  [[secret]]\n" +
			"  name = \"GITHUB_TOKEN\"\n" +
			"  type = \"token\"                # token (default), password, key or file\n" +
			"  description = \"GitHub API token, repo scope\"\n" +
			"  hosts = [\"github.com\"]\n" +
			"  required = true               # default true\n" +
			"  env = \"GH_TOKEN\"              # the variable wsx exec puts it in; default: name\n" +
			"  inject = \"proxy\"              # a placeholder; the value goes only into requests to\n" +
			"                                # the hosts the store binds it to (wsx exec --inject)\n\n" +
			"wsx finds it in the current directory or a parent, up to the git repository's root.\n" +
			"`wsx exec` in such a directory refuses to start while a required secret is missing, and\n" +
			"injects only the manifest's secrets unless --all is given.",
		Subcommands: []*cli.Command{
			sub("check", "list the required secrets missing from the store (exit 3 if any)",
				"Checks names only, so it needs no passphrase. Prints one line per secret and, for each\n"+
					"missing one, the command that adds it.", func(s *session, m *manifest.Manifest) error {
					have, err := s.storeNames()
					if err != nil {
						return err
					}
					return m.Check(s.env.Stdout, s.env.Stderr, have)
				}),
			sub("init", "ask for each missing secret on the terminal and store it",
				"Asks for each missing token or password with a hidden prompt (empty skips it), validates\n"+
					"and stores it with the manifest's type, description and hosts. For a key or a file it\n"+
					"asks for the path of the file that holds it (an encrypted key also for its passphrase).",
				(*session).runTemplateInit),
			sub("docs", "print the Markdown a README needs to list the required secrets",
				"Prints \"Requires these secrets:\" and one list item per secret, optional ones marked.",
				func(s *session, m *manifest.Manifest) error { return m.Docs(s.env.Stdout) }),
		},
	}
}

// storeNames lists the secret names in the store without unlocking it.
func (s *session) storeNames() ([]string, error) {
	if err := s.open(); err != nil {
		return nil, err
	}
	return s.st.Names()
}

func (s *session) runTemplateInit(m *manifest.Manifest) error {
	have, err := s.storeNames()
	if err != nil {
		return err
	}
	return secrets.TemplateInit(m, have, secrets.TemplateIO{Terminal: s.env.Terminal, Flows: s.flows, Home: s.env.Getenv("HOME"), Stderr: s.env.Stderr})
}

// manifestFor loads the manifest at file, or the one found from the
// current directory.
func (s *session) manifestFor(file string) (*manifest.Manifest, error) {
	return manifest.Locate(s.env.Getwd(), file)
}
