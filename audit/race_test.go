//go:build race

package audit

// raceEnabled: the tests run under the race detector, which slows every
// process they start several times over.
const raceEnabled = true
