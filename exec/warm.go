package exec

import (
	"os"
)

// warmUp starts, beside the request for the values, what a process's
// first supervised child costs whatever the answer: catching the signals
// (os/signal's start-up: a goroutine on a thread of its own that keeps
// the signal mask, one that reads the queue), and the check os makes
// that pidfds work (it clones a child that exits at once) before it
// starts its first child. The wait it returns waits for it.
func warmUp() (wait func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		catchSignals()
		// os makes its pidfd check once, at its first FindProcess.
		if p, err := os.FindProcess(os.Getpid()); err == nil {
			p.Release()
		}
	}()
	return func() { <-done }
}
