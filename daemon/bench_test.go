package daemon

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/wsxdev/wsx/store"
)

// BenchmarkDaemonSign measures signatures through the daemon's agent
// socket with keys kept in the store (read through the cached source, each
// signature audited with group commit), against OpenSSH's ssh-agent holding
// the same keys, interleaved: ed25519 and RSA-3072 (rsa-sha2-256), one and
// eight concurrent connections. Each iteration is a round of 64 signatures
// on each agent, the one that goes first changing every round; it reports
// the median µs per signature of each (wsx-us, openssh-us) and their ratio.
// Run it with -benchtime Nx (N rounds):
//
//	BenchmarkDaemonSign/{ed25519,rsa3072}/conns={1,8}
func BenchmarkDaemonSign(b *testing.B) {
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 3072)
	if err != nil {
		b.Fatal(err)
	}
	keys := []struct {
		name  string
		priv  crypto.Signer
		flags agent.SignatureFlags
	}{
		{"ed25519", ed, 0},
		{"rsa3072", rsaKey, agent.SignatureFlagRsaSha256},
	}

	osock := startOpenSSHAgent(b)
	c := dialAgent(b, osock)
	for _, k := range keys {
		if err := c.Add(agent.AddedKey{PrivateKey: k.priv, Comment: k.name}); err != nil {
			b.Fatal(err)
		}
	}
	st := newTestStore(b)
	for _, k := range keys {
		block, err := ssh.MarshalPrivateKey(k.priv, "")
		if err != nil {
			b.Fatal(err)
		}
		name := map[string]string{"ed25519": "ED_KEY", "rsa3072": "RSA_KEY"}[k.name]
		if _, err := st.Add(store.Secret{Meta: store.Meta{Name: name, Type: store.TypeKey}, Value: store.NewValue(pem.EncodeToMemory(block))}); err != nil {
			b.Fatal(err)
		}
	}
	d, _ := startDaemon(b, st, func(o *Options) { o.Logf = nil })
	wsock := d.AgentSocket()

	const round = 64
	for _, k := range keys {
		pub, err := ssh.NewPublicKey(k.priv.Public())
		if err != nil {
			b.Fatal(err)
		}
		data := make([]byte, 32+200) // about a userauth request
		rand.Read(data)
		for _, n := range []int{1, 8} {
			b.Run(fmt.Sprintf("%s/conns=%d", k.name, n), func(b *testing.B) {
				// sign makes round signatures over n connections to sock and
				// returns the time per signature in µs.
				sign := func(sock string) func() float64 {
					clients := make([]agent.ExtendedAgent, n)
					for i := range clients {
						clients[i] = dialAgent(b, sock)
					}
					// One signature first, so both sides have the key
					// ready, as an agent in use has.
					if _, err := clients[0].SignWithFlags(pub, data, k.flags); err != nil {
						b.Fatal(err)
					}
					return func() float64 {
						start := time.Now()
						var next atomic.Int64
						var wg sync.WaitGroup
						for _, c := range clients {
							wg.Go(func() {
								for next.Add(1) <= round {
									if _, err := c.SignWithFlags(pub, data, k.flags); err != nil {
										b.Error(err)
										return
									}
								}
							})
						}
						wg.Wait()
						return float64(time.Since(start).Nanoseconds()) / 1e3 / round
					}
				}
				w, o := sign(wsock), sign(osock)
				var tw, to []float64
				for i := 0; b.Loop(); i++ {
					if i%2 == 0 {
						tw, to = append(tw, w()), append(to, o())
					} else {
						to, tw = append(to, o()), append(tw, w())
					}
				}
				mw, mo := median(tw), median(to)
				b.ReportMetric(mw, "wsx-us")
				b.ReportMetric(mo, "openssh-us")
				b.ReportMetric(mw/mo, "ratio")
			})
		}
	}
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(v))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// startOpenSSHAgent runs OpenSSH's ssh-agent in the foreground and
// returns its socket.
func startOpenSSHAgent(b *testing.B) string {
	b.Helper()
	bin, err := exec.LookPath("ssh-agent")
	if err != nil {
		b.Skip("ssh-agent not installed")
	}
	dir := shortDir(b)
	sock := filepath.Join(dir, "agent.sock")
	cmd := exec.Command(bin, "-D", "-a", sock)
	cmd.Env = []string{"HOME=" + dir, "PATH=/usr/bin:/bin"}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	for deadline := time.Now().Add(5 * time.Second); ; {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			return sock
		}
		if time.Now().After(deadline) {
			b.Fatalf("ssh-agent did not start: %s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func dialAgent(b testing.TB, sock string) agent.ExtendedAgent {
	b.Helper()
	c, err := net.Dial("unix", sock)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return agent.NewClient(c)
}
