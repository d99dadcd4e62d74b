// Package remind tells the user, on stderr, of the secrets overdue for
// rotation among those just released: at most once a day per secret. When
// each was last named is kept in WSX_HOME/reminders.json (names and times
// only). It imports nothing heavy, so git-credential-wsx can remind as
// every wsx command does.
package remind

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/wsxdev/wsx/store/atomicfile"
)

// File is the state of the reminders under WSX_HOME: the last time each
// secret was named in one.
const File = "reminders.json"

// maxFile bounds what is read of File.
const maxFile = 1 << 20

const day = 24 * time.Hour

// Secret is what a reminder needs of a secret. Its JSON names are
// store.Meta's, so the metadata of a secret decodes as a Secret.
type Secret struct {
	Name        string        `json:"name"`
	Created     time.Time     `json:"created"`
	Rotated     time.Time     `json:"rotated,omitzero"`
	RotateEvery time.Duration `json:"rotate_every,omitempty"` // 0: none
}

// due is when s is due for rotation, as store.Meta.RotationDue says.
func (s Secret) due() (time.Time, bool) {
	from := s.Rotated
	if from.IsZero() {
		from = s.Created
	}
	if s.RotateEvery <= 0 || from.IsZero() {
		return time.Time{}, false
	}
	return from.Add(s.RotateEvery), true
}

// Reminder prints the overdue reminders of one store.
type Reminder struct {
	Home   string // the store's home, where File lives
	UID    int    // the owner File must have
	Stderr io.Writer
	Now    func() time.Time
}

// Remind prints one line on stderr for each of secs that is overdue for
// rotation, unless one named it less than a day ago. Callers that release
// secrets (exec, the credential helper) pass what they release. When File
// cannot be read or written the reminder is printed anyway.
func (r Reminder) Remind(secs []Secret) {
	now := r.Now()
	var overdue []Secret
	for _, s := range secs {
		if due, ok := s.due(); ok && now.After(due) {
			overdue = append(overdue, s)
		}
	}
	if len(overdue) == 0 {
		return
	}
	path := filepath.Join(r.Home, File)
	last := read(path, r.UID)
	changed := false
	for _, s := range overdue {
		if t, ok := last[s.Name]; ok && !now.Before(t) && now.Sub(t) < day {
			continue
		}
		due, _ := s.due()
		fmt.Fprintf(r.Stderr, "wsx: reminder: %s was due for rotation %s ago (every %s); give it a new value with `wsx rotate %s`\n",
			s.Name, FormatAge(now.Sub(due)), FormatPeriod(s.RotateEvery), s.Name)
		last[s.Name] = now
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
	if b, err := json.Marshal(last); err == nil {
		atomicfile.WriteFile(path, b, 0o600)
	}
}

// read reads File; a missing, foreign, oversized or malformed file counts
// as empty. Its names are only looked up, never printed.
func read(path string, uid int) map[string]time.Time {
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
	b, err := io.ReadAll(io.LimitReader(f, maxFile+1))
	if err != nil || len(b) > maxFile {
		return out
	}
	var m map[string]time.Time
	if json.Unmarshal(b, &m) != nil || m == nil {
		return out
	}
	return m
}

// FormatPeriod prints a rotation period: 90d, or never.
func FormatPeriod(d time.Duration) string {
	if d == 0 {
		return "never"
	}
	if d%day == 0 {
		return fmt.Sprintf("%dd", d/day)
	}
	return d.String()
}

// FormatAge prints how long ago t was, coarsely: 5m, 3h, 12d.
func FormatAge(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < day:
		return fmt.Sprintf("%dh", int(d/time.Hour))
	}
	return fmt.Sprintf("%dd", int(d/day))
}
