// Package oneproc runs `wsx exec` and `wsx shell` on one P (GOMAXPROCS=1)
// from the start, unless GOMAXPROCS is set: a run through the agent is a
// chain of waits (the agent's answer, the child, its output), and with a
// second P every wake-up starts or wakes another thread, which costs more
// than the work; set from the start, the runtime never makes the second
// P (setting it later costs more than it saves: the second P's caches
// are given back span by span). Restore gives the process the runtime's
// default back where parallel work comes: the store's KDF run here,
// output heavy enough to fill a pipe.
//
// Go initialises, at each step, the first package in import-path order
// whose imports are all initialised; this package imports only os,
// runtime and sync, so its init runs early, before most of the packages
// wsx links start goroutines.
package oneproc

import (
	"os"
	"runtime"
	"sync"
)

var (
	set  bool
	once sync.Once
)

func init() {
	set = apply(os.Args, os.LookupEnv)
}

// apply sets GOMAXPROCS to 1 for argv `wsx exec ...` and `wsx shell
// ...` when the environment does not set it, and says whether it did.
func apply(argv []string, lookup func(string) (string, bool)) bool {
	if len(argv) < 2 || argv[1] != "exec" && argv[1] != "shell" {
		return false
	}
	if _, ok := lookup("GOMAXPROCS"); ok {
		return false
	}
	runtime.GOMAXPROCS(1)
	return true
}

// Restore sets GOMAXPROCS to the runtime's default, once, when this
// package set it to 1.
func Restore() {
	once.Do(func() {
		if set {
			runtime.SetDefaultGOMAXPROCS()
		}
	})
}

// Pin runs the process on one P until the returned function puts the
// earlier setting back, unless the environment sets GOMAXPROCS: for work
// that passes between goroutines, each hand-off waking no other thread
// (the exec proxy's requests).
func Pin() (unpin func()) {
	if _, ok := os.LookupEnv("GOMAXPROCS"); ok {
		return func() {}
	}
	procs := runtime.GOMAXPROCS(1)
	return func() { runtime.GOMAXPROCS(procs) }
}
