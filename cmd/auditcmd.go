package cmd

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/wsxdev/wsx/audit"
	"github.com/wsxdev/wsx/secrets"
)

// auditOptions are the flags of `wsx audit`.
type auditOptions struct {
	Secret string
	Since  string
	JSON   bool
}

func (s *session) runAudit(o auditOptions) error {
	var f audit.Filter
	f.Secret = o.Secret
	if o.Since != "" {
		t, err := secrets.ParseSince(o.Since, s.env.Now())
		if err != nil {
			return err
		}
		f.Since = t
	}
	file, err := os.Open(auditPath(s.home))
	if errors.Is(err, fs.ErrNotExist) {
		if _, serr := os.Stat(s.home); serr != nil {
			return withHint(fmt.Errorf("no store in %s", s.home), "create one with `wsx init`")
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("open audit log: %w", err)
	}
	defer file.Close()
	recs, err := audit.ReadRecords(file)
	if err != nil {
		return withHint(fmt.Errorf("read audit log: %w", err), "`wsx audit verify` checks the whole log")
	}
	w := bufio.NewWriter(s.env.Stdout)
	enc := json.NewEncoder(w)
	for _, r := range recs {
		if !f.Match(r) {
			continue
		}
		if o.JSON {
			if err := enc.Encode(r); err != nil {
				return err
			}
			continue
		}
		r.Time = r.Time.In(time.Local)
		fmt.Fprintln(w, r.String())
	}
	return w.Flush()
}

func (s *session) runAuditVerify() error {
	st, err := s.unlocked()
	if err != nil {
		return err
	}
	// The MAC key stays where the store is unlocked: here, or in the
	// agent, which checks the log itself.
	res, err := st.VerifyAudit()
	if err != nil {
		return err
	}
	if res.Records == 0 && res.OK && !res.Incomplete {
		fmt.Fprintln(s.env.Stdout, "audit log is empty")
		return nil
	}
	if !res.OK {
		fmt.Fprintf(s.env.Stdout, "audit log TAMPERED: record %d (line %d): %s\n", res.BadSeq, res.BadLine, res.Reason)
		return exitError{Code: ExitError}
	}
	fmt.Fprintf(s.env.Stdout, "audit log OK: %d records\n", res.Records)
	if res.Incomplete {
		fmt.Fprintln(s.env.Stdout, "note: the last record is incomplete (an append was interrupted, e.g. by a crash); the next append replaces it")
	}
	if res.NoFinalNewline {
		fmt.Fprintln(s.env.Stdout, "note: the last record lacks its final newline (an append was interrupted after writing it); it is kept, and the next append adds the newline")
	}
	return nil
}
