package clidoc

import "testing"

func TestRoffEscapes(t *testing.T) {
	for in, want := range map[string]string{
		`a\b`:        `a\eb`,
		"--flag":     `\-\-flag`,
		".hidden":    `\&.hidden`,
		"'quote":     `\&'quote`,
		"plain text": "plain text",
	} {
		if got := roff(in); got != want {
			t.Errorf("roff(%q) = %q, want %q", in, got, want)
		}
	}
	if got := roffLines("one\n\n.two\n"); got != "one\n.PP\n\\&.two" {
		t.Errorf("roffLines: %q", got)
	}
}
