//go:build race

package external

// raceEnabled: the race detector's runtime waits a second at exit.
const raceEnabled = true
