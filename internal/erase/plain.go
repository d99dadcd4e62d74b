//go:build !goexperiment.runtimesecret

package erase

// Do runs f, then overwrites the stack f used; see the package doc.
func Do(f func()) {
	f()
	clearStack()
}
