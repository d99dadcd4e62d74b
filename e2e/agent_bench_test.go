package e2e

import (
	"bufio"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/wsxdev/wsx/store"
)

// BenchmarkAgentRSS reports the resident memory (VmRSS of
// /proc/PID/status) of a `wsx agent` serving 100 ed25519 keys of a store
// with the default Argon2id parameters: after start and a list of the keys
// (rss-listed-KiB), and after a signature with each key, every one of them
// then parsed and cached (rss-signed-KiB). Goal: at most 20 MiB. Run it
// with -benchtime 1x.
func BenchmarkAgentRSS(b *testing.B) {
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		b.Skip("ssh-keygen is missing")
	}
	const nkeys = 100
	dir, err := os.MkdirTemp("", "wsxrss")
	if err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(dir)
	home := filepath.Join(dir, "h")
	pass := []byte("rss benchmark passphrase")
	passFile := filepath.Join(dir, "pass")
	if err := os.WriteFile(passFile, pass, 0o600); err != nil {
		b.Fatal(err)
	}
	st, err := store.Init(home, store.InitOptions{Passphrase: pass})
	if err != nil {
		b.Fatal(err)
	}
	var pubs []ssh.PublicKey
	for i := range nkeys {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		block, err := ssh.MarshalPrivateKey(priv, "")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := st.Add(store.Secret{Meta: store.Meta{Name: fmt.Sprintf("KEY_%03d", i), Type: store.TypeKey},
			Value: store.NewValue(pem.EncodeToMemory(block))}); err != nil {
			b.Fatal(err)
		}
		pub, _ := ssh.NewPublicKey(priv.Public())
		pubs = append(pubs, pub)
	}
	st.Lock()

	for b.Loop() {
		vars, pid, err := startAgent([]string{"WSX_HOME=" + home, "HOME=" + dir, "PATH=" + os.Getenv("PATH")},
			"--passphrase-file", passFile)
		if err != nil {
			b.Fatal(err)
		}
		conn, err := net.Dial("unix", vars["SSH_AUTH_SOCK"])
		if err != nil {
			stopAgent(pid)
			b.Fatal(err)
		}
		ag := agent.NewClient(conn)
		keys, err := ag.List()
		if err != nil || len(keys) != nkeys {
			b.Fatalf("listed %d keys, %v", len(keys), err)
		}
		listed, anon := vmRSS(b, pid)
		for _, pub := range pubs {
			if _, err := ag.Sign(pub, []byte("rss")); err != nil {
				b.Fatal(err)
			}
		}
		signed, _ := vmRSS(b, pid)
		conn.Close()
		stopAgent(pid)
		b.ReportMetric(float64(listed), "rss-listed-KiB")
		b.ReportMetric(float64(anon), "anon-listed-KiB")
		b.ReportMetric(float64(signed), "rss-signed-KiB")
	}
}

// vmRSS reads VmRSS and RssAnon (the part not backed by a file, such as
// the binary's pages), in KiB, from /proc/PID/status.
func vmRSS(b *testing.B, pid int) (rss, anon int) {
	b.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	rss, anon = -1, -1
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, v, _ := strings.Cut(sc.Text(), ":")
		if name != "VmRSS" && name != "RssAnon" {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
		if err != nil {
			b.Fatal(err)
		}
		if name == "VmRSS" {
			rss = n
		} else {
			anon = n
		}
	}
	if rss < 0 || anon < 0 {
		b.Fatal("no VmRSS or RssAnon in /proc/PID/status")
	}
	return rss, anon
}
