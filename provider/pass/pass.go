// Package pass fetches values from a pass(1) password store through the
// pass and gpg programs.
//
// A source "pass://github/token" is the entry github/token: its first
// line, as `pass -c` copies it; "pass://github/token#user" is the value of
// a later line "user: VALUE" (the key matched without regard to case). An
// entry has no versions: ?version is refused.
//
// Settings ([provider.pass], all optional): dir (the store; default
// PASSWORD_STORE_DIR, else ~/.password-store), gnupghome, program (the
// pass program, "pass"), gpg ("gpg"), passphrase_secret (the wsx secret
// holding the passphrase of the gpg key: gpg is then run directly with
// --pinentry-mode loopback and the passphrase on a pipe, never in argv or
// the environment; without it pass runs and gpg-agent answers). The
// programs get a small environment: PATH, HOME, LANG=C, GNUPGHOME,
// PASSWORD_STORE_DIR; nothing else of wsx's.
package pass

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/wsxdev/wsx/provider"
)

const table = "pass"

// maxOutput bounds what an entry may print.
const maxOutput = 1 << 20

// Pass fetches from one password store.
type Pass struct {
	dir, gnupghome, program, gpg, passSecret string
	creds                                    provider.Creds
}

// Open checks s and returns a provider for the store it names.
func Open(s provider.Settings, creds provider.Creds) (provider.Provider, error) {
	if err := s.Check(table, "dir", "gnupghome", "program", "gpg", "passphrase_secret"); err != nil {
		return nil, err
	}
	p := &Pass{creds: creds}
	for _, f := range []struct {
		key, def string
		dst      *string
	}{
		{"dir", "", &p.dir}, {"gnupghome", "", &p.gnupghome}, {"program", "pass", &p.program},
		{"gpg", "gpg", &p.gpg}, {"passphrase_secret", "", &p.passSecret},
	} {
		v, err := s.String(table, f.key, f.def)
		if err != nil {
			return nil, err
		}
		*f.dst = v
	}
	if p.dir == "" {
		p.dir = os.Getenv("PASSWORD_STORE_DIR")
	}
	if p.dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return nil, fmt.Errorf("[provider.pass]: no dir and no home: %w", err)
		}
		p.dir = filepath.Join(home, ".password-store")
	}
	if p.gnupghome == "" {
		p.gnupghome = os.Getenv("GNUPGHOME")
	}
	return p, nil
}

// env is the programs' environment.
func (p *Pass) env() []string {
	env := []string{"LANG=C", "LC_ALL=C", "PASSWORD_STORE_DIR=" + p.dir}
	for _, k := range []string{"PATH", "HOME"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	if p.gnupghome != "" {
		env = append(env, "GNUPGHOME="+p.gnupghome)
	}
	return env
}

// Fetch decrypts the entry src names and picks its line.
func (p *Pass) Fetch(ctx context.Context, src provider.Source) (provider.Result, error) {
	name := src.Name()
	if src.Version != "" || src.Stage != "" {
		return provider.Result{}, fmt.Errorf("%s: a pass entry has no versions; remove ?version", src.Raw)
	}
	if fi, err := os.Stat(p.dir); err != nil || !fi.IsDir() {
		return provider.Result{}, fmt.Errorf("%s: the password store %s is not there: %w", name, p.dir, provider.ErrUnavailable)
	}
	file := filepath.Join(p.dir, src.Location+".gpg")
	if _, err := os.Stat(file); errors.Is(err, fs.ErrNotExist) {
		return provider.Result{}, fmt.Errorf("%s: no entry %s in %s: %w", name, src.Location, p.dir, provider.ErrNotFound)
	}
	var cmd *osexec.Cmd
	if p.passSecret != "" {
		pw, err := p.creds.Secret(ctx, p.passSecret)
		if err != nil {
			return provider.Result{}, err
		}
		r, w, err := os.Pipe()
		if err != nil {
			return provider.Result{}, err
		}
		cmd = osexec.CommandContext(ctx, p.gpg, "--batch", "--quiet", "--no-tty", "--pinentry-mode", "loopback", "--passphrase-fd", "3", "--decrypt", file)
		cmd.ExtraFiles = []*os.File{r}
		go func() {
			w.Write(append(pw, '\n'))
			w.Close()
		}()
		defer r.Close()
	} else {
		cmd = osexec.CommandContext(ctx, p.program, "show", src.Location)
	}
	cmd.Env = p.env()
	cmd.WaitDelay = time.Second
	var out, stderr limited
	out.max, stderr.max = maxOutput, 4096
	cmd.Stdout, cmd.Stderr = &out, &stderr
	err := cmd.Run()
	switch {
	case ctx.Err() != nil:
		return provider.Result{}, fmt.Errorf("%s: %s did not answer in time: %w", name, filepath.Base(cmd.Path), provider.ErrUnavailable)
	case err != nil && isAuth(stderr.String()):
		return provider.Result{}, fmt.Errorf("%s: gpg could not decrypt it (%s): %w", name, lastLine(stderr.String()), provider.ErrAuth)
	case err != nil && strings.Contains(stderr.String(), "is not in the password store"):
		return provider.Result{}, fmt.Errorf("%s: %w", name, provider.ErrNotFound)
	case err != nil:
		return provider.Result{}, fmt.Errorf("%s: %s: %v: %s", name, filepath.Base(cmd.Path), err, lastLine(stderr.String()))
	case out.over:
		return provider.Result{}, fmt.Errorf("%s: the entry is larger than %d bytes", name, maxOutput)
	}
	v, err := pick(src, out.Bytes())
	if err != nil {
		return provider.Result{}, err
	}
	return provider.Result{Value: v, Detail: name}, nil
}

// pick takes the first line of an entry, or the value of its line "KEY:
// VALUE".
func pick(src provider.Source, entry []byte) ([]byte, error) {
	first, rest, _ := bytes.Cut(entry, []byte("\n"))
	if src.Key == "" {
		return first, nil
	}
	for line := range bytes.SplitSeq(rest, []byte("\n")) {
		k, v, ok := bytes.Cut(line, []byte(":"))
		if ok && strings.EqualFold(strings.TrimSpace(string(k)), src.Key) {
			return bytes.TrimSpace(v), nil
		}
	}
	return nil, fmt.Errorf("%s has no line %q: %w", src.Name(), src.Key+": ...", provider.ErrNotFound)
}

// isAuth says gpg's messages mean the key or its passphrase is wrong.
func isAuth(stderr string) bool {
	for _, s := range []string{"No secret key", "Bad passphrase", "decryption failed", "bad passphrase"} {
		if strings.Contains(stderr, s) {
			return true
		}
	}
	return false
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}

// limited keeps at most max bytes and notes that more came.
type limited struct {
	bytes.Buffer
	max  int
	over bool
}

func (l *limited) Write(b []byte) (int, error) {
	if room := l.max - l.Len(); len(b) > room {
		l.over = true
		if room > 0 {
			l.Buffer.Write(b[:room])
		}
		return len(b), nil
	}
	return l.Buffer.Write(b)
}
