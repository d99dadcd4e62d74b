package store

import "time"

// Wrong-passphrase delays, as OpenSSH's agent has them.
const (
	BackoffStep = 100 * time.Millisecond // added for each wrong attempt in a row
	MaxBackoff  = 10 * time.Second       // the longest wait
)

// Backoff is the wait after wrong passphrases: each wrong attempt in a row
// waits BackoffStep longer than the last, up to MaxBackoff; a right one
// starts the count again. It is not safe for concurrent use: its users
// serialise unlock attempts, delays included, so that the delay holds back
// every caller, not only the one who guessed wrong. The zero value is
// ready.
type Backoff struct {
	wrong int
}

// Wrong records a wrong attempt and returns how long to wait before
// answering it.
func (b *Backoff) Wrong() time.Duration {
	if b.wrong < int(MaxBackoff/BackoffStep) {
		b.wrong++
	}
	return time.Duration(b.wrong) * BackoffStep
}

// Right records a right attempt: the next wrong one waits BackoffStep.
func (b *Backoff) Right() { b.wrong = 0 }
