package daemon

import (
	"fmt"
	"sync"
	"time"

	"github.com/wsxdev/wsx/audit"
	"github.com/wsxdev/wsx/sshagent"
)

// UnlockBurstGap ends a burst of wrong ssh-add -X passphrases: attempts
// closer together than this make one audit record.
const UnlockBurstGap = 30 * time.Second

// unlockFailures counts the wrong passphrases of the current burst.
type unlockFailures struct {
	mu    sync.Mutex
	n     int
	peer  sshagent.Peer
	first time.Time
	timer *time.Timer
}

// unlockFailed is the SSH agent's OnUnlockFailed. The burst's record is
// written when the burst ends (UnlockBurstGap after its last attempt), at
// the next lock or unlock, or when the agent stops; while the store is
// locked (no log to write to) it waits for the next unlock.
func (d *Daemon) unlockFailed(p sshagent.Peer) {
	f := &d.failures
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n == 0 {
		f.first = time.Now()
	}
	f.n++
	f.peer = p
	if f.timer == nil {
		f.timer = time.AfterFunc(UnlockBurstGap, d.flushUnlockFailures)
	} else {
		f.timer.Reset(UnlockBurstGap)
	}
}

// flushUnlockFailures writes the record of the current burst, if any,
// when the audit log is open.
func (d *Daemon) flushUnlockFailures() {
	f := &d.failures
	f.mu.Lock()
	n, p, first := f.n, f.peer, f.first
	if n == 0 {
		f.mu.Unlock()
		return
	}
	if _, err := d.currentLog(); err != nil {
		f.mu.Unlock()
		return
	}
	f.n = 0
	if f.timer != nil {
		f.timer.Stop()
		f.timer = nil
	}
	f.mu.Unlock()
	r := audit.Record{Event: audit.EventDenied, Via: audit.ViaAgent, Result: audit.ResultDenied,
		Detail: fmt.Sprintf("%d wrong passphrases to unlock the SSH agent (ssh-add -X) since %s", n, first.UTC().Format(time.RFC3339)),
		Actor:  d.actor(p.UID)}
	if p.PID > 0 {
		if proc, err := audit.ProcessInfo(p.PID); err == nil {
			proc.Argv = audit.MaskArgv(proc.Argv, d.maskValues())
			r.Process = &proc
		} else {
			r.Process = &audit.Process{PID: p.PID}
		}
	}
	d.record(r)
}
