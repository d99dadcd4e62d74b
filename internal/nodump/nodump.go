// Package nodump keeps a wsx process that may hold a value out of core
// files and out of reach of same-user debuggers: it is non-dumpable (no
// ptrace attach, /proc/PID/mem and environ owned by root) and its core
// file size limit is 0. Programs wsx starts get back the core limit wsx was
// started with; non-dumpable is reset by execve anyway.
package nodump

import (
	"fmt"
	"sync"

	"golang.org/x/sys/unix"
)

var (
	mu       sync.Mutex
	origCore *unix.Rlimit // the core limit at Process, nil before
)

// Process makes this process non-dumpable and sets its soft core file size
// limit to 0. The hard limit stays, so a child can be given the original
// soft limit back (ForChild).
func Process() error {
	mu.Lock()
	defer mu.Unlock()
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl PR_SET_DUMPABLE: %w", err)
	}
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_CORE, &lim); err != nil {
		return fmt.Errorf("getrlimit RLIMIT_CORE: %w", err)
	}
	if origCore == nil {
		origCore = &lim
	}
	if err := unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{Cur: 0, Max: lim.Max}); err != nil {
		return fmt.Errorf("setrlimit RLIMIT_CORE: %w", err)
	}
	return nil
}

// ForChild gives this process the core limit it had before Process, for a
// child about to be forked or exec'd to inherit, and returns the function
// that sets it back to 0. The process stays non-dumpable meanwhile, which
// alone keeps it out of core files (fs.suid_dumpable 0, the default). Before
// Process, or where the hard limit was lowered since, it changes nothing.
func ForChild() (restore func()) {
	mu.Lock()
	if origCore == nil || origCore.Cur == 0 {
		mu.Unlock()
		return func() {}
	}
	if unix.Setrlimit(unix.RLIMIT_CORE, origCore) != nil {
		mu.Unlock()
		return func() {}
	}
	return func() {
		var lim unix.Rlimit
		if unix.Getrlimit(unix.RLIMIT_CORE, &lim) == nil {
			_ = unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{Cur: 0, Max: lim.Max})
		}
		mu.Unlock()
	}
}
