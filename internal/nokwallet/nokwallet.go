// Package nokwallet keeps 99designs/keyring's package initialisers from
// asking D-Bus for what wsx does not need in every wsx process.
//
// keyring's KWallet backend, which wsx never uses, connects to the session
// bus in its initialiser unless DISABLE_KWALLET=1: this package sets it.
// Its Secret Service backend, which wsx may use, connects too, to register
// itself: where no session bus can be found (no DBUS_SESSION_BUS_ADDRESS,
// no /run/user/UID/bus or dbus-session), godbus looks up the user in
// /etc/passwd and then runs dbus-launch, which starts a new bus with no
// keyring on it, for this one process. There this package sets
// DBUS_SESSION_BUS_ADDRESS to an address godbus refuses without any I/O,
// so the backend stays unregistered (as it would with no dbus-launch), and
// a store on the secret-service backend reports it unavailable at once.
// Both cost start-up on every command; on a desktop, a whole D-Bus
// handshake each.
//
// Go initialises, at each step, the first package in import-path order
// whose imports are all initialised. This package imports only os, while
// keyring waits for godbus, which waits for net (after os, and after this
// package's path): so this init always runs before keyring's. Restore
// takes the variables back out before anything else reads the environment,
// so no child sees them.
package nokwallet

import "os"

const (
	name = "DISABLE_KWALLET"
	bus  = "DBUS_SESSION_BUS_ADDRESS"
	// noBus is an address godbus refuses at once: a transport it does
	// not know.
	noBus = "wsx-no-session-bus:"
)

// set and busSet say init set the variable (it was not set before).
var set, busSet bool

func init() {
	if _, ok := os.LookupEnv(name); !ok {
		set = os.Setenv(name, "1") == nil
	}
	if _, ok := os.LookupEnv(bus); !ok && !busFile(os.Getuid(), exists) {
		busSet = os.Setenv(bus, noBus) == nil
	}
}

// busFile reports whether godbus, with no address in the environment,
// finds a session bus in the files it looks at before running
// dbus-launch.
func busFile(uid int, exists func(string) bool) bool {
	dir := "/run/user/" + itoa(uid) + "/"
	return exists(dir+"bus") || exists(dir+"dbus-session")
}

// exists is godbus's test: anything but "does not exist" counts.
func exists(path string) bool {
	_, err := os.Stat(path)
	return !os.IsNotExist(err)
}

func itoa(n int) string {
	if n < 0 {
		return "-" + itoa(-n)
	}
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		if n /= 10; n == 0 {
			return string(b[i:])
		}
	}
}

// Restore unsets what init set. main calls it first.
func Restore() {
	if set {
		os.Unsetenv(name)
		set = false
	}
	if busSet {
		os.Unsetenv(bus)
		busSet = false
	}
}
