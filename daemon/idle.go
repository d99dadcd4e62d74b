package daemon

import (
	"sync"
	"sync/atomic"
	"time"
)

// idleLock calls lock once nothing touched it for the idle time. A touch
// is an atomic store, cheap enough for every signature; the timer wakes up
// at most once per idle period and goes back to sleep for what is left
// when there was a touch meanwhile.
type idleLock struct {
	after time.Duration
	lock  func(idle time.Duration)
	last  atomic.Int64 // unix nanoseconds of the last touch

	mu    sync.Mutex
	timer *time.Timer
	on    bool
}

func newIdleLock(after time.Duration, lock func(idle time.Duration)) *idleLock {
	return &idleLock{after: after, lock: lock}
}

// start begins counting idle time; it does nothing when after is 0.
func (l *idleLock) start() {
	if l.after <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.last.Store(time.Now().UnixNano())
	if l.timer != nil {
		l.timer.Stop()
	}
	l.on = true
	l.timer = time.AfterFunc(l.after, l.check)
}

// stop stops counting.
func (l *idleLock) stop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.on = false
	if l.timer != nil {
		l.timer.Stop()
		l.timer = nil
	}
}

func (l *idleLock) touch() {
	if l.after > 0 {
		l.last.Store(time.Now().UnixNano())
	}
}

func (l *idleLock) check() {
	l.mu.Lock()
	if !l.on {
		l.mu.Unlock()
		return
	}
	idle := time.Since(time.Unix(0, l.last.Load()))
	if idle < l.after {
		l.timer = time.AfterFunc(l.after-idle, l.check)
		l.mu.Unlock()
		return
	}
	l.on, l.timer = false, nil
	l.mu.Unlock()
	l.lock(idle)
}
