package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

// BenchmarkCredentialFill measures `git credential fill` for one
// credential answered by wsx (a named secret, store opened directly with
// its default Argon2id parameters, as the helper does when no agent runs:
// the unlock is the cost of direct mode) and by git's own store helper
// (the same credential in clear in a credentials file), for scripts/bench.sh.
// helper=wsx-kdf-min repeats the wsx case with the cheapest KDF the store
// accepts, to show the cost of everything but the key derivation.
func BenchmarkCredentialFill(b *testing.B) {
	if _, err := exec.LookPath("git"); err != nil {
		b.Skip("git is missing")
	}
	req := []byte("protocol=https\nhost=git.example.test\n\n")
	want := []byte("\npassword=" + canary + "\n")

	fill := func(b *testing.B, env []string, dir, helper string) {
		b.Helper()
		for b.Loop() {
			c := exec.Command("git", "-c", "credential.helper="+helper, "credential", "fill")
			c.Dir, c.Env = dir, env
			c.Stdin = bytes.NewReader(req)
			var out, errOut bytes.Buffer
			c.Stdout, c.Stderr = &out, &errOut
			if err := c.Run(); err != nil {
				b.Fatalf("git credential fill with %s: %v\n%s", helper, err, errOut.Bytes())
			}
			if !bytes.Contains(out.Bytes(), want) {
				b.Fatalf("git credential fill with %s: no or another password", helper)
			}
		}
	}

	wsx := func(initArgs ...string) func(*testing.B) {
		return func(b *testing.B) {
			dir := b.TempDir()
			w := newWSXRunner(b, dir)
			w.run(nil, true, append([]string{"init"}, initArgs...)...)
			w.run([]byte(canary+"\n"), true, "add", "BENCH_TOKEN", "--type", "token",
				"--host", "git.example.test", "--username", "x-access-token")
			fill(b, w.env, dir, "wsx")
		}
	}
	// The store's default Argon2id (t=3, 64 MiB, p=4): what direct mode costs.
	b.Run("helper=wsx", wsx())
	// The cheapest Argon2id the store takes: what is left without the KDF
	// (process start, unlock, audit append with fsync).
	b.Run("helper=wsx-kdf-min", wsx("--kdf-memory", "8", "--kdf-time", "1"))

	// A wsx agent serves the store unlocked: what every request costs once
	// the user has unlocked.
	b.Run("helper=wsx-agent", func(b *testing.B) {
		dir := b.TempDir()
		w := newWSXRunner(b, dir)
		w.run(nil, true, "init")
		w.run([]byte(canary+"\n"), true, "add", "BENCH_TOKEN", "--type", "token",
			"--host", "git.example.test", "--username", "x-access-token")
		fill(b, startBenchAgent(b, w, dir), dir, "wsx")
	})

	b.Run("helper=store", func(b *testing.B) {
		dir := b.TempDir()
		home := filepath.Join(dir, "home")
		if err := os.MkdirAll(home, 0o700); err != nil {
			b.Fatal(err)
		}
		creds := filepath.Join(dir, "credentials")
		if err := os.WriteFile(creds, []byte("https://x-access-token:"+canary+"@git.example.test\n"), 0o600); err != nil {
			b.Fatal(err)
		}
		fill(b, gitEnv(home), dir, "store --file="+creds)
	})
}

// startBenchAgent starts `wsx agent -s` for w's store, stops it when b
// ends, and returns w's environment with the passphrase file spoilt, so a
// run that opened the store itself instead of asking the agent would fail.
func startBenchAgent(b *testing.B, w *wsxRunner, dir string) []string {
	b.Helper()
	_, pid, err := startAgent(w.env)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { stopAgent(pid) })
	return append(slices.Clip(w.env), "WSX_PASSPHRASE_FILE="+filepath.Join(dir, "no-such-file"))
}
