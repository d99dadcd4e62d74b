package ui

import (
	"html/template"
	"strings"
	"testing"
)

// FuzzAddForm posts arbitrary add forms: the page answers with a redirect
// or the form again, never fails, and never sends the value back (marked
// so that no page text can hold it by chance), raw or escaped.
func FuzzAddForm(f *testing.F) {
	f.Add("GITHUB_TOKEN", "token", "ghp_0123456789abcdef", "github.com", "90d", "")
	f.Add("PATH", "password", "hunter2hunter2", "", "never", "")
	f.Add("bad name", "key", "-----BEGIN OPENSSH PRIVATE KEY-----\nxx\n", "a b,c", "1w", "")
	f.Add("X", "file", "<b>&'\"", "", "-1d", "templates")
	f.Fuzz(func(t *testing.T, name, typ, v, hosts, rotate, from string) {
		value := "wsxFUZZ" + v + "ZZUFxsw"
		p := newPage(t, newFake(), "")
		w := p.postMultipart("/add", map[string]string{"name": name, "type": typ, "value": value, "hosts": hosts,
			"rotate_every": rotate, "from": from}, nil)
		if w.Code != 303 && w.Code != 400 {
			t.Fatalf("add answered %d: %s", w.Code, w.Body.String())
		}
		answer := w.Header().Get("Location") + w.Body.String()
		if strings.Contains(answer, value) || strings.Contains(answer, template.HTMLEscapeString(value)) {
			t.Fatalf("the answer holds the value %q", value)
		}
	})
}
