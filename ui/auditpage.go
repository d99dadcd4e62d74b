package ui

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/wsxdev/wsx/audit"
)

// Audit page limits.
const (
	maxAuditRows  = 500 // records listed, newest first
	defaultDays   = 30  // the chart's days without a filter
	maxChartDays  = 366
	maxChartNames = 8 // secrets drawn apart; the others are summed as "others"
)

// auditRow is a record as the audit page lists it.
type auditRow struct {
	Time                              time.Time
	Event, Secret, Via, Result, Where string
	Process, Detail                   string
	Denied                            bool
}

type auditData struct {
	Secret, Since, Until string
	Names                []string
	Rows                 []auditRow
	Matched              int
	Chart                chart
}

// where is the record's context in short: file and line, command, host,
// destination.
func where(r audit.Record) string {
	c := r.Context
	if c == nil {
		return ""
	}
	var parts []string
	if c.File != "" {
		f := c.File
		if c.Line > 0 {
			f += fmt.Sprintf(":%d", c.Line)
		}
		parts = append(parts, f)
	}
	for _, v := range []string{c.Command, c.Host, c.Dest, c.Repo} {
		if v != "" {
			parts = append(parts, v)
		}
	}
	return strings.Join(parts, " · ")
}

func process(r audit.Record) string {
	if r.Process == nil {
		return ""
	}
	if len(r.Process.Argv) > 0 {
		return fmt.Sprintf("%d %s", r.Process.PID, strings.Join(r.Process.Argv, " "))
	}
	return fmt.Sprintf("%d %s", r.Process.PID, r.Process.Exe)
}

// parseDay reads a filter date (YYYY-MM-DD, local time).
func parseDay(s string) (time.Time, error) {
	t, err := time.ParseInLocation(time.DateOnly, s, time.Local)
	if err != nil {
		return time.Time{}, fmt.Errorf("date %q: use YYYY-MM-DD", s)
	}
	return t, nil
}

// audit lists the records the filter selects (secret, from and to
// dates), newest first, over a chart of uses per day per secret.
func (s *Server) audit(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := auditData{Secret: q.Get("secret"), Since: q.Get("since"), Until: q.Get("until")}
	v := view{Title: "Audit", Nav: "audit", Data: &d}
	now := s.opts.Now().Local()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.Local)
	from, to := today.AddDate(0, 0, -(defaultDays-1)), today.AddDate(0, 0, 1)
	var since, until time.Time
	var err error
	if d.Since != "" {
		if since, err = parseDay(d.Since); err != nil {
			v.Error = err.Error()
		} else {
			from = since
		}
	}
	if d.Until != "" {
		if until, err = parseDay(d.Until); err != nil {
			v.Error = joinErr(v.Error, err.Error())
		} else {
			until = until.AddDate(0, 0, 1)
			to = until
			if d.Since == "" {
				from = to.AddDate(0, 0, -defaultDays)
			}
		}
	}
	if to.Sub(from) > maxChartDays*24*time.Hour {
		from = to.AddDate(0, 0, -maxChartDays)
	}
	recs, err := s.opts.Backend.AuditRecords()
	if err != nil {
		v.Error = joinErr(v.Error, err.Error())
	}
	names := map[string]bool{}
	var uses []audit.Record
	for i := len(recs) - 1; i >= 0; i-- {
		rec := recs[i]
		if rec.Secret != "" {
			names[rec.Secret] = true
		}
		if d.Secret != "" && rec.Secret != d.Secret {
			continue
		}
		if !since.IsZero() && rec.Time.Before(since) || !until.IsZero() && !rec.Time.Before(until) {
			continue
		}
		if rec.Event == audit.EventUsed && !rec.Time.Before(from) && rec.Time.Before(to) {
			uses = append(uses, rec)
		}
		d.Matched++
		if len(d.Rows) < maxAuditRows {
			d.Rows = append(d.Rows, auditRow{Time: rec.Time, Event: string(rec.Event), Secret: rec.Secret, Via: rec.Via,
				Result: rec.Result, Where: where(rec), Process: process(rec), Detail: rec.Detail,
				Denied: rec.Result != audit.ResultOK})
		}
	}
	for n := range names {
		d.Names = append(d.Names, n)
	}
	slices.Sort(d.Names)
	d.Chart = usesChart(uses, from, to)
	s.render(w, http.StatusOK, "audit", v)
}
