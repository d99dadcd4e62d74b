// Package clidoc renders wsx's command tree for people and shells: the
// man page, and the completions the shell scripts ask wsx for. cmd owns
// the tree; this package only reads it.
package clidoc

import (
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"
)

// WriteMan writes the man page of app (section 1) in roff, from the
// command tree the help uses: name, synopsis, description, global options,
// then every command and subcommand with its options. It is written here
// rather than by urfave/cli's ToMan, whose Markdown renderer costs every
// wsx process its initialisation; the build drops it with the
// urfave_cli_no_docs tag.
func WriteMan(w io.Writer, app *cli.App) error {
	var b strings.Builder
	name := app.Name
	fmt.Fprintf(&b, ".TH %s 1 \"\" \"%s %s\" \"User Commands\"\n", strings.ToUpper(name), roffQuoted(name), roffQuoted(app.Version))
	b.WriteString(".nh\n.ad l\n")
	fmt.Fprintf(&b, ".SH NAME\n%s \\- %s\n", roff(name), roff(app.Usage))
	b.WriteString(".SH SYNOPSIS\n")
	if app.UsageText != "" {
		fmt.Fprintf(&b, "%s\n", roffLines(app.UsageText))
	} else {
		fmt.Fprintf(&b, "\\fB%s\\fR [options] command [arguments]\n", roff(name))
	}
	if app.Description != "" {
		fmt.Fprintf(&b, ".SH DESCRIPTION\n%s\n", roffLines(app.Description))
	}
	if flags := visibleFlags(app.Flags); len(flags) > 0 {
		b.WriteString(".SH GLOBAL OPTIONS\n")
		writeManFlags(&b, flags)
	}
	b.WriteString(".SH COMMANDS\n")
	for _, c := range app.Commands {
		writeManCommand(&b, name, c)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeManCommand(b *strings.Builder, parent string, c *cli.Command) {
	if c.Hidden {
		return
	}
	path := parent + " " + c.Name
	head := path
	if len(c.Aliases) > 0 {
		head += " (" + strings.Join(c.Aliases, ", ") + ")"
	}
	fmt.Fprintf(b, ".SS %s\n", roff(head))
	if len(c.Subcommands) == 0 {
		fmt.Fprintf(b, "\\fB%s\\fR", roff(path))
		if flags := visibleFlags(c.Flags); len(flags) > 0 {
			b.WriteString(" [options]")
		}
		if c.ArgsUsage != "" {
			fmt.Fprintf(b, " %s", roff(c.ArgsUsage))
		}
		b.WriteString("\n.br\n")
	}
	if c.Usage != "" {
		fmt.Fprintf(b, "%s\n", roff(c.Usage))
	}
	if c.Description != "" {
		fmt.Fprintf(b, ".PP\n%s\n", roffLines(c.Description))
	}
	writeManFlags(b, visibleFlags(c.Flags))
	for _, s := range c.Subcommands {
		writeManCommand(b, path, s)
	}
}

func visibleFlags(flags []cli.Flag) []cli.Flag {
	var out []cli.Flag
	for _, f := range flags {
		if v, ok := f.(cli.VisibleFlag); ok && !v.IsVisible() {
			continue
		}
		out = append(out, f)
	}
	return out
}

// writeManFlags writes one tagged paragraph per flag: its names (with
// VALUE when it takes one), its usage, its default and its variables.
func writeManFlags(b *strings.Builder, flags []cli.Flag) {
	for _, f := range flags {
		var names []string
		for _, n := range f.Names() {
			dash := "\\-"
			if len(n) > 1 {
				dash = "\\-\\-"
			}
			names = append(names, "\\fB"+dash+roff(n)+"\\fR")
		}
		head := strings.Join(names, ", ")
		usage, value := "", ""
		if d, ok := f.(cli.DocGenerationFlag); ok {
			usage = d.GetUsage()
			if d.TakesValue() {
				value = "VALUE"
				// A `NAME` in the usage names the value, as in the help.
				if i := strings.IndexByte(usage, '`'); i >= 0 {
					if j := strings.IndexByte(usage[i+1:], '`'); j >= 0 {
						value = usage[i+1 : i+1+j]
						usage = usage[:i] + value + usage[i+2+j:]
					}
				}
				if def := d.GetDefaultText(); def != "" {
					usage += " (default: " + def + ")"
				} else if v := d.GetValue(); v != "" {
					usage += " (default: " + v + ")"
				}
			}
			if env := d.GetEnvVars(); len(env) > 0 {
				usage += " [" + strings.Join(env, ", ") + "]"
			}
		}
		if value != "" {
			head += " \\fI" + roff(value) + "\\fR"
		}
		fmt.Fprintf(b, ".TP\n%s\n%s\n", head, roff(usage))
	}
}

// roff escapes s for a line of running text: backslashes, and a '.' or
// an apostrophe that would start a request.
func roff(s string) string {
	s = strings.ReplaceAll(s, "\\", "\\e")
	s = strings.ReplaceAll(s, "-", "\\-")
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = "\\&" + s
	}
	return s
}

// roffLines escapes a text of several lines and paragraphs: a blank line
// starts a new paragraph.
func roffLines(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		if strings.TrimSpace(l) == "" {
			lines[i] = ".PP"
			continue
		}
		lines[i] = roff(l)
	}
	return strings.Join(lines, "\n")
}

// roffQuoted escapes s for a quoted argument of a request.
func roffQuoted(s string) string {
	return strings.ReplaceAll(roff(s), "\"", "\\(dq")
}
