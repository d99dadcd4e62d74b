package daemon

import (
	"regexp"
	"strings"
	"testing"
)

// TestUsageOptionsParse keeps `wsx agent --help` true: every option it
// lists is one ParseArgs takes.
func TestUsageOptionsParse(t *testing.T) {
	opts := regexp.MustCompile(`(?m)^\s+(-[a-zA-Z-]+)(?:, (-\w))?(?: (\S+))?`).FindAllStringSubmatch(Usage, -1)
	if len(opts) < 8 {
		t.Fatalf("found %d options in Usage, want the 8 or more it lists:\n%s", len(opts), Usage)
	}
	values := map[string]string{"SOCKET": "/tmp/s", "LIFE": "10m", "D": "1h"}
	for _, m := range opts {
		for _, flag := range []string{m[1], m[2]} {
			if flag == "" {
				continue
			}
			args := []string{flag}
			if v, ok := values[m[3]]; ok {
				if flag == "--shared-dir" {
					v = "/srv/proj"
				}
				args = append(args, v)
			}
			if _, err := ParseArgs(args); err != nil {
				t.Errorf("Usage lists %s, ParseArgs(%q): %v", flag, args, err)
			}
		}
	}
	if o, err := ParseArgs([]string{"reload"}); err != nil || !o.Reload || !strings.Contains(Usage, "wsx agent reload") {
		t.Errorf("reload: %+v, %v", o, err)
	}
}
