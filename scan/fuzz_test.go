package scan

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzScan scans arbitrary bytes holding a stored value: the scan never
// panics, finds the value where it is written raw, and no preview or
// fingerprint ever holds it.
func FuzzScan(f *testing.F) {
	const val = "tok-8f7e6d5c4b3a29180716"
	for _, s := range []string{"", "x" + val, val + "\n" + val, "a\nb " + val + "\r\n\x00", "wsx:allow=API " + val,
		"-----BEGIN RSA PRIVATE KEY-----\n" + val + "\n", "https://u:" + val + "@h.example.com/"} {
		f.Add([]byte(s))
	}
	m, _ := NewValueMatcher([]Value{{Secret: "API", Bytes: []byte(val)}})
	f.Fuzz(func(t *testing.T, in []byte) {
		res, err := Run(context.Background(), Options{Mode: ModeStdin, Stdin: bytes.NewReader(in), Values: m})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, fd := range res.Findings {
			if strings.Contains(fd.Preview, val) || strings.Contains(fd.Fingerprint, val) {
				t.Fatalf("finding shows the value: %+v", fd)
			}
			if fd.Line < 1 || fd.Column < 1 || fd.EndLine < fd.Line {
				t.Fatalf("bad position %+v", fd)
			}
			found = found || fd.Secret == "API"
		}
		if bytes.Contains(in, []byte(val)) && !found && !bytes.Contains(in, []byte("wsx:allow=API")) {
			t.Fatalf("value not found in %q", in)
		}
	})
}

// FuzzDiff reads arbitrary git diff output: errors, never a panic, and
// units only with sane line numbers.
func FuzzDiff(f *testing.F) {
	f.Add([]byte("commit 1\ndiff --git a/x b/x\n+++ b/x\n@@ -0,0 +1,2 @@\n+a\n+b\n"))
	f.Add([]byte("+++ \"b/\\303\\251\"\n@@ -1 +1 @@\n-x\n+y\n\\ No newline at end of file\n"))
	f.Add([]byte("@@ -1,-1 +1,99999999999 @@\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		p := &diffParser{emit: func(u unit) error {
			if u.line < 0 {
				t.Fatalf("unit at line %d", u.line)
			}
			return nil
		}}
		_ = p.parse(bufio.NewReader(bytes.NewReader(in)))
	})
}

// FuzzIgnoreFile reads arbitrary .wsxscanignore files and matches paths
// with what it accepted, without panicking.
func FuzzIgnoreFile(f *testing.F) {
	f.Add([]byte("# c\n*.pem\ndocs/**/x\n[\na.go:rule:3\n"), "docs/a/x")
	f.Fuzz(func(t *testing.T, in []byte, p string) {
		file := filepath.Join(t.TempDir(), IgnoreFile)
		if err := os.WriteFile(file, in, 0o600); err != nil {
			t.Fatal(err)
		}
		a, err := readAllowlist(file)
		if err != nil {
			return
		}
		a.allowsPath(p)
	})
}
