package secrets

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wsxdev/wsx/internal/prompt"
	"github.com/wsxdev/wsx/store"
)

// fakeTerminal answers every prompt with answer and keeps the prompts.
type fakeTerminal struct {
	answer string
	asked  []string
}

func (t *fakeTerminal) ReadPassword(p string) ([]byte, error) {
	t.asked = append(t.asked, p)
	return []byte(t.answer), nil
}
func (t *fakeTerminal) Printf(string, ...any) {}
func (t *fakeTerminal) Close() error          { return nil }

func TestPrompterValue(t *testing.T) {
	file := filepath.Join(t.TempDir(), "v")
	if err := os.WriteFile(file, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	term := &fakeTerminal{answer: "typed"}
	onTerm := func() (prompt.Terminal, error) { return term, nil }
	noTerm := func() (prompt.Terminal, error) { return nil, prompt.ErrNoTerminal }
	for _, tc := range []struct {
		name     string
		p        Prompter
		typ      store.Type
		fromFile string
		required bool
		want     string
		given    bool
		usage    bool
	}{
		{"a file is read as it is", Prompter{Terminal: noTerm}, store.TypeToken, file, true, "from-file\n", true, false},
		{"a piped token loses its newline", Prompter{Stdin: strings.NewReader("piped\r\n"), Terminal: noTerm}, store.TypeToken, "", true, "piped", true, false},
		{"a piped file keeps it", Prompter{Stdin: strings.NewReader("piped\n"), Terminal: noTerm}, store.TypeFile, "", true, "piped\n", true, false},
		{"an empty pipe gives nothing", Prompter{Stdin: strings.NewReader(""), Terminal: noTerm}, store.TypeToken, "", false, "", false, false},
		{"a token is typed", Prompter{StdinIsTerminal: true, Terminal: onTerm}, store.TypeToken, "", true, "typed", true, false},
		{"no terminal gives nothing", Prompter{StdinIsTerminal: true, Terminal: noTerm}, store.TypePassword, "", true, "", false, false},
		{"a file is never typed", Prompter{StdinIsTerminal: true, Terminal: onTerm}, store.TypeFile, "", true, "", false, true},
		{"nor is a key, unless none is required", Prompter{StdinIsTerminal: true, Terminal: onTerm}, store.TypeKey, "", false, "", false, false},
	} {
		term.asked = nil
		val, given, err := tc.p.Value("API_TOKEN", tc.typ, tc.fromFile, tc.required)
		if string(val) != tc.want || given != tc.given || isUsage(err) != tc.usage || (err != nil) != tc.usage {
			t.Errorf("%s: %q, given %v, err %v", tc.name, val, given, err)
		}
		if asked := len(term.asked) > 0; asked != (tc.want == "typed") {
			t.Errorf("%s: asked %q", tc.name, term.asked)
		}
	}
	term.asked = nil
	if _, _, err := (Prompter{StdinIsTerminal: true, Terminal: onTerm}).Value("API_TOKEN", store.TypeToken, "", false); err != nil {
		t.Fatal(err)
	}
	if len(term.asked) != 1 || !strings.Contains(term.asked[0], "empty keeps the current one") {
		t.Errorf("the prompt for a value that may stay: %q", term.asked)
	}
}
