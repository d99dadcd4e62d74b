package exec

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// SECURITY 40: one entry per name, the injected value wins.
func TestBuildEnv(t *testing.T) {
	parent := []string{
		"PATH=/usr/bin",
		"TOKEN=parent-token",
		"HOME=/home/u",
		"TOKEN=parent-token-2",
		"DUP=1",
		"DUP=2",
		"noequals",
		"=empty-name",
		"WSX_EXEC=0",
		"EMPTY=",
	}
	secrets := []Injected{
		{Name: "TOKEN", Value: []byte("injected")},
		{Name: "NEW", Value: []byte("a=b=c")},
		{Name: "NEW", Value: []byte("second")},
		{Name: "BAD=NAME", Value: []byte("x")},
	}
	got := BuildEnv(parent, secrets)
	want := []string{"PATH=/usr/bin", "HOME=/home/u", "DUP=2", "EMPTY=", "TOKEN=injected", "NEW=second", "WSX_EXEC=1"}
	if !slices.Equal(got, want) {
		t.Fatalf("BuildEnv names = %v, want %v", names(got), names(want))
	}
	seen := map[string]bool{}
	for _, kv := range got {
		n, _, _ := strings.Cut(kv, "=")
		if seen[n] {
			t.Fatalf("name %s appears twice", n)
		}
		seen[n] = true
	}
	if got := BuildEnv(nil, nil); !slices.Equal(got, []string{"WSX_EXEC=1"}) {
		t.Fatalf("empty: %v", got)
	}
}

func names(env []string) []string {
	var out []string
	for _, kv := range env {
		n, _, _ := strings.Cut(kv, "=")
		out = append(out, n)
	}
	return out
}

// SECURITY 51 (detection; the refusal is the CLI's).
func TestNested(t *testing.T) {
	cases := []struct {
		env  []string
		want bool
	}{
		{nil, false},
		{[]string{"WSX_EXEC=1"}, true},
		{[]string{"WSX_EXEC=0"}, false},
		{[]string{"WSX_EXEC="}, false},
		{[]string{"WSX_EXEC=1", "WSX_EXEC=0"}, false},
		{[]string{"XWSX_EXEC=1"}, false},
		{BuildEnv([]string{"A=b"}, nil), true},
	}
	for _, c := range cases {
		if got := Nested(c.env); got != c.want {
			t.Errorf("Nested(%v) = %v", c.env, got)
		}
	}
}

func TestCheckInjected(t *testing.T) {
	ok := []Injected{{Name: "A_1", Value: []byte("v")}, {Name: "_x", Value: nil}}
	if err := CheckInjected(ok); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []Injected{
		{Name: "", Value: []byte("v")},
		{Name: "1A", Value: []byte("v")},
		{Name: "A=B", Value: []byte("v")},
		{Name: "NUL_VALUE", Value: []byte("se\x00cret-value")},
	} {
		err := CheckInjected([]Injected{bad})
		if !errors.Is(err, ErrBadEnv) {
			t.Fatalf("%q accepted", bad.Name)
		}
		if strings.Contains(err.Error(), "cret-value") {
			t.Fatalf("error shows the value")
		}
	}
}
