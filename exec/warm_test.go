package exec

import (
	"os"
	"syscall"
	"testing"
	"time"
)

// After warmUp, SIGWINCH (ignored by default) is caught for good: the
// signal machinery is up before Supervise asks for the signals it
// forwards, and the process is not the worse for it.
func TestWarmUp(t *testing.T) {
	warmUp()()
	warmUp()() // once per process
	for len(warmSignals) > 0 {
		<-warmSignals
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGWINCH); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-warmSignals:
		if s != syscall.SIGWINCH {
			t.Errorf("got %v, want SIGWINCH", s)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("SIGWINCH did not arrive on warmSignals")
	}
}
