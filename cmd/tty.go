package cmd

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/term"
)

// Terminal is the controlling terminal, used for prompts only: nothing a
// command prints as data goes there.
type Terminal interface {
	// ReadPassword shows prompt and reads a line without echo.
	ReadPassword(prompt string) ([]byte, error)
	// Printf writes a message to the terminal.
	Printf(format string, args ...any)
	Close() error
}

var errNoTerminal = errors.New("no terminal to prompt on")

type tty struct{ f *os.File }

func openTTY() (Terminal, error) {
	f, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return nil, errNoTerminal
	}
	if !term.IsTerminal(int(f.Fd())) {
		f.Close()
		return nil, errNoTerminal
	}
	return tty{f}, nil
}

func (t tty) ReadPassword(prompt string) ([]byte, error) {
	fmt.Fprint(t.f, prompt)
	b, err := term.ReadPassword(int(t.f.Fd()))
	fmt.Fprintln(t.f)
	return b, err
}

func (t tty) Printf(format string, args ...any) { fmt.Fprintf(t.f, format, args...) }
func (t tty) Close() error                      { return t.f.Close() }

// ReadLine shows prompt and reads a line with echo, one byte at a time so
// that nothing after the line is consumed.
func (t tty) ReadLine(prompt string) (string, error) {
	fmt.Fprint(t.f, prompt)
	var b []byte
	one := make([]byte, 1)
	for len(b) < maxPassphrase {
		n, err := t.f.Read(one)
		if n == 1 {
			if one[0] == '\n' {
				break
			}
			b = append(b, one[0])
		}
		if err != nil {
			if err == io.EOF && len(b) > 0 {
				break
			}
			return "", err
		}
	}
	return string(bytes.TrimSuffix(b, []byte("\r"))), nil
}

// maxPassphrase bounds what is read from a passphrase file.
const maxPassphrase = 4096

// readPassphraseFile reads a passphrase from path, without its final line
// ending. Like ssh with a private key, it refuses a regular file that
// other users may read or write: the error wraps errPermission (exit 5)
// and its hint is the chmod that fixes it.
func readPassphraseFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read passphrase file: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o077 != 0 {
		return nil, withHint(fmt.Errorf("passphrase file %s has mode %04o: other users may read it: %w", path, fi.Mode().Perm(), errPermission),
			"chmod 600 %s (and choose a new passphrase with `wsx passwd` if others may have read it)", path)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxPassphrase+1))
	if err != nil {
		return nil, fmt.Errorf("read passphrase file %s: %w", path, err)
	}
	if len(b) > maxPassphrase {
		return nil, fmt.Errorf("passphrase file %s is longer than %d bytes", path, maxPassphrase)
	}
	return trimNewline(b), nil
}

// trimNewline removes one final "\n" or "\r\n": what echo and editors add.
func trimNewline(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}
