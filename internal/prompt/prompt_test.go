package prompt

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wsxdev/wsx/internal/hint"
	"github.com/wsxdev/wsx/store"
)

// fakeTerminal answers prompts from a list and records what was shown.
type fakeTerminal struct {
	answers []string
	prompts []string
	printed strings.Builder
}

func (f *fakeTerminal) ReadPassword(prompt string) ([]byte, error) {
	f.prompts = append(f.prompts, prompt)
	if len(f.answers) == 0 {
		return nil, errors.New("no more input")
	}
	a := f.answers[0]
	f.answers = f.answers[1:]
	return []byte(a), nil
}

func (f *fakeTerminal) Printf(format string, args ...any) {
	f.printed.WriteString(strings.TrimSpace(strings.ReplaceAll(format, "%", "")))
}
func (f *fakeTerminal) Close() error { return nil }

func right(p []byte) error {
	if string(p) != "right" {
		return store.ErrWrongPassphrase
	}
	return nil
}

func TestUnlockTries(t *testing.T) {
	for _, tc := range []struct {
		answers   []string
		wantErr   error
		wantReads int
	}{
		{[]string{"right"}, nil, 1},
		{[]string{"no", "no", "right"}, nil, 3},
		{[]string{"no", "no", "no", "right"}, store.ErrWrongPassphrase, 3},
	} {
		ft := &fakeTerminal{answers: tc.answers}
		err := Unlock(func() (Terminal, error) { return ft, nil }, "", "Passphrase: ", right)
		if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
			t.Errorf("%v: err %v, want %v", tc.answers, err, tc.wantErr)
		}
		if len(ft.prompts) != tc.wantReads {
			t.Errorf("%v: %d prompts, want %d", tc.answers, len(ft.prompts), tc.wantReads)
		}
		if got, want := strings.Count(ft.printed.String(), "Sorry, try again."), tc.wantReads-1; got != want {
			t.Errorf("%v: %d apologies, want %d", tc.answers, got, want)
		}
	}
}

func TestUnlockFileOrNothing(t *testing.T) {
	noTTY := func() (Terminal, error) { return nil, ErrNoTerminal }
	if err := Unlock(noTTY, "", "P: ", right); !errors.Is(err, store.ErrLocked) {
		t.Errorf("no file, no terminal: %v, want ErrLocked", err)
	}
	p := filepath.Join(t.TempDir(), "pass")
	if err := os.WriteFile(p, []byte("right\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Unlock(noTTY, p, "P: ", right); err != nil {
		t.Errorf("from a file: %v", err)
	}
	ft := &fakeTerminal{answers: []string{"wrong"}}
	if err := os.WriteFile(p, []byte("wrong\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Unlock(func() (Terminal, error) { return ft, nil }, p, "P: ", right); !errors.Is(err, store.ErrWrongPassphrase) || len(ft.prompts) != 0 {
		t.Errorf("a wrong file: %v after %d prompts, want ErrWrongPassphrase and none", err, len(ft.prompts))
	}
}

func TestReadPassphraseFileMode(t *testing.T) {
	p := filepath.Join(t.TempDir(), "pass")
	if err := os.WriteFile(p, []byte("a passphrase\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ReadPassphraseFile(p)
	if !errors.Is(err, ErrExposed) {
		t.Fatalf("mode 0644: err %v, want ErrExposed", err)
	}
	if mode, bad := Exposed(p); !bad || mode != 0o644 {
		t.Errorf("Exposed = %04o, %v; want 0644, true", mode, bad)
	}
	var he hint.Error
	if !errors.As(err, &he) || !strings.Contains(he.Hint, "chmod 600 "+p) {
		t.Errorf("hint %q, want the chmod", he.Hint)
	}
	if err := os.Chmod(p, 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := ReadPassphraseFile(p)
	if err != nil || string(got) != "a passphrase" {
		t.Errorf("mode 0600: %q, %v", got, err)
	}
	if _, bad := Exposed(p); bad {
		t.Error("mode 0600 is exposed")
	}
	if err := os.WriteFile(p, []byte(strings.Repeat("x", MaxPassphrase+1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadPassphraseFile(p); err == nil {
		t.Error("a passphrase file over the limit was read")
	}
}

func TestConfirm(t *testing.T) {
	for a, want := range map[string]bool{"y": true, " YES ": true, "": false, "n": false, "yess": false} {
		ft := &fakeTerminal{answers: []string{a}}
		got, err := Confirm(ft, "Sure?")
		if err != nil || got != want {
			t.Errorf("Confirm on %q = %v, %v; want %v", a, got, err, want)
		}
		if len(ft.prompts) != 1 || ft.prompts[0] != "Sure? [y/N] " {
			t.Errorf("prompts %q", ft.prompts)
		}
	}
}

func TestNewPassphrase(t *testing.T) {
	weak := func(p []byte) string {
		if len(p) < 8 {
			return "shorter than 8"
		}
		return ""
	}
	for _, tc := range []struct {
		name    string
		answers []string
		want    string // the passphrase, or part of the error
		ok      bool
	}{
		{"typed twice", []string{"a long passphrase", "a long passphrase"}, "a long passphrase", true},
		{"differ", []string{"a long passphrase", "another one"}, "differ; nothing was created", false},
		{"empty", []string{"", ""}, "empty; nothing was created", false},
		{"weak kept", []string{"short", "short", "yes"}, "short", true},
		{"weak refused", []string{"short", "short", "n"}, "weak passphrase refused (shorter than 8); nothing was created", false},
	} {
		ft := &fakeTerminal{answers: tc.answers}
		p, err := NewPassphrase(func() (Terminal, error) { return ft, nil }, "", "nothing was created", weak, nil)
		if tc.ok && (err != nil || string(p) != tc.want) || !tc.ok && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: %q, %v; want %q", tc.name, p, err, tc.want)
		}
	}
	if _, err := NewPassphrase(func() (Terminal, error) { return nil, ErrNoTerminal }, "", "x", weak, nil); hint.Of(err) == "" {
		t.Errorf("no terminal: %v without the fix", err)
	}
	f := filepath.Join(t.TempDir(), "new")
	if err := os.WriteFile(f, []byte("short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var warned strings.Builder
	p, err := NewPassphrase(nil, f, "x", weak, &warned)
	if err != nil || string(p) != "short" || !strings.Contains(warned.String(), "weak: shorter than 8") {
		t.Errorf("from a file: %q, %v, warned %q", p, err, warned.String())
	}
}
