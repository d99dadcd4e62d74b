package cmd

import (
	"github.com/wsxdev/wsx/audit"
	"github.com/wsxdev/wsx/secrets"
)

// auditOptions are the flags of `wsx audit`.
type auditOptions struct {
	Secret   string
	Since    string
	JSON     bool
	Accessed bool // where each secret was read, not the records
}

func (s *session) runAudit(o auditOptions) error {
	f := audit.Filter{Secret: o.Secret}
	if o.Since != "" {
		t, err := secrets.ParseSince(o.Since, s.env.Now())
		if err != nil {
			return err
		}
		f.Since = t
	}
	if o.Accessed {
		recs, err := audit.ReadLog(auditPath(s.home))
		if err != nil {
			return err
		}
		return audit.ShowReads(s.env.Stdout, recs, f, o.JSON)
	}
	return audit.Show(s.env.Stdout, auditPath(s.home), f, o.JSON)
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
