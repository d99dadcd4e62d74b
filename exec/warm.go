package exec

import (
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// warmSignals is where SIGWINCH goes once a process has begun a
// supervised run, for good: its default is to be ignored, so catching it
// changes nothing anyone could see, and the runtime's signal machinery
// (a goroutine on a thread of its own that keeps the signal mask, one
// that reads the queue) is then up before Supervise asks for the signals
// it forwards.
var (
	warmSignals = make(chan os.Signal, 1)
	warmOnce    sync.Once
)

// warmUp starts, beside the request for the values, the set-up a
// process's first supervised child costs whatever the answer: os/signal's
// start-up (warmSignals), and the check os makes that pidfds work (it
// clones a child that exits at once) before it starts its first child.
// The wait it returns waits for it.
func warmUp() (wait func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		warmOnce.Do(func() {
			signal.Notify(warmSignals, syscall.SIGWINCH)
			if p, err := os.FindProcess(os.Getpid()); err == nil {
				p.Release()
			}
		})
	}()
	return func() { <-done }
}
