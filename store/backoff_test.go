package store

import (
	"slices"
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	var b Backoff
	var got []time.Duration
	for range 3 {
		got = append(got, b.Wrong())
	}
	if want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond}; !slices.Equal(got, want) {
		t.Errorf("delays %v, want %v", got, want)
	}
	b.Right()
	if d := b.Wrong(); d != BackoffStep {
		t.Errorf("after a right attempt: %v, want %v", d, BackoffStep)
	}
	for range 200 {
		b.Wrong()
	}
	if d := b.Wrong(); d != MaxBackoff {
		t.Errorf("after many: %v, want the cap %v", d, MaxBackoff)
	}
}
