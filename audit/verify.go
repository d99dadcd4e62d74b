package audit

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
)

// Problem classifies the first bad record Verify finds.
type Problem string

// The problems Verify tells apart.
const (
	// ProblemMalformed: the line is not a record (bad JSON, unknown or
	// duplicate field, invalid value, too long, mac not the last field).
	ProblemMalformed Problem = "malformed"
	// ProblemMAC: the record's bytes do not match its MAC: it was edited,
	// or written without the key.
	ProblemMAC Problem = "mac"
	// ProblemSeq: the seq is not the one after the previous record's: a
	// record is missing, duplicated or out of order.
	ProblemSeq Problem = "seq"
	// ProblemPrev: prev is not the hash of the previous line: a record
	// was removed, replaced or reordered.
	ProblemPrev Problem = "prev"
)

// VerifyResult is what Verify found.
//
// OK and Incomplete are independent: OK says whether every complete record
// verifies (tampering when false); Incomplete says the log ends with a
// partial line left by an interrupted append, which is not a record and not
// tampering. A log can be OK and Incomplete at once. A last line that is a
// whole record without its "\n" is a record, checked and counted.
type VerifyResult struct {
	Records    int     // records that verified, before any bad one
	OK         bool    // every complete record verified
	BadSeq     uint64  // seq of the first bad record: as it claims, or the expected one when it cannot be parsed
	BadLine    int     // 1-based line number of the first bad record
	Problem    Problem // kind of the first bad record; "" when OK
	Reason     string  // what is wrong with it, for a human
	Incomplete bool    // the last line has no "\n" and is not a whole record: an append was interrupted

	// NoFinalNewline: the last record is whole and checked, but lacks its
	// "\n" (an append interrupted after its last byte but one). The next
	// append keeps it and adds the "\n".
	NoFinalNewline bool
}

// Verify reads a whole log and checks every line: strict parse, MAC,
// seq (1, 2, 3... without gaps or repeats) and prev (hash of the line
// before). It stops checking at the first bad record and names it; it
// still reads to the end to tell whether the last line is incomplete.
// The error is for a failure to read r or a bad key, never for the
// content of the log. Memory is bounded by MaxLineSize.
func Verify(r io.Reader, key []byte) (VerifyResult, error) {
	if len(key) != KeySize {
		return VerifyResult{}, errBadKey
	}
	var (
		res      VerifyResult
		lastSeq  uint64
		prevHash string
		bad      bool
	)
	fail := func(line int, seq uint64, p Problem, reason string) {
		bad = true
		res.BadLine, res.BadSeq, res.Problem, res.Reason = line, seq, p, reason
	}
	lr := newLineReader(r)
	for n := 1; ; n++ {
		line, terminated, long, err := lr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return VerifyResult{}, fmt.Errorf("read audit log: %w", err)
		}
		if !terminated && !long {
			// Only the last line can lack "\n". A whole record that lacks
			// only its "\n" is checked as any other (the next append keeps
			// it); anything else is what an interrupted append left.
			if _, err := ParseRecord(line); err != nil {
				res.Incomplete = true
				break
			}
			res.NoFinalNewline = true
		}
		if bad {
			continue
		}
		if long {
			fail(n, lastSeq+1, ProblemMalformed, fmt.Sprintf("line longer than %d bytes", MaxLineSize))
			continue
		}
		rec, err := ParseRecord(line)
		if err != nil {
			fail(n, lastSeq+1, ProblemMalformed, err.Error())
			continue
		}
		if p, reason := checkMAC(key, line, rec.MAC); p != "" {
			fail(n, rec.Seq, p, reason)
			continue
		}
		want := lastSeq + 1
		switch {
		case rec.Seq < want:
			fail(n, rec.Seq, ProblemSeq, fmt.Sprintf("seq %d after seq %d: a record is duplicated or out of order", rec.Seq, lastSeq))
			continue
		case rec.Seq > want && lastSeq == 0:
			fail(n, rec.Seq, ProblemSeq, fmt.Sprintf("first record has seq %d, want 1: records before it are missing", rec.Seq))
			continue
		case rec.Seq > want:
			fail(n, rec.Seq, ProblemSeq, fmt.Sprintf("seq %d after seq %d: a record is missing or out of order", rec.Seq, lastSeq))
			continue
		}
		if rec.Prev != prevHash {
			if n == 1 {
				fail(n, rec.Seq, ProblemPrev, "first record has a prev hash: records before it are missing")
			} else {
				fail(n, rec.Seq, ProblemPrev, fmt.Sprintf("prev is not the hash of line %d: a record was removed, replaced or reordered", n-1))
			}
			continue
		}
		lastSeq = rec.Seq
		prevHash = lineHash(line)
		res.Records++
	}
	res.OK = !bad
	return res, nil
}

// checkMAC checks that line ends with the mac field holding mac and that
// mac is the HMAC of the line with its digits removed.
func checkMAC(key, line []byte, mac string) (Problem, string) {
	const tail = 64 + 2 // hex digits, then `"}`
	if len(line) < len(macField)+tail {
		return ProblemMalformed, "mac is not the last field"
	}
	head := line[:len(line)-tail]
	if !bytes.HasSuffix(head, []byte(macField)) || string(line[len(line)-tail:len(line)-2]) != mac ||
		string(line[len(line)-2:]) != `"}` {
		return ProblemMalformed, "mac is not the last field"
	}
	want, err := hex.DecodeString(mac)
	if err != nil {
		return ProblemMalformed, "mac is not hex"
	}
	m := hmac.New(sha256.New, key)
	m.Write(head)
	m.Write([]byte(`"}`))
	if !hmac.Equal(m.Sum(nil), want) {
		return ProblemMAC, "MAC mismatch: the record was modified, or written without the key"
	}
	return "", ""
}
