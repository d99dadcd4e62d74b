package oneproc

import (
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
