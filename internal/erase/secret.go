//go:build goexperiment.runtimesecret

package erase

import "runtime/secret"

// Enabled reports whether Do erases.
const Enabled = true

// Do runs f; see the package doc.
func Do(f func()) { secret.Do(f) }
