package sshagent

import "time"

// Clock is the agent's source of time: key lifetimes run on AfterFunc and
// failed unlocks wait with Sleep. Tests inject a fake one.
type Clock interface {
	Now() time.Time
	AfterFunc(d time.Duration, f func()) Timer
	Sleep(d time.Duration)
}

// Timer is a pending AfterFunc call.
type Timer interface {
	// Stop prevents the call if it has not run yet.
	Stop() bool
}

type realClock struct{}

func (realClock) Now() time.Time                            { return time.Now() }
func (realClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }
func (realClock) Sleep(d time.Duration)                     { time.Sleep(d) }
