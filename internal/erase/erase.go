// Package erase runs the code that handles secrets so that what it leaves
// behind is erased: with Go's runtime/secret (GOEXPERIMENT=runtimesecret,
// not yet set by `make build`), the registers and stack f used are zeroed when
// it returns, and what it allocated on the heap is zeroed as soon as the
// garbage collector finds it unreachable. Built without the experiment,
// Do only calls f, and a locked agent's freed memory may keep copies
// until it is reused.
package erase
