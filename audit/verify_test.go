package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fiveLines returns a valid log of five records, one line each with "\n".
func fiveLines(t *testing.T) [][]byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.log")
	l := openTest(t, path)
	appendN(t, l, 5)
	lines := readLines(t, path)
	return lines[:5]
}

func join(lines ...[]byte) []byte { return bytes.Join(lines, nil) }

func verifyBytes(t *testing.T, b []byte, key []byte) VerifyResult {
	t.Helper()
	res, err := Verify(bytes.NewReader(b), key)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	return res
}

// SECURITY.md 54: flip a byte, delete, swap or duplicate a record -> the
// first bad record is named, with why.
func TestVerifyTampering(t *testing.T) {
	l := fiveLines(t)
	flipped := bytes.Clone(l[2])
	i := bytes.Index(flipped, []byte("SECRET_2"))
	flipped[i+len("SECRET_")] ^= 0x01 // SECRET_2 -> SECRET_3
	for _, tc := range []struct {
		name    string
		log     []byte
		records int
		line    int
		seq     uint64
		problem Problem
	}{
		{"intact", join(l...), 5, 0, 0, ""},
		{"flip a byte in record 3", join(l[0], l[1], flipped, l[3], l[4]), 2, 3, 3, ProblemMAC},
		{"delete record 3", join(l[0], l[1], l[3], l[4]), 2, 3, 4, ProblemSeq},
		{"delete record 1", join(l[1], l[2], l[3], l[4]), 0, 1, 2, ProblemSeq},
		{"swap records 2 and 3", join(l[0], l[2], l[1], l[3], l[4]), 1, 2, 3, ProblemSeq},
		{"duplicate record 2", join(l[0], l[1], l[1], l[2], l[3], l[4]), 2, 3, 2, ProblemSeq},
		{"duplicate record 5 at the end", join(l[0], l[1], l[2], l[3], l[4], l[4]), 5, 6, 5, ProblemSeq},
		{"bad JSON line", join(l[0], l[1], []byte("{not json}\n"), l[2]), 2, 3, 3, ProblemMalformed},
		{"empty line", join(l[0], []byte("\n"), l[1]), 1, 2, 2, ProblemMalformed},
		{"CRLF line end", join(l[0], bytes.Replace(l[1], []byte("\n"), []byte("\r\n"), 1)), 1, 2, 2, ProblemMalformed},
		{"line too long", join(l[0], bytes.Repeat([]byte("x"), MaxLineSize+10), []byte("\n"), l[1]), 1, 2, 2, ProblemMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := verifyBytes(t, tc.log, testKey("a"))
			if res.OK != (tc.problem == "") || res.Records != tc.records || res.BadLine != tc.line ||
				res.BadSeq != tc.seq || res.Problem != tc.problem {
				t.Errorf("verify = %+v\nwant OK=%v records=%d line=%d seq=%d problem=%q",
					res, tc.problem == "", tc.records, tc.line, tc.seq, tc.problem)
			}
			if tc.problem != "" && res.Reason == "" {
				t.Error("no reason given")
			}
			if res.Incomplete {
				t.Error("reported incomplete")
			}
		})
	}
}

// Every single-byte change anywhere in a record is caught at that record.
func TestVerifyEveryByteFlip(t *testing.T) {
	l := fiveLines(t)
	for i := 0; i < len(l[2])-1; i++ { // not the "\n"
		for _, mask := range []byte{0x01, 0x20, 0x80} {
			m := bytes.Clone(l[2])
			m[i] ^= mask
			if m[i] == '\n' {
				continue
			}
			res := verifyBytes(t, join(l[0], l[1], m, l[3], l[4]), testKey("a"))
			if res.OK || res.BadLine != 3 || res.Records != 2 {
				t.Fatalf("byte %d ^ %#x: verify = %+v, want record at line 3 bad", i, mask, res)
			}
		}
	}
}

// A genuine record from another log under the same key (a log that was
// removed and started again) has the right seq and MAC; only prev tells.
func TestVerifyRecordFromAnotherLog(t *testing.T) {
	a := fiveLines(t)
	path := filepath.Join(t.TempDir(), "other.log")
	other := openTest(t, path)
	for i := range 5 {
		if _, err := other.Append(usedRecord(fmt.Sprintf("OTHER_%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	b := readLines(t, path)
	res := verifyBytes(t, join(a[0], a[1], b[2], a[3], a[4]), testKey("a"))
	if res.OK || res.Problem != ProblemPrev || res.BadLine != 3 || res.BadSeq != 3 || res.Records != 2 {
		t.Errorf("verify = %+v, want prev mismatch at line 3", res)
	}
	res = verifyBytes(t, join(a[0], a[1], a[2], a[3], b[4]), testKey("a"))
	if res.OK || res.Problem != ProblemPrev || res.BadLine != 5 {
		t.Errorf("last record replaced: verify = %+v, want prev mismatch at line 5", res)
	}
}

func TestVerifyWrongKey(t *testing.T) {
	l := fiveLines(t)
	res := verifyBytes(t, join(l...), testKey("other"))
	if res.OK || res.Problem != ProblemMAC || res.BadLine != 1 || res.BadSeq != 1 {
		t.Errorf("verify with another key = %+v, want MAC mismatch at line 1", res)
	}
}

// A record re-chained by hand (seq and prev right, MAC from another key)
// is still caught by its MAC.
func TestVerifyForgedRecord(t *testing.T) {
	dir := t.TempDir()
	real := openTest(t, filepath.Join(dir, "real.log"))
	appendN(t, real, 2)
	forger, err := Open(filepath.Join(dir, "real.log"), testKey("forger"))
	if err != nil {
		t.Fatal(err)
	}
	defer forger.Close()
	if _, err := forger.Append(usedRecord("FORGED")); err != nil {
		t.Fatal(err)
	}
	res := verifyFile(t, filepath.Join(dir, "real.log"), testKey("a"))
	if res.OK || res.Problem != ProblemMAC || res.BadLine != 3 || res.BadSeq != 3 {
		t.Errorf("verify = %+v, want MAC mismatch at line 3", res)
	}
}

// A bad record and an incomplete last line are both reported.
func TestVerifyBadThenIncomplete(t *testing.T) {
	l := fiveLines(t)
	res := verifyBytes(t, join(l[0], l[2], l[3][:20]), testKey("a"))
	if res.OK || !res.Incomplete || res.BadLine != 2 || res.Problem != ProblemSeq {
		t.Errorf("verify = %+v, want bad line 2 and incomplete", res)
	}
}

func TestVerifyEmpty(t *testing.T) {
	res := verifyBytes(t, nil, testKey("a"))
	if !res.OK || res.Records != 0 || res.Incomplete {
		t.Errorf("verify of an empty log = %+v", res)
	}
}

func TestParseRecordStrict(t *testing.T) {
	l := fiveLines(t)
	good := bytes.TrimSuffix(l[1], []byte("\n"))
	if _, err := ParseRecord(good); err != nil {
		t.Fatalf("valid line: %v", err)
	}
	replace := func(old, new string) []byte {
		if !bytes.Contains(good, []byte(old)) {
			t.Fatalf("line has no %q", old)
		}
		return bytes.Replace(good, []byte(old), []byte(new), 1)
	}
	for name, line := range map[string][]byte{
		"empty":             {},
		"array":             []byte("[1]"),
		"leading space":     append([]byte(" "), good...),
		"trailing space":    append(bytes.Clone(good), ' '),
		"two objects":       append(append(bytes.Clone(good), ' '), good...),
		"unknown field":     replace(`"via":`, `"extra":1,"via":`),
		"duplicate field":   replace(`"via":"exec"`, `"via":"exec","via":"cli"`),
		"field case":        replace(`"via":`, `"VIA":`),
		"null field":        replace(`"secret":"SECRET_1"`, `"secret":null`),
		"nested unknown":    replace(`"uid":1000`, `"uid":1000,"root":true`),
		"nested duplicate":  replace(`"uid":1000`, `"uid":1000,"uid":0`),
		"invalid utf8":      replace(`SECRET_1`, "SECRET_\xff"),
		"seq zero":          replace(`"seq":2`, `"seq":0`),
		"seq negative":      replace(`"seq":2`, `"seq":-2`),
		"seq string":        replace(`"seq":2`, `"seq":"2"`),
		"no time":           replace(`"time":"2024-06-12T14:31:02Z"`, `"time":"0001-01-01T00:00:00Z"`),
		"bad time":          replace(`"time":"2024-06-12T14:31:02Z"`, `"time":"yesterday"`),
		"unknown event":     replace(`"event":"used"`, `"event":"exploded"`),
		"unknown via":       replace(`"via":"exec"`, `"via":"mail"`),
		"unknown result":    replace(`"result":"ok"`, `"result":"maybe"`),
		"prev not hex":      replace(`"prev":"`, `"prev":"Z`),
		"mac uppercase hex": append(bytes.Clone(good[:len(good)-66]), bytes.ToUpper(good[len(good)-66:])...),
		"mac short":         append(bytes.Clone(good[:len(good)-3]), `"}`...),
	} {
		if _, err := ParseRecord(line); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}

	// A record without process or context, and the same with them null.
	minimal, err := json.Marshal(Record{Seq: 1, Time: time.Unix(1, 0).UTC(), Event: EventLocked, Via: ViaCLI,
		Result: ResultOK, MAC: strings.Repeat("0", 64)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseRecord(minimal); err != nil {
		t.Fatalf("minimal record: %v", err)
	}
	for _, field := range []string{"process", "context"} {
		line := bytes.Replace(minimal, []byte(`"result"`), []byte(`"`+field+`":null,"result"`), 1)
		if _, err := ParseRecord(line); err == nil {
			t.Errorf("null %s: parsed", field)
		}
	}
}

func TestReadRecords(t *testing.T) {
	l := fiveLines(t)
	recs, err := ReadRecords(bytes.NewReader(join(l[0], l[1], l[2][:10])))
	if err != nil || len(recs) != 2 {
		t.Errorf("with a partial last line: %d records, err %v; want 2, nil", len(recs), err)
	}
	_, err = ReadRecords(bytes.NewReader(join(l[0], []byte("{}\n"), l[1])))
	if err == nil || !strings.HasPrefix(err.Error(), "line 2: ") {
		t.Errorf("with a bad line 2: err = %v, want one naming line 2", err)
	}
	_, err = ReadRecords(bytes.NewReader(join(l[0], bytes.Repeat([]byte("{"), 2*MaxLineSize), []byte("\n"))))
	if err == nil || !strings.HasPrefix(err.Error(), "line 2: ") {
		t.Errorf("with a long line 2: err = %v, want one naming line 2", err)
	}
	recs, err = ReadRecords(bytes.NewReader(nil))
	if err != nil || len(recs) != 0 {
		t.Errorf("empty: %d records, err %v", len(recs), err)
	}
}

func TestLineReaderLongLines(t *testing.T) {
	in := join(
		[]byte("short\n"),
		bytes.Repeat([]byte("a"), MaxLineSize), []byte("\n"), // exactly the limit
		bytes.Repeat([]byte("b"), MaxLineSize+1), []byte("\n"), // one over
		[]byte("tail"),
	)
	lr := newLineReader(bytes.NewReader(in))
	type got struct {
		n          int
		term, long bool
	}
	var gots []got
	for {
		line, term, long, err := lr.next()
		if err != nil {
			break
		}
		gots = append(gots, got{len(line), term, long})
	}
	want := []got{{5, true, false}, {MaxLineSize, true, false}, {0, true, true}, {4, false, false}}
	if fmt.Sprint(gots) != fmt.Sprint(want) {
		t.Errorf("lines = %v, want %v", gots, want)
	}
}
