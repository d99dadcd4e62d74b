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

// maxPassphrase bounds what is read from a passphrase file.
const maxPassphrase = 4096

// readPassphraseFile reads a passphrase from path, without its final line
// ending.
func readPassphraseFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read passphrase file: %w", err)
	}
	defer f.Close()
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
