package daemon

import (
	"sync"
	"time"

	"github.com/wsxdev/wsx/audit"
	"github.com/wsxdev/wsx/internal/release"
	"github.com/wsxdev/wsx/sshagent"
)

// UnlockBurstGap ends a burst of wrong ssh-add -X passphrases: attempts
// closer together than this make one audit record.
const UnlockBurstGap = 30 * time.Second

// unlockFailures holds the timer that ends the current burst.
type unlockFailures struct {
	mu    sync.Mutex
	timer *time.Timer
}

// unlockFailed is the SSH agent's OnUnlockFailed. Each wrong passphrase
// is noted as every wrong unlock is (release.NoteFailedUnlock); the
// burst's one `denied` record is written when the burst ends
// (UnlockBurstGap after its last attempt), or, while the store is locked,
// at the next unlock (release.Store.RecordFailedUnlocks).
func (d *Daemon) unlockFailed(p sshagent.Peer) {
	if err := release.NoteFailedUnlock(d.opts.AuditPath, audit.ViaAgent, p.PID, time.Now()); err != nil {
		d.logf("audit: %v", err)
	}
	f := &d.failures
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.timer == nil {
		f.timer = time.AfterFunc(UnlockBurstGap, d.flushUnlockFailures)
	} else {
		f.timer.Reset(UnlockBurstGap)
	}
}

// flushUnlockFailures writes the record of the wrong passphrases noted,
// if any, when the audit log is open.
func (d *Daemon) flushUnlockFailures() {
	f := &d.failures
	f.mu.Lock()
	if f.timer != nil {
		f.timer.Stop()
		f.timer = nil
	}
	f.mu.Unlock()
	rel, err := d.released()
	if err != nil {
		return
	}
	if err := rel.RecordFailedUnlocks(); err != nil {
		d.logf("audit: %v", err)
	}
}
