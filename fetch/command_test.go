package fetch

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBeforeAgent: the agent's store is unlocked for a fetch only when
// the project sources a secret that is missing or stale, and a failed
// fetch is a warning, not a reason not to start.
func TestBeforeAgent(t *testing.T) {
	dir := t.TempDir()
	var errb bytes.Buffer
	have := []string{}
	unlocked := 0
	c := &Command{Dir: dir, Home: t.TempDir(), Now: time.Now, Stderr: &errb,
		Names:    func() ([]string, error) { return have, nil },
		Unlocked: func() (Store, error) { return newFakeStore(), nil },
	}
	unlock := func() error { unlocked++; return nil }
	if err := c.BeforeAgent(context.Background(), unlock); err != nil || unlocked != 0 {
		t.Fatalf("no wsx.toml: %v, unlocked %d times", err, unlocked)
	}
	toml := `[provider.vault]
address = "http://127.0.0.1:1"
retries = 0
timeout = "1s"

[[secret]]
name = "DATABASE_URL"
source = "vault://secret/app#db_url"
`
	if err := os.WriteFile(filepath.Join(dir, "wsx.toml"), []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := c.BeforeAgent(context.Background(), unlock); err != nil || unlocked != 1 {
		t.Fatalf("missing secret: %v, unlocked %d times", err, unlocked)
	}
	if !strings.Contains(errb.String(), "wsx: warning:") || !strings.Contains(errb.String(), "DATABASE_URL") {
		t.Errorf("the failed fetch is not a warning naming the secret: %q", errb.String())
	}
	refused := errors.New("wrong passphrase")
	if err := c.BeforeAgent(context.Background(), func() error { return refused }); err != refused {
		t.Errorf("unlock refused: %v", err)
	}
}
