package oneproc

import (
	"os"
	"runtime"
	"testing"
)

func TestApply(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	none := func(string) (string, bool) { return "", false }
	for _, tc := range []struct {
		argv []string
		env  func(string) (string, bool)
		want bool
	}{
		{[]string{"wsx", "exec", "--", "true"}, none, true},
		{[]string{"wsx", "shell"}, none, true},
		{[]string{"wsx", "agent", "-s"}, none, false},
		{[]string{"wsx"}, none, false},
		{[]string{"wsx", "exec", "--", "true"}, func(string) (string, bool) { return "4", true }, false},
	} {
		runtime.GOMAXPROCS(2)
		got := apply(tc.argv, tc.env)
		procs := runtime.GOMAXPROCS(0)
		if got != tc.want || (procs == 1) != tc.want {
			t.Errorf("apply(%q) = %v, GOMAXPROCS %d; want %v", tc.argv, got, procs, tc.want)
		}
	}
}

func TestRestore(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	runtime.SetDefaultGOMAXPROCS()
	want := runtime.GOMAXPROCS(0)
	if want == 1 {
		t.Skip("the default is one P here")
	}
	runtime.GOMAXPROCS(1)
	set = true
	Restore()
	if got := runtime.GOMAXPROCS(0); got != want {
		t.Errorf("GOMAXPROCS %d after Restore, want the default %d", got, want)
	}
}

func TestPin(t *testing.T) {
	if _, ok := os.LookupEnv("GOMAXPROCS"); ok {
		t.Skip("GOMAXPROCS is set: Pin leaves it")
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(3))
	unpin := Pin()
	if n := runtime.GOMAXPROCS(0); n != 1 {
		t.Errorf("pinned: GOMAXPROCS %d, want 1", n)
	}
	unpin()
	if n := runtime.GOMAXPROCS(0); n != 3 {
		t.Errorf("unpinned: GOMAXPROCS %d, want 3 as before", n)
	}
}
