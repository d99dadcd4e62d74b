// Package erase removes what code that handled secrets leaves behind in
// the process's memory, so that a locked agent holds no value and no key.
//
// Garbage, run when the agent locks, zeroes all memory the process no
// longer uses: freed heap objects (the copies libraries made: decoders,
// expanded keys, key caches, pooled buffers), free goroutine stacks and
// free pages. What is still referenced is not garbage: callers wipe or
// drop it first.
//
// Do runs a request handler and then overwrites the stack it used. Built
// with GOEXPERIMENT=runtimesecret (optional; `make build` does not set
// it), Do is runtime/secret's: registers are erased too, and the heap
// allocations f made are zeroed as soon as they are collected, before any
// lock.
package erase
