package secrets

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/wsxdev/wsx/audit"
	"github.com/wsxdev/wsx/internal/remind"
	"github.com/wsxdev/wsx/store"
)

// RotationInfo is where a secret stands in its rotation at a given time.
type RotationInfo struct {
	LastSet  time.Time
	Due      time.Time // zero when the secret has no rotation period
	HasDue   bool
	Overdue  bool
	DaysLeft int // whole days until due; negative when overdue
}

func RotationAt(m store.Meta, now time.Time) RotationInfo {
	r := RotationInfo{LastSet: m.LastSet()}
	if due, ok := m.RotationDue(); ok {
		r.Due, r.HasDue = due, true
		r.Overdue = now.After(due)
		r.DaysLeft = int(due.Sub(now) / day)
	}
	return r
}

// RotationState is the rotation column of list and status: `due in 12d`,
// `OVERDUE 5d` or `-`, and `old value kept` while a rotation is neither
// finished nor undone.
func RotationState(m store.Meta, now time.Time) string {
	st := DescribeRotation(m, now)
	if m.Previous != nil {
		st += ", old value kept"
	}
	return st
}

// StatusJSON is the --json form of a status row. Fields are only ever
// added.
type StatusJSON struct {
	Name            string     `json:"name"`
	Type            store.Type `json:"type"`
	LastSet         time.Time  `json:"last_set"`
	AgeDays         int        `json:"age_days"`
	RotateEvery     string     `json:"rotate_every"`
	Due             *time.Time `json:"due"`
	DaysLeft        *int       `json:"days_left"` // negative when overdue
	Overdue         bool       `json:"overdue"`
	State           string     `json:"state"`
	RotationPending bool       `json:"rotation_pending"`
	PreviousVersion uint64     `json:"previous_version,omitempty"`
	// NeverRead: `wsx exec` gave it to programs for NeverReadAfter and
	// none read it (audit.NeverRead); a candidate for removal.
	NeverRead bool `json:"never_read,omitempty"`
}

// NeverReadAfter is how long `wsx exec` must have given a secret to
// programs, none of which read it, before status names it.
const NeverReadAfter = 90 * day

// SortByUrgency orders secrets most overdue first, then by due date, then
// those without a rotation period, by name.
func SortByUrgency(metas []store.Meta) {
	sort.SliceStable(metas, func(i, j int) bool {
		di, oki := metas[i].RotationDue()
		dj, okj := metas[j].RotationDue()
		switch {
		case oki != okj:
			return oki
		case oki && !di.Equal(dj):
			return di.Before(dj)
		}
		return metas[i].Name < metas[j].Name
	})
}

// Status is `wsx status`: each secret's age and rotation, overdue first.
func (f *Flows) Status(asJSON bool) error {
	metas, err := f.Store.List()
	if de, ok := errors.AsType[*store.DamagedError](err); ok {
		// Secrets that cannot be read do not hide the others' ages.
		for _, w := range de.Warnings() {
			fmt.Fprintf(f.Stderr, "wsx: %s\n", w)
		}
		err = nil
	}
	if err != nil {
		return err
	}
	now := f.Now()
	SortByUrgency(metas)
	unread := f.neverRead(now)
	if asJSON {
		out := make([]StatusJSON, 0, len(metas))
		for _, m := range metas {
			r := RotationAt(m, now)
			j := StatusJSON{
				Name: m.Name, Type: m.Type, LastSet: r.LastSet, AgeDays: int(now.Sub(r.LastSet) / day),
				RotateEvery: FormatPeriod(m.RotateEvery), Overdue: r.Overdue, State: DescribeRotation(m, now),
				RotationPending: m.Previous != nil, NeverRead: slices.Contains(unread, m.Name),
			}
			if r.HasDue {
				due, left := r.Due, r.DaysLeft
				j.Due, j.DaysLeft = &due, &left
			}
			if m.Previous != nil {
				j.PreviousVersion = m.Previous.Version
			}
			out = append(out, j)
		}
		return WriteJSON(f.Stdout, out)
	}
	if len(metas) == 0 {
		fmt.Fprintln(f.Stderr, "wsx: no secrets yet; add one with `wsx add NAME`")
		return nil
	}
	tw := newTable(f.Stdout, 2)
	fmt.Fprintln(tw, "NAME\tTYPE\tAGE\tEVERY\tDUE\tSTATUS")
	overdue, pending := 0, []string{}
	for _, m := range metas {
		r := RotationAt(m, now)
		due := "-"
		if r.HasDue {
			due = r.Due.Local().Format(time.DateOnly)
		}
		if r.Overdue {
			overdue++
		}
		if m.Previous != nil {
			pending = append(pending, m.Name)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", m.Name, m.Type, FormatAge(now.Sub(r.LastSet)),
			FormatPeriod(m.RotateEvery), due, RotationState(m, now))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if overdue > 0 {
		fmt.Fprintf(f.Stderr, "wsx: %d of %d secrets are overdue for rotation; give each a new value with `wsx rotate NAME`\n", overdue, len(metas))
	}
	for _, n := range pending {
		fmt.Fprintf(f.Stderr, "wsx: %s keeps its value from before the last rotation: `wsx rotate %s --finish` deletes it once the new one works, `--undo` brings it back\n", n, n)
	}
	for _, m := range metas {
		if slices.Contains(unread, m.Name) {
			fmt.Fprintf(f.Stderr, "wsx: %s was given to programs by `wsx exec` for %d days and none read it: a candidate for removal (`wsx audit --accessed` shows what is read)\n",
				m.Name, NeverReadAfter/day)
		}
	}
	return nil
}

// neverRead lists the secrets `wsx exec` gave programs for NeverReadAfter
// that none read, from the audit log; none when it cannot be read.
func (f *Flows) neverRead(now time.Time) []string {
	if f.AuditPath == "" {
		return nil
	}
	recs, err := audit.ReadLog(f.AuditPath)
	if err != nil {
		return nil
	}
	return audit.NeverRead(recs, now, NeverReadAfter)
}

// RemindersFile is the state of the overdue reminders under WSX_HOME
// (remind.File).
const RemindersFile = remind.File

// Reminder prints the overdue reminders of one store (remind.Reminder).
type Reminder remind.Reminder

// Remind prints one line on stderr for each secret of metas that is
// overdue for rotation, at most once a day per secret (remind.Reminder).
func (r Reminder) Remind(metas []store.Meta) { remind.Reminder(r).Remind(Reminders(metas)) }

// Reminders is what a reminder needs of metas.
func Reminders(metas []store.Meta) []remind.Secret {
	out := make([]remind.Secret, len(metas))
	for i, m := range metas {
		out[i] = remind.Secret{Name: m.Name, Created: m.Created, Rotated: m.Rotated, RotateEvery: m.RotateEvery}
	}
	return out
}
