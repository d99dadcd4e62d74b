package secrets

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"syscall"
	"time"

	"github.com/wsxdev/wsx/audit"
	"github.com/wsxdev/wsx/store"
	"github.com/wsxdev/wsx/store/atomicfile"
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

// RemindersFile is the state of the overdue reminders under WSX_HOME: the
// last time each secret was named in one. It holds names and times only.
const RemindersFile = "reminders.json"

// maxReminders bounds what is read of the reminders file.
const maxReminders = 1 << 20

// Reminder prints the overdue reminders of one store.
type Reminder struct {
	Home   string // the store's home, where reminders.json lives
	UID    int    // the owner reminders.json must have
	Stderr io.Writer
	Now    func() time.Time
}

// Remind prints one line on stderr for each secret of metas that is
// overdue for rotation, at most once a day per secret. Callers that release
// secrets (exec, the credential helper, the agent) pass the metadata of
// what they release. The times of the last reminders are kept in
// WSX_HOME/reminders.json (0600); when it cannot be read or written the
// reminder is printed anyway.
func (r Reminder) Remind(metas []store.Meta) {
	now := r.Now()
	var due []store.Meta
	for _, m := range metas {
		if RotationAt(m, now).Overdue {
			due = append(due, m)
		}
	}
	if len(due) == 0 {
		return
	}
	path := filepath.Join(r.Home, RemindersFile)
	last := readReminders(path, r.UID)
	changed := false
	for _, m := range due {
		if t, ok := last[m.Name]; ok && !now.Before(t) && now.Sub(t) < day {
			continue
		}
		ri := RotationAt(m, now)
		fmt.Fprintf(r.Stderr, "wsx: reminder: %s was due for rotation %s ago (every %s); give it a new value with `wsx rotate %s`\n",
			m.Name, FormatAge(now.Sub(ri.Due)), FormatPeriod(m.RotateEvery), m.Name)
		last[m.Name] = now
		changed = true
	}
	if !changed {
		return
	}
	for n, t := range last {
		if now.Sub(t) >= day || t.After(now) {
			delete(last, n) // no longer holds a reminder back
		}
	}
	writeReminders(path, last)
}

// readReminders reads the reminders file; a missing, foreign, oversized or
// malformed file counts as empty.
func readReminders(path string, uid int) map[string]time.Time {
	out := map[string]time.Time{}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return out
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o077 != 0 {
		return out
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); !ok || int(st.Uid) != uid {
		return out
	}
	b, err := io.ReadAll(io.LimitReader(f, maxReminders+1))
	if err != nil || len(b) > maxReminders {
		return out
	}
	var m map[string]time.Time
	d := json.NewDecoder(bytes.NewReader(b))
	if d.Decode(&m) != nil {
		return out
	}
	for n, t := range m {
		if store.ValidateName(n) == nil {
			out[n] = t
		}
	}
	return out
}

// writeReminders replaces the reminders file atomically, mode 0600.
func writeReminders(path string, m map[string]time.Time) {
	b, err := json.Marshal(m)
	if err != nil {
		return
	}
	atomicfile.WriteFile(path, b, 0o600)
}
