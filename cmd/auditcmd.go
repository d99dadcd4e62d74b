package cmd

import (
	"github.com/wsxdev/wsx/audit"
	"github.com/wsxdev/wsx/secrets"
)

// runAudit is `wsx audit` (audit.Print), --since read as a duration or a
// date.
func (s *session) runAudit(f audit.Filter, since string, asJSON, accessed bool) error {
	if since != "" {
		t, err := secrets.ParseSince(since, s.env.Now())
		if err != nil {
			return err
		}
		f.Since = t
	}
	return audit.Print(s.env.Stdout, auditPath(s.home), f, asJSON, accessed)
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
	return audit.WriteVerify(s.env.Stdout, res)
}
