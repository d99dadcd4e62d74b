//go:build goexperiment.runtimesecret

package erase

import "runtime/secret"

// Do runs f under runtime/secret; see the package doc.
func Do(f func()) { secret.Do(f) }
