package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// MaxLineSize is the largest line, without its "\n", that the log holds.
// Append refuses a record whose line would be longer; readers reject one.
const MaxLineSize = 64 << 10

// errMalformed is wrapped by the errors of ParseRecord and ReadRecords for
// a line that is not a valid record.
var errMalformed = errors.New("malformed audit record")

// ParseRecord parses one line of the log, without its "\n". It is strict:
// the line must be a single JSON object of valid UTF-8 with only the keys
// of Record (exact case, none twice, no null), known event, via and result
// values, a seq of at least 1, a time, and prev and mac in hex form. It does
// not check the MAC or the chain; Verify does.
func ParseRecord(line []byte) (Record, error) {
	if len(line) > MaxLineSize {
		return Record{}, fmt.Errorf("%w: line longer than %d bytes", errMalformed, MaxLineSize)
	}
	if len(line) == 0 || line[0] != '{' || line[len(line)-1] != '}' {
		return Record{}, fmt.Errorf("%w: not a JSON object line", errMalformed)
	}
	if !utf8.Valid(line) {
		return Record{}, fmt.Errorf("%w: invalid UTF-8", errMalformed)
	}
	if err := checkKeys(line); err != nil {
		return Record{}, fmt.Errorf("%w: %w", errMalformed, err)
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	var r Record
	if err := dec.Decode(&r); err != nil {
		return Record{}, fmt.Errorf("%w: %w", errMalformed, err)
	}
	if dec.More() {
		return Record{}, fmt.Errorf("%w: data after the record", errMalformed)
	}
	if err := validate(r); err != nil {
		return Record{}, fmt.Errorf("%w: %w", errMalformed, err)
	}
	if !isHex64(r.MAC) {
		return Record{}, fmt.Errorf("%w: mac is not 64 lowercase hex digits", errMalformed)
	}
	return r, nil
}

// ReadRecords reads a whole log and parses every line with ParseRecord. A
// last line without "\n" that does not parse is a record whose append was
// interrupted; it is not part of the log and is skipped (Verify reports
// it); one that parses lacks only its "\n" and is kept. Any other bad line
// is an error naming its line number. ReadRecords checks neither MACs nor
// the chain.
func ReadRecords(r io.Reader) ([]Record, error) {
	lr := newLineReader(r)
	var recs []Record
	for n := 1; ; n++ {
		line, terminated, long, err := lr.next()
		if err == io.EOF {
			return recs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read audit log: %w", err)
		}
		if long {
			return nil, fmt.Errorf("line %d: %w: line longer than %d bytes", n, errMalformed, MaxLineSize)
		}
		rec, err := ParseRecord(line)
		if !terminated {
			// A partial line from an interrupted append is no record; a
			// whole one that lacks only its "\n" is.
			if err == nil {
				recs = append(recs, rec)
			}
			return recs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		recs = append(recs, rec)
	}
}

// validate checks the fields of a record that do not depend on the chain.
func validate(r Record) error {
	if r.Seq == 0 {
		return errors.New("seq must be at least 1")
	}
	if r.Time.IsZero() {
		return errors.New("time is missing")
	}
	if y := r.Time.Year(); y < 1 || y > 9999 {
		return fmt.Errorf("time year %d out of range", y)
	}
	if !knownEvent(r.Event) {
		return fmt.Errorf("unknown event %q", r.Event)
	}
	switch r.Via {
	case ViaCLI, ViaExec, ViaCredential, ViaAgent, ViaAPI, ViaProxy, ViaUI:
	default:
		return fmt.Errorf("unknown via %q", r.Via)
	}
	switch r.Result {
	case ResultOK, ResultDenied, ResultError:
	default:
		return fmt.Errorf("unknown result %q", r.Result)
	}
	if r.Prev != "" && !isHex64(r.Prev) {
		return errors.New("prev is not 64 lowercase hex digits")
	}
	return nil
}

func knownEvent(e Event) bool {
	switch e {
	case EventPassphrase, EventFetched, EventGranted, EventRevoked:
		return true
	case EventCreated, EventUpdated, EventRotated, EventDeleted, EventUsed,
		EventAccessed, EventDenied, EventLocked, EventUnlocked, EventLeaked:
		return true
	}
	return false
}

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// schema lists, for a JSON object, its allowed keys and the schema of the
// keys whose values are objects themselves (nil for other values).
type schema map[string]schema

var timeType = reflect.TypeFor[time.Time]()

// schemaOf builds the schema of a struct type from its json tags.
func schemaOf(t reflect.Type) schema {
	s := schema{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct && ft != timeType {
			s[name] = schemaOf(ft)
		} else {
			s[name] = nil
		}
	}
	return s
}

// recordSchema is made at the first parse (not at every wsx start) and
// read-only after.
var recordSchema = sync.OnceValue(func() schema { return schemaOf(reflect.TypeFor[Record]()) })

// checkKeys walks the tokens of a JSON object and rejects what
// encoding/json would silently accept: duplicate keys, keys that match a
// field only when case is ignored, and null values.
func checkKeys(line []byte) error {
	dec := json.NewDecoder(bytes.NewReader(line))
	if err := walkObject(dec, recordSchema(), 0); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the record")
	}
	return nil
}

const maxDepth = 8

func walkObject(dec *json.Decoder, s schema, depth int) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok != json.Delim('{') {
		return errors.New("expected an object")
	}
	seen := make(map[string]bool, len(s))
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		sub, ok := s[key]
		if !ok {
			return fmt.Errorf("unknown field %q", key)
		}
		if seen[key] {
			return fmt.Errorf("duplicate field %q", key)
		}
		seen[key] = true
		if sub != nil {
			if err := walkObject(dec, sub, depth+1); err != nil {
				return err
			}
			continue
		}
		if err := skipValue(dec, depth+1); err != nil {
			return err
		}
	}
	_, err = dec.Token() // '}'
	return err
}

// skipValue consumes one value, refusing null and deep nesting.
func skipValue(dec *json.Decoder, depth int) error {
	if depth > maxDepth {
		return errors.New("nested too deeply")
	}
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case nil:
		return errors.New("null value")
	case json.Delim('['):
		for dec.More() {
			if err := skipValue(dec, depth+1); err != nil {
				return err
			}
		}
		_, err = dec.Token()
		return err
	case json.Delim('{'):
		for dec.More() {
			if _, err := dec.Token(); err != nil { // key
				return err
			}
			if err := skipValue(dec, depth+1); err != nil {
				return err
			}
		}
		_, err = dec.Token()
		return err
	}
	return nil
}

// lineReader reads lines of at most MaxLineSize bytes without holding more
// than that in memory, whatever the input.
type lineReader struct {
	br  *bufio.Reader
	buf []byte
}

func newLineReader(r io.Reader) *lineReader {
	return &lineReader{br: bufio.NewReaderSize(r, 32<<10)}
}

// next returns the next line without its "\n". terminated is false for a
// last line without "\n". long reports a line over MaxLineSize, which is
// consumed and not returned. err is io.EOF when no bytes are left. The
// returned slice is valid until the next call.
func (lr *lineReader) next() (line []byte, terminated, long bool, err error) {
	lr.buf = lr.buf[:0]
	read := false
	for {
		frag, err := lr.br.ReadSlice('\n')
		if len(frag) > 0 {
			read = true
		}
		if !long {
			if len(lr.buf)+len(frag) > MaxLineSize+1 {
				long = true
				lr.buf = lr.buf[:0]
			} else {
				lr.buf = append(lr.buf, frag...)
			}
		}
		switch {
		case err == nil:
			if long {
				return nil, true, true, nil
			}
			return lr.buf[:len(lr.buf)-1], true, false, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err == io.EOF:
			if !read {
				return nil, false, false, io.EOF
			}
			if long {
				return nil, false, true, nil
			}
			if len(lr.buf) > MaxLineSize {
				return nil, false, true, nil
			}
			return lr.buf, false, false, nil
		default:
			return nil, false, false, err
		}
	}
}
