package sshagent

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// BenchmarkSign measures signatures per second through the socket, ours
// and OpenSSH's ssh-agent in the same run, for ed25519 and RSA-3072
// (rsa-sha2-256), over one and eight concurrent connections:
//
//	BenchmarkSign/{openssh,wsx}/{ed25519,rsa3072}/conns={1,8}
func BenchmarkSign(b *testing.B) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 3072)
	if err != nil {
		b.Fatal(err)
	}
	keys := []struct {
		name  string
		priv  crypto.Signer
		flags agent.SignatureFlags
	}{
		{"ed25519", newEd25519(b), 0},
		{"rsa3072", rsaKey, agent.SignatureFlagRsaSha256},
	}
	impls := []struct {
		name  string
		start func(b *testing.B) string
	}{
		{"openssh", func(b *testing.B) string { return startOpenSSH(b) }},
		{"wsx", func(b *testing.B) string {
			_, sock := startOurs(b, Options{OnSign: func(Peer, string, string) error { return nil }}, ServeOptions{})
			return sock
		}},
	}
	for _, im := range impls {
		b.Run(im.name, func(b *testing.B) {
			sock := im.start(b)
			admin := dial(b, sock)
			for _, k := range keys {
				if err := admin.Add(agent.AddedKey{PrivateKey: k.priv, Comment: k.name}); err != nil {
					b.Fatal(err)
				}
			}
			for _, k := range keys {
				pub := sshPub(b, k.priv)
				// About the size of a userauth request.
				data := userauthData(make([]byte, 32), "git", pub, ssh.KeyAlgoED25519, nil)
				for _, n := range []int{1, 8} {
					b.Run(fmt.Sprintf("%s/conns=%d", k.name, n), func(b *testing.B) {
						clients := make([]agent.ExtendedAgent, n)
						for i := range clients {
							clients[i] = dial(b, sock)
						}
						var next atomic.Int64
						var wg sync.WaitGroup
						b.ResetTimer()
						for _, c := range clients {
							wg.Add(1)
							go func() {
								defer wg.Done()
								for next.Add(1) <= int64(b.N) {
									if _, err := c.SignWithFlags(pub, data, k.flags); err != nil {
										b.Error(err)
										return
									}
								}
							}()
						}
						wg.Wait()
					})
				}
			}
		})
	}
}
