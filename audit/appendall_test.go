package audit

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
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

// Every line AppendAll writes is the JSON encoding of the record it
// returns, with that record's MAC over the encoding with mac "": what
// appendLine splices into the prepared encoding is what encoding/json
// would write, for the first record (prev "") and the ones after it.
func TestAppendAllLinesAreTheEncoding(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	l := openTest(t, path)
	odd := usedRecord("ODD_ONE")
	odd.Context = &Context{Command: `say "hi" <&> \ é`, Claimed: []string{"command"}}
	odd.Process.Argv = append(odd.Process.Argv, "\x00\u2028\t")
	odd.Detail = strings.Repeat("d", 2000)
	var out []Record
	claimed := usedRecord("G_1")
	claimed.Context.Claimed = []string{"command"}
	// One use of many secrets: records alike but for the name, one of
	// them a name JSON would not write as it is, then another context.
	use := []Record{usedRecord("D"), usedRecord("E_2"), usedRecord("name\u00e9"), usedRecord("F"), claimed, usedRecord("H")}
	for _, batch := range [][]Record{{usedRecord("A")}, {usedRecord("B"), odd, usedRecord("C")}, use} {
		got, err := l.AppendAll(batch)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, got...)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) != len(out) {
		t.Fatalf("%d lines for %d records", len(lines), len(out))
	}
	for i, r := range out {
		mac := r.MAC
		r.MAC = ""
		want, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		m := hmac.New(sha256.New, testKey("a"))
		m.Write(want)
		if got := hex.EncodeToString(m.Sum(nil)); got != mac {
			t.Errorf("record %d: mac %s, want %s", i, mac, got)
		}
		if line := strings.Replace(lines[i], mac, "", 1); line != string(want) {
			t.Errorf("record %d:\n line %s\n want %s", i, line, want)
		}
	}
	if res := verifyFile(t, path, testKey("a")); !res.OK || res.Records != 10 {
		t.Errorf("verify = %+v", res)
	}
	for i, r := range out[4:] {
		if r.Secret != use[i].Secret || !r.Time.Equal(out[4].Time) || (r.Context.Claimed != nil) != (i == 4) {
			t.Errorf("record %d of the use: %s at %v, claimed %v", i, r.Secret, r.Time, r.Context.Claimed)
		}
	}
}

// A batch whose fsync fails is not appended at all, and the next batch
// chains on the records before it.
func TestAppendAllFailsWhole(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	l := openTest(t, path)
	if _, err := l.Append(usedRecord("A")); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	l.fsync = func(*os.File) error { return errors.New("injected EIO") }
	if out, err := l.AppendAll([]Record{usedRecord("B"), usedRecord("C")}); !errors.Is(err, ErrUnavailable) || out != nil {
		t.Fatalf("AppendAll with a failing fsync = %v, %v", out, err)
	}
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Fatalf("a failed batch left %q", after[len(before):])
	}
	l.fsync = syncFile
	out, err := l.AppendAll([]Record{usedRecord("D"), usedRecord("E")})
	if err != nil || len(out) != 2 || out[0].Seq != 2 || out[1].Seq != 3 {
		t.Fatalf("AppendAll after recovery = %+v, %v", out, err)
	}
	if res := verifyFile(t, path, testKey("a")); !res.OK || res.Records != 3 {
		t.Errorf("verify = %+v", res)
	}
}

// alike tells apart records that differ in any field but the secret,
// those of their Process and Context included: else records of one use
// that differ in it would be written alike.
func TestAlikeKnowsEveryField(t *testing.T) {
	base := usedRecord("A")
	for _, change := range []func(r *Record){
		func(r *Record) { r.Event = EventDenied },
		func(r *Record) { r.Actor.Role = "edit" },
		func(r *Record) { r.Via = ViaAPI },
		func(r *Record) { r.Result = ResultError },
		func(r *Record) { r.Detail = "x" },
		func(r *Record) { r.Time = r.Time.Add(1) },
		func(r *Record) { r.Process = &Process{PID: 1} },
		func(r *Record) { r.Process = nil },
		func(r *Record) { p := *r.Process; p.Argv = []string{"node"}; r.Process = &p },
		func(r *Record) { c := *r.Context; c.Line = 13; r.Context = &c },
		func(r *Record) { c := *r.Context; c.Claimed = []string{"file"}; r.Context = &c },
	} {
		b := usedRecord("B")
		change(&b)
		if alike(base, b) {
			t.Errorf("alike(%+v, %+v)", base, b)
		}
	}
	if !alike(base, usedRecord("B")) {
		t.Error("records differing only in the secret are not alike")
	}
}
