package audit

// Mask returns r with every value in values masked (see MaskArgv) in all
// the text a caller can choose: its process's argv, exe and cwd, every
// field of its context, and its detail. Every record is masked this way
// before it is appended, whichever path wrote it; values holds every
// stored value, current and previous.
func Mask(r Record, values [][]byte) Record {
	if len(values) == 0 {
		return r
	}
	m := func(s string) string {
		if s == "" {
			return s
		}
		return MaskArgv([]string{s}, values)[0]
	}
	if r.Process != nil {
		p := *r.Process
		p.Argv = MaskArgv(p.Argv, values)
		p.Exe, p.Cwd = m(p.Exe), m(p.Cwd)
		r.Process = &p
	}
	if r.Context != nil {
		c := *r.Context
		for _, f := range []*string{&c.Command, &c.File, &c.Repo, &c.Remote, &c.Branch, &c.Commit,
			&c.Protocol, &c.Host, &c.Path, &c.Dest} {
			*f = m(*f)
		}
		r.Context = &c
	}
	r.Detail = m(r.Detail)
	return r
}

// Claim fills the fields of c that are empty from claimed, the context a
// client sent, and names each field so taken in c.Claimed.
func (c *Context) Claim(claimed Context) {
	take := func(name string, dst *string, src string) {
		if *dst == "" && src != "" {
			*dst = src
			c.Claimed = append(c.Claimed, name)
		}
	}
	take("command", &c.Command, claimed.Command)
	take("file", &c.File, claimed.File)
	if c.Line == 0 && claimed.Line != 0 {
		c.Line = claimed.Line
		c.Claimed = append(c.Claimed, "line")
	}
	take("repo", &c.Repo, claimed.Repo)
	take("remote", &c.Remote, claimed.Remote)
	take("branch", &c.Branch, claimed.Branch)
	take("commit", &c.Commit, claimed.Commit)
	take("protocol", &c.Protocol, claimed.Protocol)
	take("host", &c.Host, claimed.Host)
	take("path", &c.Path, claimed.Path)
	take("dest", &c.Dest, claimed.Dest)
}
