package scan

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// tokenChars draws n characters of alphabet from a fixed seed, so samples
// are random enough for the entropy floor but never real tokens.
func tokenChars(r *rand.Rand, alphabet string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

const (
	alnum   = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b32     = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	b64set  = alnum + "+/"
	urlsafe = alnum + "-_"
)

// samples returns, per rule id, a line holding a token of that format.
func samples() map[string]string {
	r := rand.New(rand.NewPCG(1, 2))
	jwtHead := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	jwtBody := base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"1234567890","name":"x"}`))
	pemBody := ""
	for range 6 {
		pemBody += tokenChars(r, b64set, 64) + "\n"
	}
	return map[string]string{
		"github-token":              `token: "gh` + "p_" + tokenChars(r, alnum, 36) + `"`,
		"github-fine-grained-token": "GH=github" + "_pat_" + tokenChars(r, alnum, 22) + "_" + tokenChars(r, alnum, 59),
		"gitlab-token":              "glp" + "at-" + tokenChars(r, urlsafe, 20),
		"aws-access-key-id":         "id = AK" + "IA" + tokenChars(r, b32, 16),
		"aws-secret-access-key":     `aws_secret_access_key = "` + tokenChars(r, b64set, 40) + `"`,
		"slack-token":               "xo" + "xb-" + tokenChars(r, "0123456789", 12) + "-" + tokenChars(r, alnum, 24),
		"slack-webhook":             "https://hooks.slack" + ".com/services/T" + tokenChars(r, b32, 8) + "/B" + tokenChars(r, b32, 8) + "/" + tokenChars(r, alnum, 24),
		"stripe-key":                "sk_" + "live_" + tokenChars(r, alnum, 24),
		"google-api-key":            "key=AI" + "za" + tokenChars(r, urlsafe, 35),
		"openai-key":                "OPENAI=sk-" + "proj-" + tokenChars(r, urlsafe, 20) + "T3Blbk" + "FJ" + tokenChars(r, urlsafe, 20),
		"anthropic-key":             "sk-" + "ant-api03-" + tokenChars(r, urlsafe, 93),
		"npm-token":                 "//registry.npmjs.org/:_authToken=np" + "m_" + tokenChars(r, alnum, 36),
		"private-key":               "-----BEGIN OPENSSH " + "PRIVATE KEY-----\n" + pemBody + "-----END OPENSSH PRIVATE KEY-----\n",
		"jwt":                       "Authorization: Bearer " + jwtHead + "." + jwtBody + "." + tokenChars(r, urlsafe, 43),
		"basic-auth-url":            "url = https://deploy:" + tokenChars(r, alnum, 16) + "@git.example.com/org/repo.git",
	}
}

func TestRulesFindEachFormat(t *testing.T) {
	s := samples()
	for _, r := range Rules() {
		line, ok := s[r.ID]
		if !ok {
			t.Errorf("rule %s has no sample", r.ID)
			continue
		}
		hits := findRules(Rules(), []byte("x\n"+line+"\ny\n"))
		if len(hits) != 1 || hits[0].rule != r {
			var ids []string
			for _, h := range hits {
				ids = append(ids, h.rule.ID)
			}
			t.Errorf("%s: found %v in %q", r.ID, ids, line)
		}
	}
}

func TestRulesSkipPlaceholders(t *testing.T) {
	for _, line := range []string{
		`token: "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"`,
		`ghp_000000000000000000000000000000000000`,
		`AKIAIOSFODNN7EXAMPLE`,
		`aws_secret_access_key = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"`,
		`https://user:password@example.com/`,
		`https://user:${TOKEN}@example.com/`,
		`sk_live_xxxxxxxxxxxxxxxxxxxxxxxxxxxx`,
		`eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0`, // two parts only
		"-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----",
	} {
		if hits := findRules(Rules(), []byte(line)); len(hits) != 0 {
			t.Errorf("%q: found %s", line, hits[0].rule.ID)
		}
	}
}

// TestNoFindingsInOrdinarySource is the false-positive corpus: Go's own
// sources for text handling, HTTP and the toolchain hold no secret.
func TestNoFindingsInOrdinarySource(t *testing.T) {
	root := filepath.Join(runtime.GOROOT(), "src")
	var n int
	for _, dir := range []string{"net/http", "go", "encoding", "strings", "fmt", "regexp", "os", "cmd/go/internal"} {
		res, err := Run(context.Background(), Options{Dir: root, Paths: []string{dir}, Git: "/nonexistent"})
		if err != nil {
			t.Fatal(err)
		}
		n += res.Files
		for _, f := range res.Findings {
			if strings.Contains(f.File, "testdata/") {
				continue // test fixtures hold sample keys on purpose
			}
			t.Errorf("%s:%d: %s: %s", f.File, f.Line, f.Rule, f.Preview)
		}
	}
	if n < 500 {
		t.Fatalf("read only %d files under %s", n, root)
	}
	// An absolute path is read where it is, and named so.
	res, err := Run(context.Background(), Options{Paths: []string{filepath.Join(root, "fmt")}, Git: "/nonexistent"})
	if err != nil || res.Files < 10 {
		t.Fatalf("absolute path: %d files, %v", res.Files, err)
	}
}

func TestStoredValuesInEveryForm(t *testing.T) {
	val := []byte("tok-8f7e6d5c4b3a29180716")
	old := []byte("old-0123456789abcdef0123")
	m, short := NewValueMatcher([]Value{
		{Secret: "API_TOKEN", Bytes: val},
		{Secret: "API_TOKEN", Previous: true, Bytes: old},
		{Secret: "PIN", Bytes: []byte("1234")},
	})
	if len(short) != 1 || short[0] != "PIN" {
		t.Fatalf("short = %v, want [PIN]", short)
	}
	forms := map[string]string{
		"raw":    string(val),
		"base64": base64.StdEncoding.EncodeToString([]byte("user:" + string(val))),
		"hex":    hex.EncodeToString(val),
		"json":   `"` + string(val) + `"`,
	}
	for form, text := range forms {
		dir := t.TempDir()
		file := filepath.Join(dir, "f.txt")
		if err := os.WriteFile(file, []byte("a\nvalue = "+text+" end\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		res, err := Run(context.Background(), Options{Dir: dir, Values: m, Git: "/nonexistent"})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Findings) != 1 {
			t.Fatalf("%s: %d findings: %+v", form, len(res.Findings), res.Findings)
		}
		f := res.Findings[0]
		if f.Secret != "API_TOKEN" || f.Line != 2 || f.Column < 9 || f.Previous {
			t.Errorf("%s: finding %+v", form, f)
		}
		if strings.Contains(f.Preview, string(val)) || strings.Contains(f.Preview, text) || !strings.Contains(f.Preview, "***") {
			t.Errorf("%s: preview %q shows the value", form, f.Preview)
		}
	}
	res, err := Run(context.Background(), Options{Mode: ModeStdin, Stdin: strings.NewReader("x " + string(old)), Values: m})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) != 1 || !res.Findings[0].Previous || res.Findings[0].File != "stdin" {
		t.Fatalf("previous value: %+v", res.Findings)
	}
}

func TestPEMLinesAreOneFinding(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	key := "-----BEGIN OPENSSH PRIVATE KEY-----\n"
	for range 5 {
		key += tokenChars(r, b64set, 70) + "\n"
	}
	key += "-----END OPENSSH PRIVATE KEY-----\n"
	m, _ := NewValueMatcher([]Value{{Secret: "DEPLOY_KEY", Bytes: []byte(key)}})
	other := "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n"
	// The key pasted with other indentation (lines matched one by one),
	// and another key's armour only.
	pasted := "key: |\n  " + strings.ReplaceAll(strings.TrimSpace(key), "\n", "\n  ") + "\n" + other
	res, err := Run(context.Background(), Options{Mode: ModeStdin, Stdin: strings.NewReader(pasted), Values: m, Rules: []*Rule{}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) != 1 || res.Findings[0].Secret != "DEPLOY_KEY" || res.Findings[0].Line != 3 {
		t.Fatalf("findings %+v, want DEPLOY_KEY once from line 3", res.Findings)
	}
}

func TestAllowInlineAndIgnoreFile(t *testing.T) {
	s := samples()
	gh := s["github-token"]
	m, _ := NewValueMatcher([]Value{{Secret: "API_TOKEN", Bytes: []byte("tok-8f7e6d5c4b3a29180716")}})
	dir := t.TempDir()
	files := map[string]string{
		"a.go":                 gh + " // wsx:allow\n" + gh + "\n",
		"b.go":                 "x := \"tok-8f7e6d5c4b3a29180716\" // wsx:allow\ny := \"tok-8f7e6d5c4b3a29180716\" // wsx:allow=API_TOKEN\n",
		"fixtures/deep/c.txt":  gh + "\n",
		"d.txt":                gh + "\n" + gh + "\n",
		"vendor/lib/x/e.js":    gh + "\n",
		IgnoreFile:             "# test fixtures\nfixtures/**\nvendor/\nd.txt:github-token:2\n",
		"sub/vendor/not-e.txt": "",
	}
	for name, text := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	res, err := Run(context.Background(), Options{Dir: dir, Values: m, Git: "/nonexistent"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range res.Findings {
		got = append(got, f.Fingerprint)
	}
	want := []string{"a.go:github-token:2", "b.go:API_TOKEN:1", "d.txt:github-token:1"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("findings %v, want %v", got, want)
	}
}

func TestDiffParser(t *testing.T) {
	diff := `commit 1111111111111111111111111111111111111111
diff --git a/app.js b/app.js
index 1..2 100644
--- a/app.js
+++ b/app.js
@@ -3 +3,2 @@ function f() {
-old
+new line
+++ looks like a header
@@ -10,0 +12 @@
+twelve
diff --git a/img.png b/img.png
Binary files a/img.png and b/img.png differ
diff --git a/gone.txt b/gone.txt
deleted file mode 100644
--- a/gone.txt
+++ /dev/null
@@ -1 +0,0 @@
-bye
commit 2222222222222222222222222222222222222222
diff --git "a/sp ace\tx" "b/sp ace\tx"
new file mode 100644
--- /dev/null
+++ "b/sp ace\tx"
@@ -0,0 +1 @@
+hello
\ No newline at end of file
`
	var got []unit
	commits := 0
	p := &diffParser{emit: func(u unit) error { got = append(got, u); return nil }, onCommit: func() { commits++ }}
	if err := p.parse(bufio.NewReader(strings.NewReader(diff))); err != nil {
		t.Fatal(err)
	}
	want := []unit{
		{seq: 1, path: "app.js", commit: "1111111111111111111111111111111111111111", data: []byte("new line\n++ looks like a header\n"), line: 3},
		{seq: 1, path: "app.js", commit: "1111111111111111111111111111111111111111", data: []byte("twelve\n"), line: 12},
		{seq: 2, path: "sp ace\tx", commit: "2222222222222222222222222222222222222222", data: []byte("hello\n"), line: 1},
	}
	if commits != 2 || len(got) != len(want) {
		t.Fatalf("commits %d, units %+v", commits, got)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.seq != w.seq || g.path != w.path || g.commit != w.commit || !bytes.Equal(g.data, w.data) || g.line != w.line {
			t.Errorf("unit %d = %+v, want %+v", i, g, w)
		}
	}
	bad := "diff --git a/x b/x\n+++ b/x\n@@ -1 +1,3 @@\n+only one\n"
	p = &diffParser{emit: func(unit) error { return nil }}
	if err := p.parse(bufio.NewReader(strings.NewReader(bad))); err == nil {
		t.Fatal("a truncated hunk parsed")
	}
}

func TestGlob(t *testing.T) {
	for _, c := range []struct {
		glob, path string
		want       bool
	}{
		{"*.pem", "a/b/key.pem", true},
		{"*.pem", "a/b/key.pem.txt", false},
		{"testdata/", "pkg/testdata/x.json", true},
		{"docs/**/*.md", "docs/a/b/c.md", true},
		{"docs/**/*.md", "docs/c.md", true},
		{"docs/**/*.md", "src/docs/c.md", false},
		{"src/gen", "src/gen/x.go", true},
		{"src/gen", "src/generated/x.go", false},
	} {
		if got := matchGlob(c.glob, c.path); got != c.want {
			t.Errorf("matchGlob(%q, %q) = %v", c.glob, c.path, got)
		}
	}
}

func TestPreviewEscapesAndCuts(t *testing.T) {
	line := "\x1b[31m" + strings.Repeat("a", 200) + "SECRETVALUE" + strings.Repeat("b", 200)
	start := strings.Index(line, "SECRETVALUE")
	s := span{rule: StoredRule, start: start, end: start + 11, redStart: start, redEnd: start + 11}
	p := preview([]byte(line), 0, len(line), s, []span{s})
	if strings.Contains(p, "SECRET") || !strings.Contains(p, "***") || strings.Contains(p, "\x1b") || len(p) > previewMax+8 {
		t.Fatalf("preview %q", p)
	}
}

func TestSARIFShape(t *testing.T) {
	res := Result{Findings: []Finding{
		{Rule: StoredRule, Secret: "API_TOKEN", File: "a b.go", Line: 2, Column: 3, EndLine: 2, EndColumn: 9, Preview: "x ***", Fingerprint: "a b.go:API_TOKEN:2"},
		{Rule: "github-token", File: "c.go", Line: 1, Column: 1, EndLine: 1, EndColumn: 41, Preview: "ghp_***", Fingerprint: "c.go:github-token:1"},
	}}
	var buf bytes.Buffer
	if err := WriteSARIF(&buf, res, "test"); err != nil {
		t.Fatal(err)
	}
	var log struct {
		Version string `json:"version"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Rules []struct {
						ID string `json:"id"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID    string `json:"ruleId"`
				RuleIndex int    `json:"ruleIndex"`
				Message   struct {
					Text string `json:"text"`
				} `json:"message"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(buf.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	if log.Version != "2.1.0" || len(log.Runs) != 1 || len(log.Runs[0].Results) != 2 {
		t.Fatalf("log %+v", log)
	}
	run := log.Runs[0]
	for _, r := range run.Results {
		if run.Tool.Driver.Rules[r.RuleIndex].ID != r.RuleID || r.Message.Text == "" {
			t.Errorf("result %+v does not point at its rule", r)
		}
	}
	if !strings.Contains(buf.String(), `"uri": "a%20b.go"`) {
		t.Fatalf("uri not escaped:\n%s", buf.String())
	}
}
