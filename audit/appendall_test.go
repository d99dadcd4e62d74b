package audit

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// AppendAll chains a batch as Appends one by one would, and a batch with
// one invalid record writes none of it.
func TestAppendAll(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	l := openTest(t, path)
	bad := usedRecord("B")
	bad.Via = ""
	if out, err := l.AppendAll([]Record{usedRecord("A"), bad, usedRecord("C")}); !errors.Is(err, ErrInvalidRecord) || len(out) != 0 {
		t.Fatalf("batch with an invalid record: %d written, %v", len(out), err)
	}
	if b, _ := os.ReadFile(path); len(b) != 0 {
		t.Fatalf("a refused batch left %d bytes", len(b))
	}
	if _, err := l.Append(usedRecord("A")); err != nil {
		t.Fatal(err)
	}
	out, err := l.AppendAll([]Record{usedRecord("B"), usedRecord("C"), usedRecord("D")})
	if err != nil || len(out) != 3 {
		t.Fatalf("AppendAll = %d, %v", len(out), err)
	}
	for i, r := range out {
		if r.Seq != uint64(i+2) || r.Secret != string(rune('B'+i)) {
			t.Errorf("record %d: seq %d, secret %s", i, r.Seq, r.Secret)
		}
	}
	if res := verifyFile(t, path, testKey("a")); !res.OK || res.Records != 4 {
		t.Errorf("verify = %+v, want OK with 4 records", res)
	}
}
