// Package nokwallet keeps 99designs/keyring from asking D-Bus for KWallet
// in every wsx process. keyring's KWallet backend, which wsx never uses,
// connects to the session bus in its package initialiser unless
// DISABLE_KWALLET=1 (and, with no bus address set, godbus looks for
// dbus-launch); that is start-up cost on every command, and on a desktop a
// whole D-Bus handshake.
//
// Go initialises, at each step, the first package in import-path order
// whose imports are all initialised. This package imports only os, while
// keyring waits for godbus, which waits for net (after os, and after this
// package's path): so this init always runs before keyring's. Restore
// takes the variable back out before anything else reads the environment,
// so no child sees it.
package nokwallet

import "os"

const name = "DISABLE_KWALLET"

// set says init set the variable (it was not set before).
var set bool

func init() {
	if _, ok := os.LookupEnv(name); !ok {
		set = os.Setenv(name, "1") == nil
	}
}

// Restore unsets what init set. main calls it first.
func Restore() {
	if set {
		os.Unsetenv(name)
		set = false
	}
}
