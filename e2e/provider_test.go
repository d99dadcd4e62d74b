package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestProviders runs the company secret service scenarios
// (testdata/provider/*.txtar): wsx sync, exec and agent fetching from
// Vault's KV v2 engine behind e2e/vaultfront, from pass with gnupg, and
// from sops files, each ending with the canary scan.
func TestProviders(t *testing.T) {
	requireTools(t, "pass", "gpg", "gpgconf")
	front := vaultFront(t)
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("testdata", "provider"),
		RequireUniqueNames:  true,
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			env.Values[vaultFrontKey{}] = front
			env.Values[vaultHolderKey{}] = &vaultHolder{}
			env.Setenv("VAULT_E2E_TOKEN", "hvs.e2e-throwaway-token")
			return setup(env)
		},
		Condition: condition,
		Cmds: map[string]func(*testscript.TestScript, bool, []string){
			"wsx":      cmdWSX,
			"run":      cmdRun,
			"status":   cmdStatus,
			"canary":   cmdCanary,
			"vault":    cmdVault,
			"gpghome":  cmdGPGHome,
			"subst":    cmdSubst,
			"agentenv": cmdAgentEnv,
			"wsxalone": cmdWSXAlone,
		},
	})
}

type vaultFrontKey struct{}

// vaultFront builds e2e/vaultfront (its own module: Vault's engine and
// its dependencies stay out of wsx's go.mod) once per version of its
// sources, into the user's cache directory, and returns the binary.
func vaultFront(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	src := filepath.Join(filepath.Dir(file), "vaultfront")
	h := sha256.New()
	for _, f := range []string{"go.mod", "go.sum", "main.go"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		h.Write(b)
	}
	fmt.Fprint(h, runtime.Version())
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	bin := filepath.Join(cache, "wsx-e2e", "vaultfront-"+hex.EncodeToString(h.Sum(nil))[:16])
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	t.Logf("building e2e/vaultfront (Vault's KV engine) into %s; later runs reuse it", bin)
	build := exec.Command("go", "build", "-o", bin+".tmp", ".")
	build.Dir = src
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build vaultfront: %v\n%s", err, out)
	}
	if err := os.Rename(bin+".tmp", bin); err != nil {
		t.Fatal(err)
	}
	return bin
}

// cmdVault drives the Vault front:
//
//	vault start [-delay D] [-approle ROLE:SECRET]   start it; $VAULT_ADDR is its address
//	vault stop                                      stop it (the address then refuses)
//	vault put PATH KEY=VALUE|KEY=@FILE...           write a version of secret/PATH
func cmdVault(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: vault start|stop|put ...")
	}
	holder := ts.Value(vaultHolderKey{}).(*vaultHolder)
	switch args[0] {
	case "start":
		if holder.cmd != nil {
			ts.Fatalf("vault start: already running")
		}
		bin := ts.Value(vaultFrontKey{}).(string)
		addrFile := ts.MkAbs("vault.addr")
		os.Remove(addrFile)
		cmd := exec.Command(bin, append([]string{"-addr-file", addrFile, "-token", ts.Getenv("VAULT_E2E_TOKEN")}, args[1:]...)...)
		cmd.Stderr = os.Stderr
		ts.Check(cmd.Start())
		holder.cmd = cmd
		ts.Defer(func() {
			if holder.cmd == cmd {
				cmd.Process.Kill()
				cmd.Wait()
			}
		})
		for i := 0; ; i++ {
			b, err := os.ReadFile(addrFile)
			if err == nil {
				ts.Setenv("VAULT_ADDR", string(b))
				break
			}
			if i == 100 {
				ts.Fatalf("vaultfront did not start")
			}
			time.Sleep(50 * time.Millisecond)
		}
	case "stop":
		if holder.cmd == nil {
			ts.Fatalf("vault stop: not running")
		}
		holder.cmd.Process.Kill()
		holder.cmd.Wait()
		holder.cmd = nil
	case "put":
		if len(args) < 3 {
			ts.Fatalf("usage: vault put PATH KEY=VALUE|KEY=@FILE...")
		}
		data := map[string]string{}
		for _, kv := range args[2:] {
			k, v, _ := strings.Cut(kv, "=")
			if f, ok := strings.CutPrefix(v, "@"); ok {
				v = strings.TrimSuffix(ts.ReadFile(f), "\n")
			}
			data[k] = v
		}
		body, _ := json.Marshal(map[string]any{"data": data})
		req, _ := http.NewRequest(http.MethodPost, ts.Getenv("VAULT_ADDR")+"/v1/secret/data/"+args[1], bytes.NewReader(body))
		req.Header.Set("X-Vault-Token", ts.Getenv("VAULT_E2E_TOKEN"))
		resp, err := http.DefaultClient.Do(req)
		ts.Check(err)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			ts.Fatalf("vault put: %s", resp.Status)
		}
	default:
		ts.Fatalf("usage: vault start|stop|put ...")
	}
}

// vaultHolder is the script's running front, if any.
type vaultHolderKey struct{}
type vaultHolder struct{ cmd *exec.Cmd }

// cmdGPGHome makes a throwaway gnupg home with a key (ed25519 with a
// cv25519 subkey, without a
// passphrase, or with the one given) and a pass store initialised for it:
// GNUPGHOME, PASSWORD_STORE_DIR and GPG_KEY are set. The home is short
// (gpg-agent's socket lives in it) and its agent is stopped at the end.
//
//	gpghome [PASSPHRASE]
func cmdGPGHome(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) > 1 {
		ts.Fatalf("usage: gpghome [PASSPHRASE]")
	}
	home, err := os.MkdirTemp("", "wsxg")
	ts.Check(err)
	ts.Check(os.Chmod(home, 0o700))
	ts.Setenv("GNUPGHOME", home)
	ts.Defer(func() {
		kill := exec.Command("gpgconf", "--kill", "all")
		kill.Env = append(os.Environ(), "GNUPGHOME="+home)
		kill.Run()
		os.RemoveAll(home)
	})
	pw := ""
	if len(args) == 1 {
		pw = args[0]
	}
	gen := exec.Command("gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", pw,
		"--quick-gen-key", "wsx e2e <e2e@wsx.invalid>", "future-default", "default", "never")
	gen.Env = append(os.Environ(), "GNUPGHOME="+home)
	if out, err := gen.CombinedOutput(); err != nil {
		ts.Fatalf("gpg key: %v\n%s", err, out)
	}
	ts.Setenv("GPG_KEY", "e2e@wsx.invalid")
	store := ts.MkAbs("password-store")
	ts.Setenv("PASSWORD_STORE_DIR", store)
	init := exec.Command("pass", "init", "e2e@wsx.invalid")
	init.Env = append(os.Environ(), "GNUPGHOME="+home, "PASSWORD_STORE_DIR="+store, "HOME="+ts.Getenv("HOME"))
	if out, err := init.CombinedOutput(); err != nil {
		ts.Fatalf("pass init: %v\n%s", err, out)
	}
}

// cmdSubst replaces each $NAME of the script's environment in FILE:
// manifests name addresses and directories known only at run time.
//
//	subst FILE
func cmdSubst(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: subst FILE")
	}
	path := ts.MkAbs(args[0])
	b, err := os.ReadFile(path)
	ts.Check(err)
	out := os.Expand(string(b), func(k string) string {
		if v := ts.Getenv(k); v != "" {
			return v
		}
		return "$" + k
	})
	fi, err := os.Stat(path)
	ts.Check(err)
	ts.Check(os.WriteFile(path, []byte(out), fi.Mode()&fs.ModePerm))
}

// buildCompanion builds cmd/NAME (wsx-provider, git-credential-wsx) to
// out, beside the wsx under test, where wsx looks for it: as `make build`
// builds it, or, when WSX_E2E_BIN names a wsx with NAME beside it, a copy
// of that.
func buildCompanion(name, out string) error {
	if bin := os.Getenv("WSX_E2E_BIN"); bin != "" {
		if b, err := os.ReadFile(filepath.Join(filepath.Dir(bin), name)); err == nil {
			return os.WriteFile(out, b, 0o755)
		}
	}
	_, file, _, _ := runtime.Caller(0)
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", out, "./cmd/"+name)
	build.Dir = filepath.Dir(filepath.Dir(file))
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	return build.Run()
}

// cmdWSXAlone copies the wsx under test, without wsx-provider, into DIR.
//
//	wsxalone DIR
func cmdWSXAlone(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: wsxalone DIR")
	}
	b, err := os.ReadFile(filepath.Join(binDir, "wsx"))
	ts.Check(err)
	dir := ts.MkAbs(args[0])
	ts.Check(os.MkdirAll(dir, 0o755))
	ts.Check(os.WriteFile(filepath.Join(dir, "wsx"), b, 0o755))
}

// SECURITY 66: wsx-provider holds values and credentials too: started with
// `ulimit -c unlimited` and killed by SIGABRT with GOTRACEBACK=crash, it
// leaves no core file; its soft core limit is 0 while it runs.
func TestProviderNoCoreFile(t *testing.T) {
	dir := t.TempDir()
	c := exec.Command("sh", "-c", `ulimit -c unlimited && exec "$0"`, filepath.Join(binDir, "wsx-provider"))
	c.Dir, c.Env = dir, []string{"GOTRACEBACK=crash", "PATH=" + os.Getenv("PATH")}
	stdin, err := c.StdinPipe() // open: it waits for wsx's first request
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	var errOut bytes.Buffer
	c.Stderr = &errOut
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	// Once exec'd, main sets the limit to 0 before it reads a request.
	core0 := regexp.MustCompile(`(?m)^Max core file size\s+0\s`)
	var limits []byte
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		// sh's own limit was 0 before its ulimit: read wsx-provider's.
		if exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", c.Process.Pid)); filepath.Base(exe) != "wsx-provider" {
			continue
		}
		limits, _ = os.ReadFile(fmt.Sprintf("/proc/%d/limits", c.Process.Pid))
		if core0.Match(limits) {
			break
		}
	}
	if !core0.Match(limits) {
		t.Errorf("wsx-provider's core limit is not 0:\n%s", limits)
	}
	if err := c.Process.Signal(syscall.SIGABRT); err != nil {
		t.Fatal(err)
	}
	c.Wait()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "core") {
			t.Errorf("core file %s", e.Name())
		}
	}
}
