package audit

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/wsxdev/wsx/internal/hint"
)

// ErrTampered is what WriteVerify returns for a log that fails its check,
// once said.
var ErrTampered = errors.New("audit log tampered")

// Show is `wsx audit`: the records of the log at path that f matches, one
// line each in local time, or as JSON lines. A store without a log yet
// shows nothing.
func Show(w io.Writer, path string, f Filter, asJSON bool) error {
	file, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		if home := filepath.Dir(path); !exists(home) {
			return hint.With(fmt.Errorf("no store in %s", home), "create one with `wsx init`")
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("open audit log: %w", err)
	}
	defer file.Close()
	recs, err := ReadRecords(file)
	if err != nil {
		return hint.With(fmt.Errorf("read audit log: %w", err), "`wsx audit verify` checks the whole log")
	}
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	for _, r := range recs {
		if !f.Match(r) {
			continue
		}
		if asJSON {
			if err := enc.Encode(r); err != nil {
				return err
			}
			continue
		}
		r.Time = r.Time.In(time.Local)
		fmt.Fprintln(bw, r.String())
	}
	return bw.Flush()
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// WriteVerify is `wsx audit verify` once the log was checked (by the
// process that holds its MAC key): res said on w, and ErrTampered when
// the check failed.
func WriteVerify(w io.Writer, res VerifyResult) error {
	if res.Records == 0 && res.OK && !res.Incomplete {
		fmt.Fprintln(w, "audit log is empty")
		return nil
	}
	if !res.OK {
		fmt.Fprintf(w, "audit log TAMPERED: record %d (line %d): %s\n", res.BadSeq, res.BadLine, res.Reason)
		return hint.Said{Err: ErrTampered}
	}
	fmt.Fprintf(w, "audit log OK: %d records\n", res.Records)
	if res.Incomplete {
		fmt.Fprintln(w, "note: the last record is incomplete (an append was interrupted, e.g. by a crash); the next append replaces it")
	}
	if res.NoFinalNewline {
		fmt.Fprintln(w, "note: the last record lacks its final newline (an append was interrupted after writing it); it is kept, and the next append adds the newline")
	}
	return nil
}
