package exec

import (
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
)

// signals is how a process catches the signals Supervise forwards: once,
// the first time a run needs them, for the rest of its life. Notify and
// Stop on every run would cost, per signal, an exchange with the thread
// that keeps the signal mask, on the way to the child and back. While a
// child runs, each signal goes to the channel of every run (forward);
// otherwise it does what it would have done uncaught: it ends the process
// (the runtime gets it back and it is sent again), or nothing when it was
// ignored (SIGWINCH; one the process started with ignored, as under
// nohup).
var signals struct {
	once    sync.Once
	caught  atomic.Bool // catchSignals ran
	mu      sync.Mutex
	ignored map[os.Signal]bool
	runs    map[chan os.Signal]bool
}

// catchSignals makes the process catch the forwarded signals, once.
func catchSignals() {
	signals.once.Do(func() {
		signals.ignored = map[os.Signal]bool{syscall.SIGWINCH: true}
		for _, s := range forwarded {
			if signal.Ignored(s) {
				signals.ignored[s] = true
			}
		}
		signals.runs = map[chan os.Signal]bool{}
		c := make(chan os.Signal, 16)
		signal.Notify(c, forwarded...)
		go dispatchSignals(c)
		signals.caught.Store(true)
	})
}

// releaseSignals gives the forwarded signals back the dispositions the
// process started with, once caught, for an exec that replaces it: a
// signal ignored then (nohup, a background job's SIGINT) stays ignored
// in the program.
func releaseSignals() {
	if signals.caught.Load() {
		signal.Reset(forwarded...)
	}
}

func dispatchSignals(c chan os.Signal) {
	for s := range c {
		deliverSignal(s, uncaught)
	}
}

// deliverSignal gives s to the runs, or to uncaught when there is none
// and s is not ignored.
func deliverSignal(s os.Signal, uncaught func(os.Signal)) {
	signals.mu.Lock()
	defer signals.mu.Unlock()
	for r := range signals.runs {
		select {
		case r <- s:
		default: // full: as signal.Notify drops it
		}
	}
	if len(signals.runs) == 0 && !signals.ignored[s] {
		uncaught(s)
	}
}

// uncaught ends the process by s as the runtime would have: it gets s
// back and s is sent again.
func uncaught(s os.Signal) {
	signal.Reset(s)
	syscall.Kill(os.Getpid(), s.(syscall.Signal))
}

// forwardSignals returns the channel that gets the forwarded signals
// until stop.
func forwardSignals() (sigc chan os.Signal, stop func()) {
	catchSignals()
	sigc = make(chan os.Signal, 16)
	signals.mu.Lock()
	signals.runs[sigc] = true
	signals.mu.Unlock()
	return sigc, func() {
		signals.mu.Lock()
		delete(signals.runs, sigc)
		signals.mu.Unlock()
	}
}
