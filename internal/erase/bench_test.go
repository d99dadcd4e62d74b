package erase

import "testing"

// BenchmarkStack is the cost Stack adds to each SSH agent request.
func BenchmarkStack(b *testing.B) {
	for b.Loop() {
		Stack()
	}
}
