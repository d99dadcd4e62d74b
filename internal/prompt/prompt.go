// Package prompt is how wsx asks a person: the controlling terminal
// (/dev/tty, never stdout, which carries data), questions on it, and the
// passphrase files that stand in for it. It knows no flow: the command line
// asks through it and hands the answers to the feature packages; the
// daemon, which serves without a terminal, never does.
package prompt

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/wsxdev/wsx/internal/hint"
	"github.com/wsxdev/wsx/store"
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

// ErrNoTerminal is Open's error when the process has no terminal.
var ErrNoTerminal = errors.New("no terminal to prompt on")

type tty struct{ f *os.File }

// Open opens the controlling terminal, or fails with ErrNoTerminal.
func Open() (Terminal, error) {
	f, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return nil, ErrNoTerminal
	}
	if !term.IsTerminal(int(f.Fd())) {
		f.Close()
		return nil, ErrNoTerminal
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
	for len(b) < MaxPassphrase {
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

// lineReader is a Terminal that can also read a line with echo. The real
// terminal is one; a Terminal without it is asked with ReadPassword.
type lineReader interface {
	ReadLine(prompt string) (string, error)
}

// ReadLine reads a line on t with echo when t can, else without.
func ReadLine(t Terminal, prompt string) (string, error) {
	if lr, ok := t.(lineReader); ok {
		return lr.ReadLine(prompt)
	}
	b, err := t.ReadPassword(prompt)
	return string(b), err
}

// Confirm asks a yes/no question on t; only y or yes (any case) is yes.
func Confirm(t Terminal, question string) (bool, error) {
	a, err := ReadLine(t, question+" [y/N] ")
	if err != nil {
		return false, err
	}
	a = strings.ToLower(strings.TrimSpace(a))
	return a == "y" || a == "yes", nil
}

// Tries is how many times a passphrase typed on the terminal may be wrong
// before the command gives up, as with sudo.
const Tries = 3

// Unlock reads the store passphrase and hands it to unlock: once from
// file when one is named, or up to Tries times from the terminal open
// gives while unlock says it is wrong (store.ErrWrongPassphrase). The
// passphrase is cleared after each try. Without a file or a terminal it
// fails with store.ErrLocked.
func Unlock(open func() (Terminal, error), file, prompt string, unlock func([]byte) error) error {
	if file != "" {
		p, err := ReadPassphraseFile(file)
		if err != nil {
			return err
		}
		defer clear(p)
		return unlock(p)
	}
	t, err := open()
	if err != nil {
		return fmt.Errorf("%w: no passphrase file and %v", store.ErrLocked, err)
	}
	defer t.Close()
	for i := 1; ; i++ {
		p, err := t.ReadPassword(prompt)
		if err != nil {
			return err
		}
		err = unlock(p)
		clear(p)
		if !errors.Is(err, store.ErrWrongPassphrase) {
			return err
		}
		if i == Tries {
			return fmt.Errorf("%d wrong passphrases: %w", Tries, err)
		}
		t.Printf("Sorry, try again.\n")
	}
}

// MaxPassphrase bounds what is read from a passphrase file.
const MaxPassphrase = 4096

// ErrExposed is ReadPassphraseFile's refusal of a file other users may
// read or write (exit 5, permission denied).
var ErrExposed = errors.New("permission denied")

// Exposed reports whether path is a regular file that other users may
// read or write, and its mode: such a file is refused as a passphrase file.
func Exposed(path string) (fs.FileMode, bool) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, false
	}
	return fi.Mode().Perm(), exposed(fi)
}

func exposed(fi fs.FileInfo) bool { return fi.Mode().IsRegular() && fi.Mode().Perm()&0o077 != 0 }

// ReadPassphraseFile reads a passphrase from path, without its final line
// ending. Like ssh with a private key, it refuses a regular file that
// other users may read or write: the error wraps ErrExposed and its hint is
// the chmod that fixes it.
func ReadPassphraseFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read passphrase file: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && exposed(fi) {
		return nil, hint.With(fmt.Errorf("passphrase file %s has mode %04o: other users may read it: %w", path, fi.Mode().Perm(), ErrExposed),
			"chmod 600 %s (and choose a new passphrase with `wsx passwd` if others may have read it)", path)
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxPassphrase+1))
	if err != nil {
		return nil, fmt.Errorf("read passphrase file %s: %w", path, err)
	}
	if len(b) > MaxPassphrase {
		return nil, fmt.Errorf("passphrase file %s is longer than %d bytes", path, MaxPassphrase)
	}
	return TrimNewline(b), nil
}

// TrimNewline removes one final "\n" or "\r\n": what echo and editors add.
func TrimNewline(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}

// NewPassphrase reads a new store passphrase: from file when one is
// named, else typed twice on the terminal open gives. weak says why a
// passphrase is weak ("" when it is not): a warning on stderr when read
// from a file, and a question on the terminal, where only a yes keeps
// it. nothing says what a refusal leaves undone ("nothing was created").
func NewPassphrase(open func() (Terminal, error), file, nothing string, weak func([]byte) string, stderr io.Writer) ([]byte, error) {
	if file != "" {
		p, err := ReadPassphraseFile(file)
		if err != nil {
			return nil, err
		}
		if why := weak(p); why != "" {
			fmt.Fprintf(stderr, "wsx: warning: the passphrase in %s is weak: %s\n", file, why)
		}
		return p, nil
	}
	t, err := open()
	if err != nil {
		return nil, hint.With(errors.New("no terminal to ask for a new passphrase"),
			"write the passphrase to a file readable only by you and pass it with --passphrase-file or WSX_PASSPHRASE_FILE (`wsx passwd`: --new-passphrase-file)")
	}
	defer t.Close()
	p1, err := t.ReadPassword("New passphrase for the wsx store: ")
	if err != nil {
		return nil, err
	}
	p2, err := t.ReadPassword("Same passphrase again: ")
	if err != nil {
		clear(p1)
		return nil, err
	}
	same := bytes.Equal(p1, p2)
	clear(p2)
	if !same {
		clear(p1)
		return nil, fmt.Errorf("the two passphrases differ; %s", nothing)
	}
	if len(p1) == 0 {
		return nil, fmt.Errorf("the passphrase is empty; %s: %w", nothing, store.ErrEmptyPassphrase)
	}
	if why := weak(p1); why != "" {
		t.Printf("This passphrase is weak: %s. Anyone with a copy of the store can guess at it offline.\n", why)
		ok, err := Confirm(t, "Use it anyway?")
		if err != nil || !ok {
			clear(p1)
			return nil, hint.With(fmt.Errorf("weak passphrase refused (%s); %s", why, nothing),
				"choose a longer one: four or more random words make a good passphrase")
		}
	}
	return p1, nil
}
