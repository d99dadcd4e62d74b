package audit

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wsxdev/wsx/internal/mask"
)

// seedLog is a short valid log to seed the fuzzers with.
func seedLog(f *testing.F) []byte {
	f.Helper()
	path := filepath.Join(f.TempDir(), "audit.log")
	l := openTest(f, path)
	appendN(f, l, 3)
	return mustRead(f, path)
}

func FuzzParseRecord(f *testing.F) {
	log := seedLog(f)
	for _, line := range bytes.Split(log, []byte("\n")) {
		f.Add(line)
	}
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"seq":1,"seq":2}`))
	f.Add([]byte(`{"seq":1,"time":"2024-01-01T00:00:00Z","event":"used","actor":{"uid":0},"via":"cli","result":"ok","prev":"","mac":"` + strings.Repeat("0", 64) + `"}`))
	f.Add([]byte(`{"actor":{"uid":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}}`))
	f.Add([]byte("{\"secret\":\"\xff\"}"))
	f.Fuzz(func(t *testing.T, line []byte) {
		r, err := ParseRecord(line)
		if err != nil {
			return
		}
		// What parses re-encodes, and the encoding parses to the same.
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("parsed record does not encode: %v", err)
		}
		r2, err := ParseRecord(b)
		if err != nil {
			t.Fatalf("re-encoded record does not parse: %v", err)
		}
		b2, _ := json.Marshal(r2)
		if !bytes.Equal(b, b2) {
			t.Fatalf("encoding not stable:\n%s\n%s", b, b2)
		}
	})
}

func FuzzReadRecords(f *testing.F) {
	log := seedLog(f)
	f.Add(log)
	f.Add(log[:len(log)/2])
	f.Add(log[:len(log)-1])
	f.Add(append(bytes.Clone(log), log...))
	f.Add([]byte("\n\n\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, err := ReadRecords(bytes.NewReader(data))
		if err != nil {
			return
		}
		n := bytes.Count(data, []byte("\n"))
		if tail := data[bytes.LastIndexByte(data, '\n')+1:]; len(tail) > 0 {
			if _, err := ParseRecord(tail); err == nil {
				n++ // a whole record that lacks only its newline
			}
		}
		if len(recs) != n {
			t.Fatalf("%d records from %d whole lines", len(recs), n)
		}
	})
}

func FuzzVerify(f *testing.F) {
	log := seedLog(f)
	f.Add(log)
	f.Add(log[:len(log)-7])
	f.Add(log[:len(log)-1])
	lines := bytes.SplitAfter(log, []byte("\n"))
	f.Add(join(lines[1], lines[0], lines[2]))
	f.Add(join(lines[0], lines[0]))
	f.Add([]byte("{}\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := Verify(bytes.NewReader(data), testKey("a"))
		if err != nil {
			t.Fatalf("verify of in-memory data: %v", err)
		}
		complete := bytes.Count(data, []byte("\n"))
		if res.NoFinalNewline {
			complete++ // a whole last record without its newline
		}
		switch {
		case res.Records > complete:
			t.Fatalf("%d records verified from %d complete lines", res.Records, complete)
		case res.OK && (res.BadLine != 0 || res.Problem != "" || res.Records != complete):
			t.Fatalf("OK with %+v from %d complete lines", res, complete)
		case !res.OK && (res.BadLine != res.Records+1 || res.Problem == "" || res.Reason == ""):
			t.Fatalf("not OK but %+v", res)
		}
		unterminated := len(data) > 0 && data[len(data)-1] != '\n'
		if (res.Incomplete || res.NoFinalNewline) != unterminated || (res.Incomplete && res.NoFinalNewline) {
			t.Fatalf("Incomplete = %v, NoFinalNewline = %v for data ending %q", res.Incomplete, res.NoFinalNewline, data[max(0, len(data)-3):])
		}
	})
}

// Append then ReadRecords gives back the records as Append returned them,
// and Verify accepts the log.
func FuzzAppendRoundTrip(f *testing.F) {
	f.Add("GITHUB_TOKEN", "node\x00app.js", "app.js", 12, "role view", int64(1718202661))
	f.Add("", "", "", 0, "", int64(0))
	f.Add("X", "a\x00\xff\x00\u202e<>&\"\\", "\n\r\t", -3, "\x00", int64(-62135596800))
	f.Add("Y", strings.Repeat("a\x00", 200), strings.Repeat("\x01", 5000), 1<<40, "é", int64(253402300799))
	f.Fuzz(func(t *testing.T, secret, argv, file string, line int, detail string, unix int64) {
		path := filepath.Join(t.TempDir(), "audit.log")
		l := openTest(t, path)
		in := Record{
			Event:   EventUsed,
			Secret:  secret,
			Actor:   Actor{UID: line, User: detail},
			Via:     ViaAgent,
			Process: &Process{PID: 1, Argv: strings.Split(argv, "\x00")},
			Context: &Context{File: file, Line: line, Command: argv},
			Result:  ResultDenied,
			Detail:  detail,
		}
		if unix != 0 {
			in.Time = time.Unix(unix, 0)
		}
		var want []Record
		for range 2 {
			r, err := l.Append(in)
			if err != nil {
				// Only records that cannot be encoded within limits
				// may be refused, and then nothing is written.
				if len(mustRead(t, path)) != 0 && len(want) == 0 {
					t.Fatal("refused record left bytes in the log")
				}
				return
			}
			want = append(want, r)
		}
		got := readFileRecords(t, path)
		if !reflect.DeepEqual(got, want) {
			gb, _ := json.Marshal(got)
			wb, _ := json.Marshal(want)
			t.Fatalf("read back:\n%s\nappended:\n%s", gb, wb)
		}
		if res := verifyFile(t, path, testKey("a")); !res.OK || res.Records != 2 {
			t.Fatalf("verify = %+v", res)
		}
	})
}

// No value of mask.MinMaskLen bytes or more survives MaskArgv, and arguments
// without one are unchanged.
func FuzzMaskArgv(f *testing.F) {
	f.Add("--token=abcdabcd", "abcd", "cdab")
	f.Add("aaaaaaa", "aaaa", "aaaaa")
	f.Add("xyz", "xyzw", "")
	f.Fuzz(func(t *testing.T, arg, v1, v2 string) {
		values := [][]byte{[]byte(v1), []byte(v2)}
		got := MaskArgv([]string{arg}, values)[0]
		changed := false
		for _, v := range []string{v1, v2} {
			if len(v) < mask.MinMaskLen {
				continue
			}
			if strings.Contains(arg, v) {
				changed = true
			}
			// A value left whole outside the masks would be a leak; one
			// that reappears only by spanning "***" is not.
			for _, part := range strings.Split(got, "***") {
				if strings.Contains(part, v) {
					t.Fatalf("value survived masking")
				}
			}
		}
		if !changed && got != arg {
			t.Fatalf("argument without a value was changed")
		}
	})
}
