package e2e

import (
	"bufio"
	"bytes"
	"crypto/rsa"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wsxdev/wsx/store"
	"golang.org/x/crypto/ssh"
)

// TestLockedAgentHoldsNoValue is SECURITY.md 67: after `wsx lock` (and
// after the idle lock) the agent's memory holds no value, no key and no
// MAC key, in the build `make build` makes. A token and SSH keys are used
// through the agent (a wsx exec fetch, signatures with a store key and an
// ssh-add'ed one, whose peer's argv is masked with the values), then the
// agent is locked and its memory read through /proc/PID/mem, which needs
// root. Before the lock the same scan finds them, so the test can fail.
func TestLockedAgentHoldsNoValue(t *testing.T) {
	requireTools(t, "ssh-add", "ssh-keygen")
	if os.Geteuid() != 0 {
		t.Skip("reading another process's memory needs root")
	}
	dir := shortTempDir(t)
	pass := filepath.Join(dir, "pass")
	if err := os.WriteFile(pass, []byte("memory test passphrase\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=" + binDir + ":" + os.Getenv("PATH"), "HOME=" + dir, "WSX_HOME=" + filepath.Join(dir, "h"),
		"WSX_PASSPHRASE_FILE=" + pass, "TZ=UTC"}
	run := func(stdin string, name string, args ...string) string {
		t.Helper()
		if name == "wsx" {
			name = filepath.Join(binDir, "wsx")
		}
		c := exec.Command(name, args...)
		c.Dir, c.Env = dir, env
		c.Stdin = strings.NewReader(stdin)
		out, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	canaryValue := "wsxmemcanary" + hex.EncodeToString([]byte(t.Name()))[:20]
	run("", "wsx", "init", "--kdf-memory", "8", "--kdf-time", "1")
	run(canaryValue+"\n", "wsx", "add", "MEM_TOKEN", "--type", "token")
	key := filepath.Join(dir, "id")
	run("", "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "k", "-f", key)
	run("", "wsx", "add", "MEM_KEY", "--type", "key", "--from-file", key)
	seed := ed25519Seed(t, key)
	os.Remove(key)
	rsaKey := filepath.Join(dir, "rsa")
	run("", "ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-C", "r", "-f", rsaKey)
	run("", "wsx", "add", "MEM_RSA", "--type", "key", "--from-file", rsaKey)
	rsaPrime := rsaPrimeForms(t, rsaKey)
	os.Remove(rsaKey)
	added := filepath.Join(dir, "added")
	run("", "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "added", "-f", added)
	addedSeed := ed25519Seed(t, added)

	vars, err := parseAgentEnv(run("", "wsx", "agent", "-s", "--lock-after", "0"))
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(vars["SSH_AGENT_PID"])
	t.Cleanup(func() { stopAgent(pid) })
	env = append(env, "SSH_AUTH_SOCK="+vars["SSH_AUTH_SOCK"], "SSH_AGENT_PID="+vars["SSH_AGENT_PID"])

	// Uses: the value through the API, a signature with the store key
	// (the peer's argv, holding the value, is masked with the values), a
	// key added with ssh-add and used.
	run("", "wsx", "exec", "--only", "MEM_TOKEN", "--", "sh", "-c", "test -n \"$MEM_TOKEN\"")
	run("", "ssh-add", "-q", added)
	run("", "sh", "-c", "ssh-add -T "+key+".pub "+rsaKey+".pub "+added+".pub; : "+canaryValue)

	secrets := map[string][]byte{"token": []byte(canaryValue), "store key seed": seed, "added key seed": addedSeed,
		"audit MAC key":     auditKey(t, filepath.Join(dir, "h"), "memory test passphrase"),
		"rsa prime (bytes)": rsaPrime[0], "rsa prime (words)": rsaPrime[1]}
	before, _ := scanMemory(t, pid, secrets)
	for name := range secrets {
		if !slices.Contains(before, name) {
			t.Fatalf("the %s is not found in the unlocked agent's memory: the scan cannot fail", name)
		}
	}

	run("", "wsx", "lock")
	if found, where := scanMemory(t, pid, secrets); len(found) > 0 {
		t.Fatalf("after wsx lock the agent's memory still holds: %v\n%s", found, where)
	}
	// The added key comes back with the unlock.
	run("", "wsx", "unlock")
	if out := run("", "ssh-add", "-l"); !strings.Contains(out, "added") {
		t.Fatalf("the key added with ssh-add is gone after the unlock: %s", out)
	}

	// The idle lock: the same uses, then no request for the idle time.
	run("", "wsx", "agent", "-k")
	vars, err = parseAgentEnv(run("", "wsx", "agent", "-s", "--lock-after", "2s"))
	if err != nil {
		t.Fatal(err)
	}
	pid, _ = strconv.Atoi(vars["SSH_AGENT_PID"])
	t.Cleanup(func() { stopAgent(pid) })
	env = append(env, "SSH_AUTH_SOCK="+vars["SSH_AUTH_SOCK"], "SSH_AGENT_PID="+vars["SSH_AGENT_PID"])
	run("", "wsx", "exec", "--only", "MEM_TOKEN", "--", "sh", "-c", "test -n \"$MEM_TOKEN\"")
	run("", "ssh-add", "-q", added)
	run("", "sh", "-c", "ssh-add -T "+key+".pub "+rsaKey+".pub "+added+".pub; : "+canaryValue)
	logPath := filepath.Join(dir, "h", "audit.log")
	for i := 0; ; i++ {
		b, _ := os.ReadFile(logPath)
		if bytes.Contains(b, []byte(`"detail":"idle for`)) {
			break
		}
		if i > 100 {
			t.Fatal("the agent did not lock itself")
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The lock erases after writing its record, on its own time: wait
	// for it, up to a bound.
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(250 * time.Millisecond) {
		found, where := scanMemory(t, pid, secrets)
		if len(found) == 0 {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("after the idle lock the agent's memory still holds: %v\n%s", found, where)
		}
	}
}

// ed25519Seed returns the 32-byte seed of an unencrypted OpenSSH ed25519
// key file, read with ssh-keygen's help (no parser of ours).
func ed25519Seed(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// The private part holds pub(32) then seed(32)||pub(32); the public
	// key's 32 bytes are found in the .pub file.
	pubLine, err := os.ReadFile(path + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	raw := decodePEMBody(t, b)
	pub := decodeSSHPub(t, pubLine)
	// Find "\x00\x00\x00\x40" + seed + pub.
	marker := append([]byte{0, 0, 0, 64}, []byte(nil)...)
	for i := 0; i+4+64 <= len(raw); i++ {
		if bytes.Equal(raw[i:i+4], marker) && bytes.Equal(raw[i+4+32:i+4+64], pub) {
			return bytes.Clone(raw[i+4 : i+4+32])
		}
	}
	t.Fatal("no ed25519 seed found in " + path)
	return nil
}

// rsaPrimeForms returns the low 32 bytes of the first prime of the RSA
// key at path as the key file holds them (big-endian) and as Go's numbers
// hold them in memory (little-endian words).
func rsaPrimeForms(t *testing.T, path string) [2][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ssh.ParseRawPrivateKey(b)
	if err != nil {
		t.Fatal(err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		t.Fatalf("%s is not an RSA key", path)
	}
	be := rk.Primes[0].Bytes()
	be = be[len(be)-32:]
	le := slices.Clone(be)
	slices.Reverse(le)
	return [2][]byte{bytes.Clone(be), le}
}

func decodePEMBody(t *testing.T, b []byte) []byte {
	t.Helper()
	var body strings.Builder
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "-----") {
			continue
		}
		body.WriteString(strings.TrimSpace(line))
	}
	out, err := base64Decode(body.String())
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func decodeSSHPub(t *testing.T, line []byte) []byte {
	t.Helper()
	f := strings.Fields(string(line))
	if len(f) < 2 {
		t.Fatal("bad public key line")
	}
	blob, err := base64Decode(f[1])
	if err != nil || len(blob) < 32 {
		t.Fatal("bad public key blob")
	}
	return blob[len(blob)-32:]
}

// auditKey is the MAC key of the audit log of the store in home.
func auditKey(t *testing.T, home, pass string) []byte {
	t.Helper()
	st, err := store.Open(home)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Unlock([]byte(pass)); err != nil {
		t.Fatal(err)
	}
	defer st.Lock()
	k, err := st.AuditKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// scanMemory reads every readable mapping of process pid and returns the
// names of the secrets found in it, and where each copy is, with the
// bytes around it.
func scanMemory(t *testing.T, pid int, secrets map[string][]byte) (names []string, where string) {
	t.Helper()
	maps, err := os.Open(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer maps.Close()
	mem, err := os.Open(fmt.Sprintf("/proc/%d/mem", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	found := map[string]bool{}
	var w strings.Builder
	sc := bufio.NewScanner(maps)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || f[1][0] != 'r' {
			continue
		}
		if len(f) >= 6 && (strings.HasPrefix(f[5], "[vvar") || strings.HasPrefix(f[5], "[vsyscall")) {
			continue
		}
		lo, hi, ok := strings.Cut(f[0], "-")
		if !ok {
			continue
		}
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || end <= start {
			continue
		}
		buf := make([]byte, end-start)
		n, err := mem.ReadAt(buf, int64(start))
		if err != nil && err != io.EOF && n == 0 {
			continue
		}
		for name, s := range secrets {
			b := buf[:n]
			for off := 0; ; {
				i := bytes.Index(b[off:], s)
				if i < 0 {
					break
				}
				found[name] = true
				at := off + i
				lo, hi := max(at-64, 0), min(at+len(s)+64, len(b))
				fmt.Fprintf(&w, "%s at %#x in %s: %q\n", name, start+uint64(at), sc.Text(), b[lo:hi])
				off += i + len(s)
			}
		}
	}
	for name := range found {
		names = append(names, name)
	}
	return names, w.String()
}

func base64Decode(s string) ([]byte, error) { return base64.StdEncoding.DecodeString(s) }
