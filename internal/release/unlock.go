package release

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/wsxdev/wsx/audit"
)

// A wrong passphrase cannot be recorded when it happens: the log's MACs
// are keyed by the store it failed to unlock. It is noted in a file beside
// the log instead (NoteFailedUnlock), and the next unlock that succeeds
// writes one `denied` record for the whole burst (RecordFailedUnlocks).
// The file holds times, pids and paths, never a passphrase; forging it can
// only add a record.

// failuresName is the file of noted failures, beside the audit log.
const failuresName = "unlock-failures"

// maxFailures bounds the failures the file keeps; later ones are counted
// as the last.
const maxFailures = 4096

// failure is one line of the failures file.
type failure struct {
	Time time.Time `json:"time"`
	Via  string    `json:"via"`
	PID  int       `json:"pid"`
}

func failuresPath(logPath string) string { return filepath.Join(filepath.Dir(logPath), failuresName) }

// NoteFailedUnlock notes a wrong passphrase given through via by process
// pid, for the audit log at logPath.
func NoteFailedUnlock(logPath, via string, pid int, now time.Time) error {
	f, err := os.OpenFile(failuresPath(logPath), os.O_WRONLY|os.O_APPEND|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return fmt.Errorf("note a failed unlock: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > maxFailures*128 {
		return nil
	}
	b, _ := json.Marshal(failure{Time: now.UTC(), Via: via, PID: pid})
	_, err = f.Write(append(b, '\n'))
	return err
}

// FailedUnlocksNoted reports whether wrong passphrases wait to be recorded
// in the audit log at logPath.
func FailedUnlocksNoted(logPath string) bool {
	_, err := os.Lstat(failuresPath(logPath))
	return err == nil
}

// RecordFailedUnlocks writes one `denied` record for the wrong
// passphrases noted since the last unlock, if any, and forgets them.
func (s *Store) RecordFailedUnlocks() error {
	path := failuresPath(s.log.Path())
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var n int
	var first, last failure
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var fl failure
		if json.Unmarshal(sc.Bytes(), &fl) != nil {
			continue
		}
		if n == 0 {
			first = fl
		}
		last = fl
		n++
	}
	f.Close()
	if n > 0 {
		via := last.Via
		switch via {
		case audit.ViaCLI, audit.ViaExec, audit.ViaCredential, audit.ViaAgent, audit.ViaAPI, audit.ViaUI:
		default:
			via = audit.ViaCLI
		}
		r := audit.Record{Event: audit.EventDenied, Via: via, Result: audit.ResultDenied, Actor: s.self.Actor,
			Detail: fmt.Sprintf("%d wrong passphrase(s) from %s to %s", n,
				first.Time.Format(time.RFC3339), last.Time.Format(time.RFC3339))}
		if last.PID > 0 {
			r.Process = &audit.Process{PID: last.PID}
		}
		if _, err := s.Append(r); err != nil {
			return err
		}
		if s.durable {
			if err := s.log.Sync(); err != nil {
				return err
			}
		}
	}
	return os.Remove(path)
}
