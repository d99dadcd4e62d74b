package cmd

import "testing"

func TestSyncProgressBar(t *testing.T) {
	for _, tc := range []struct {
		done, total int
		want        string
	}{{0, 4, "    "}, {1, 4, "#   "}, {3, 4, "### "}, {4, 4, "####"}, {0, 0, "    "}} {
		if got := bar(tc.done, tc.total, 4); got != tc.want {
			t.Errorf("bar(%d, %d) = %q, want %q", tc.done, tc.total, got, tc.want)
		}
	}
}
