package e2e

import (
	"bufio"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// helperEnv makes the test binary a helper instead of the tests: "asuser"
// runs a program as another user, "hold" keeps connections to an agent
// open across a revocation.
const helperEnv = "WSX_E2E_HELPER"

func init() {
	switch os.Getenv(helperEnv) {
	case "asuser":
		os.Exit(asUserMain(os.Args[1:]))
	case "hold":
		os.Exit(holdMain(os.Args[1:]))
	}
}

// TestRoles runs the scenarios of testdata/roles: the workspace shared
// with two throwaway users and a group made with useradd for the run.
func TestRoles(t *testing.T) {
	requireTools(t, "git", "ssh-add", "ssh-keygen", "useradd", "userdel", "groupadd", "groupdel")
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("the roles scenarios create users: run them as root (`make test` does in CI)")
		}
		t.Skip("the roles scenarios create users with useradd: run as root")
	}
	base, err := os.MkdirTemp("", "wsxroles")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	must(t, os.Chmod(base, 0o755))
	must(t, os.Chmod(binDir, 0o755))
	// The test binary, where the guests may run it (hold).
	self, err := os.Executable()
	must(t, err)
	helper := filepath.Join(base, "e2e-helper")
	data, err := os.ReadFile(self)
	must(t, err)
	must(t, os.WriteFile(helper, data, 0o755))

	var sfx [3]byte
	rand.Read(sfx[:])
	id := hex.EncodeToString(sfx[:])
	group, alice, bob := "wsxg"+id, "wsxa"+id, "wsxb"+id
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("groupadd", group)
	t.Cleanup(func() { exec.Command("groupdel", group).Run() })
	guests := filepath.Join(base, "guests")
	must(t, os.Mkdir(guests, 0o755))
	for _, name := range []string{alice, bob} {
		home := filepath.Join(guests, name)
		run("useradd", "-M", "-d", home, "-s", "/bin/sh", "-G", group, name)
		t.Cleanup(func() { exec.Command("userdel", name).Run() })
		u, err := user.Lookup(name)
		must(t, err)
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		for _, d := range []string{home, filepath.Join(home, "tmp")} {
			must(t, os.Mkdir(d, 0o700))
			must(t, os.Chown(d, uid, gid))
		}
	}
	g, err := user.LookupGroup(group)
	must(t, err)
	gid, _ := strconv.Atoi(g.Gid)

	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/roles",
		RequireUniqueNames:  true,
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			if err := setup(env); err != nil {
				return err
			}
			// Guests may pass through the work directory (not list it);
			// the store inside stays the owner's alone (0700).
			for _, d := range []string{env.WorkDir, filepath.Dir(env.WorkDir)} {
				if err := os.Chmod(d, 0o711); err != nil {
					return err
				}
			}
			shared := filepath.Join(base, "shared-"+filepath.Base(env.WorkDir))
			if err := os.Mkdir(shared, 0o750); err != nil {
				return err
			}
			if err := os.Chown(shared, 0, gid); err != nil {
				return err
			}
			env.Setenv(helperEnv, "asuser")
			env.Setenv("HELPER", helper)
			env.Setenv("GUESTS", guests)
			env.Setenv("SHARED", shared)
			env.Setenv("GROUP", group)
			env.Setenv("ALICE", alice)
			env.Setenv("BOB", bob)
			env.Setenv("OWNER", "root")
			// What the guests wrote is searched for the canary too.
			env.Defer(func() {
				if hits := scanForCanary(guests, nil); len(hits) > 0 {
					env.T().Fatal("canary found in guests' files: " + strings.Join(hits, ", "))
				}
			})
			return nil
		},
		Condition: condition,
		Cmds: map[string]func(*testscript.TestScript, bool, []string){
			"wsx":       cmdWSX,
			"run":       cmdRun,
			"status":    cmdStatus,
			"canary":    cmdCanary,
			"gitserver": cmdGitServer,
			"agentenv":  cmdAgentEnv,
			"waitfor":   cmdWaitFor,
			"asuser":    cmdAsUser,
		},
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// cmdAsUser runs a program as another user, recorded like `run`:
// `asuser NAME [VAR=VALUE...] PROGRAM [ARGS...]`. The program gets the
// user's uid, primary group and groups, a clean environment (PATH with
// wsx, HOME and TMPDIR in the user's own directory under $GUESTS, and the
// VAR=VALUE given) and that home as its working directory.
func cmdAsUser(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 {
		ts.Fatalf("usage: asuser NAME [VAR=VALUE...] PROGRAM [ARGS...]")
	}
	runRecorded(ts, neg, os.Args[0], args)
}

// asUserMain is the helper behind asuser, run as root by the test binary.
func asUserMain(args []string) int {
	u, err := user.Lookup(args[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, "asuser:", err)
		return 125
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	gids, err := u.GroupIds()
	if err != nil {
		fmt.Fprintln(os.Stderr, "asuser:", err)
		return 125
	}
	var groups []uint32
	for _, g := range gids {
		n, _ := strconv.Atoi(g)
		groups = append(groups, uint32(n))
	}
	home := filepath.Join(os.Getenv("GUESTS"), u.Username)
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "TMPDIR=" + filepath.Join(home, "tmp"),
		"TZ=UTC", "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0", "GIT_CEILING_DIRECTORIES=" + filepath.Dir(home),
		"USER=" + u.Username, "LOGNAME=" + u.Username}
	rest := args[1:]
	for len(rest) > 0 && strings.Contains(rest[0], "=") && !strings.HasPrefix(rest[0], "/") {
		env = append(env, rest[0])
		rest = rest[1:]
	}
	if len(rest) == 0 {
		fmt.Fprintln(os.Stderr, "asuser: no program")
		return 125
	}
	prog, err := exec.LookPath(rest[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, "asuser:", err)
		return 127
	}
	cmd := exec.Command(prog, rest[1:]...)
	cmd.Env, cmd.Dir = env, home
	if _, err := os.Stat(home); err != nil {
		cmd.Dir = "/" // a user without a guest directory here (nobody)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: groups}}
	err = cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "asuser:", err)
		return 126
	}
	return 0
}

// holdMain keeps one connection to the SSH agent socket and one to the
// API socket: `SSHSOCK APISOCK GOFILE` (WSX_E2E_HELPER=hold). It makes a request on each,
// prints the answers, waits until GOFILE exists, makes the same requests
// on the same connections and prints the answers again.
func holdMain(args []string) int {
	if len(args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: hold SSHSOCK APISOCK GOFILE")
		return 2
	}
	sc, err := net.Dial("unix", args[0])
	if err != nil {
		fmt.Println("ssh dial:", err)
		return 1
	}
	ac, err := net.Dial("unix", args[1])
	if err != nil {
		fmt.Println("api dial:", err)
		return 1
	}
	ar := bufio.NewReader(ac)
	round := func(n string) {
		sc.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Printf("ssh %s: %s\n", n, sshList(sc))
		ac.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Printf("api %s: %s\n", n, apiList(ac, ar))
	}
	round("first")
	if err := os.WriteFile(filepath.Join(os.Getenv("HOME"), "hold-ready"), []byte("ready\n"), 0o600); err != nil {
		fmt.Println(err)
		return 1
	}
	for i := 0; i < 400; i++ {
		if _, err := os.Stat(args[2]); err == nil {
			round("second")
			return 0
		}
		time.Sleep(50 * time.Millisecond)
	}
	fmt.Println("gave up waiting for", args[2])
	return 1
}

// sshList sends a key list request and says what came back.
func sshList(c net.Conn) string {
	if _, err := c.Write([]byte{0, 0, 0, 1, 11}); err != nil {
		return "closed"
	}
	var hdr [4]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		return "closed"
	}
	body := make([]byte, min(binary.BigEndian.Uint32(hdr[:]), 1<<20))
	if _, err := io.ReadFull(c, body); err != nil || len(body) == 0 {
		return "closed"
	}
	switch body[0] {
	case 12:
		return "keys"
	case 5:
		return "failure"
	}
	return fmt.Sprintf("answer %d", body[0])
}

// apiList asks for the secrets' metadata on the open connection.
func apiList(c net.Conn, r *bufio.Reader) string {
	if _, err := io.WriteString(c, "GET /v1/secrets HTTP/1.1\r\nHost: wsx\r\n\r\n"); err != nil {
		return "closed"
	}
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		return "closed"
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.Status
}
