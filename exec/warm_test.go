package exec

import (
	"fmt"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// While a run forwards, each caught signal reaches it; once it stopped,
// SIGWINCH (ignored by default) does nothing.
func TestForwardSignals(t *testing.T) {
	warmUp()()
	c, stop := forwardSignals()
	if err := syscall.Kill(os.Getpid(), syscall.SIGWINCH); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-c:
		if s != syscall.SIGWINCH {
			t.Errorf("got %v, want SIGWINCH", s)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("SIGWINCH did not reach the run")
	}
	stop()
	// One while no run forwards, given as the dispatcher gives it: sent
	// with kill, it would reach the dispatcher at a time not known, maybe
	// after the next run began.
	deliverSignal(syscall.SIGWINCH, func(s os.Signal) { t.Errorf("%v outside a run: not ignored", s) })
	d, stop := forwardSignals() // the SIGWINCH before is not this run's
	defer stop()
	if err := syscall.Kill(os.Getpid(), syscall.SIGWINCH); err != nil {
		t.Fatal(err)
	}
	select {
	case <-d:
	case <-time.After(10 * time.Second):
		t.Fatal("SIGWINCH did not reach the second run")
	}
	if len(c) != 0 || len(d) != 0 {
		t.Errorf("%d signals after the first run stopped, %d more in the second", len(c), len(d))
	}
}

// Outside a run, a signal goes to uncaught unless ignored (SIGWINCH, and
// one ignored when the process started); during runs, to each of them.
func TestDeliverSignal(t *testing.T) {
	catchSignals()
	// As if the process started with SIGUSR1 ignored and TERM and INT
	// not (a shell starts a background job with INT ignored).
	signals.mu.Lock()
	saved := maps.Clone(signals.ignored)
	signals.ignored[syscall.SIGUSR1] = true
	delete(signals.ignored, syscall.SIGTERM)
	delete(signals.ignored, syscall.SIGINT)
	signals.mu.Unlock()
	defer func() {
		signals.mu.Lock()
		signals.ignored = saved
		signals.mu.Unlock()
	}()
	var got []os.Signal
	record := func(s os.Signal) { got = append(got, s) }
	for _, s := range []os.Signal{syscall.SIGWINCH, syscall.SIGUSR1, syscall.SIGTERM, syscall.SIGINT} {
		deliverSignal(s, record)
	}
	if want := []os.Signal{syscall.SIGTERM, syscall.SIGINT}; !slices.Equal(got, want) {
		t.Errorf("outside a run: %v uncaught, want %v", got, want)
	}
	got = nil
	c, stop := forwardSignals()
	d, stopD := forwardSignals()
	for _, s := range []os.Signal{syscall.SIGUSR1, syscall.SIGTERM} {
		deliverSignal(s, record)
	}
	stop()
	stopD()
	if len(got) != 0 || len(c) != 2 || len(d) != 2 || <-c != syscall.SIGUSR1 || <-d != syscall.SIGUSR1 {
		t.Errorf("during two runs: %v uncaught, %d and %d forwarded; want both signals to each run", got, len(c), len(d))
	}
}

// Outside a run, a caught signal does what it would have done uncaught:
// SIGTERM ends the process by SIGTERM; a signal the process started with
// ignored (nohup) is ignored.
func TestSignalsOutsideRun(t *testing.T) {
	if mode := os.Getenv("WSX_TEST_SIGNALS"); mode != "" {
		signalsHelper(mode)
		return
	}
	for _, mode := range []string{"term", "ignored"} {
		t.Run(mode, func(t *testing.T) {
			argv := []string{os.Args[0], "-test.run=^TestSignalsOutsideRun$"}
			if mode == "ignored" {
				argv = append([]string{"sh", "-c", `trap "" HUP; exec "$@"`, "sh"}, argv...)
			}
			cmd := exec.Command(argv[0], argv[1:]...)
			cmd.Env = append(os.Environ(), "WSX_TEST_SIGNALS="+mode)
			out, err := cmd.CombinedOutput()
			ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
			if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGTERM || !strings.Contains(string(out), "forwarded") {
				t.Errorf("helper: %v, %+v; output %q; want it forwarded, then ended by SIGTERM", err, cmd.ProcessState, out)
			}
		})
	}
}

func signalsHelper(mode string) {
	self := os.Getpid()
	c, stop := forwardSignals()
	syscall.Kill(self, syscall.SIGTERM)
	select {
	case <-c:
		fmt.Println("forwarded")
	case <-time.After(10 * time.Second):
		os.Exit(3)
	}
	stop()
	if mode == "ignored" {
		syscall.Kill(self, syscall.SIGHUP) // nothing: ignored at start
	}
	syscall.Kill(self, syscall.SIGTERM)
	<-time.After(10 * time.Second)
	os.Exit(4)
}
