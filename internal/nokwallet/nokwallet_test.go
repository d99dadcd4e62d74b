package nokwallet

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestBusFile(t *testing.T) {
	seen := []string{}
	look := func(found string) func(string) bool {
		return func(p string) bool { seen = append(seen, p); return p == found }
	}
	if busFile(1000, look("")) {
		t.Error("a bus found where there is none")
	}
	if want := []string{"/run/user/1000/bus", "/run/user/1000/dbus-session"}; strings.Join(seen, " ") != strings.Join(want, " ") {
		t.Errorf("looked at %q, want godbus's places %q", seen, want)
	}
	for _, f := range []string{"/run/user/0/bus", "/run/user/0/dbus-session"} {
		if !busFile(0, look(f)) {
			t.Errorf("%s not taken for a bus", f)
		}
	}
	for n, s := range map[int]string{0: "0", 7: "7", 1000: "1000", 4294967294: "4294967294", -1: "-1"} {
		if got := itoa(n); got != s {
			t.Errorf("itoa(%d) = %q", n, got)
		}
	}
}

// In a process with no bus, init sets the address godbus refuses; with
// one set by the user it changes nothing; Restore leaves the environment
// as it found it.
func TestInitAndRestore(t *testing.T) {
	if os.Getenv("NOKWALLET_CHILD") == "1" {
		got := os.Getenv(bus) + "|" + os.Getenv(name)
		Restore()
		v, ok := os.LookupEnv(bus)
		os.Stdout.WriteString(got + "|" + v + "|" + map[bool]string{true: "set", false: "unset"}[ok] + "\n")
		return
	}
	if busFile(os.Getuid(), exists) {
		t.Skip("this machine has a session bus")
	}
	run := func(env ...string) string {
		c := exec.Command(os.Args[0], "-test.run", "^TestInitAndRestore$")
		c.Env = append([]string{"NOKWALLET_CHILD=1", "PATH=" + os.Getenv("PATH")}, env...)
		out, err := c.Output()
		if err != nil {
			t.Fatal(err)
		}
		return strings.SplitN(string(out), "\n", 2)[0]
	}
	if got, want := run(), noBus+"|1||unset"; got != want {
		t.Errorf("no bus: %q, want %q", got, want)
	}
	if got, want := run(bus+"=unix:path=/x"), "unix:path=/x|1|unix:path=/x|set"; got != want {
		t.Errorf("the user's bus: %q, want %q", got, want)
	}
}
