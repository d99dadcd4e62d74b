package scan

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestProgressBar draws at most ten times a second, always the last step.
func TestProgressBar(t *testing.T) {
	var out bytes.Buffer
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	bar := ProgressBar(&out, func() time.Time { return now })
	bar(0, 40)
	for i := 1; i < 40; i++ {
		now = now.Add(10 * time.Millisecond)
		bar(i, 40)
	}
	bar(40, 40)
	draws := strings.Count(out.String(), "\r")
	if draws < 4 || draws > 6 {
		t.Errorf("%d draws in 0.4 s, want about 5:\n%q", draws, out.String())
	}
	if !strings.HasSuffix(out.String(), "\rscanning history [==============================] 40/40 commits") {
		t.Errorf("last draw %q", out.String()[strings.LastIndex(out.String(), "\r"):])
	}
}
