// Package gitcred is the flow of git-credential-wsx, the credential
// helper `wsx git setup` gives git: `wsx credential OP` without the
// start-up of the whole wsx, whose libraries every run of the helper would
// otherwise pay for.
//
// For get, store and erase, when the user's agent has its API socket
// there, git's request goes to the agent in one request (POST
// /v1/credential/OP), once the socket's directory and the process
// listening are the user's (unixsock.Dial, as every wsx client checks
// them); the answer goes to git on stdout, the agent's note and the
// overdue reminders to stderr, as wsx prints them.
//
// In every other case it hands over to the wsx beside it: `wsx credential
// OP` replaces this process, with git's request on its stdin. That is so
// for another operation or arguments, WSX_AGENT (a guest) and
// WSX_NO_AGENT, no socket, a socket that is not the user's, and any answer
// but a credential one (a locked agent, another store's, an error): wsx
// then does what it does without this helper, prompts included.
package gitcred

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/wsxdev/wsx/internal/home"
	"github.com/wsxdev/wsx/internal/localapi"
	"github.com/wsxdev/wsx/internal/nodump"
	"github.com/wsxdev/wsx/internal/remind"
	"github.com/wsxdev/wsx/internal/unixsock"
	"golang.org/x/sys/unix"
)

// Run answers git's request for the operation in args as `wsx credential`
// would, and returns the exit code.
func Run(args []string) int {
	h, sock, ok := agentSocket(args)
	if !ok {
		return handOver(args, nil)
	}
	op := args[0]
	req, err := io.ReadAll(io.LimitReader(os.Stdin, localapi.MaxCredentialInput+1))
	if err != nil {
		err = fmt.Errorf("read the request: %w", err)
	} else if len(req) > localapi.MaxCredentialInput {
		err = fmt.Errorf("the request is larger than %d bytes", localapi.MaxCredentialInput)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "wsx: credential %s: %v\n", op, err)
		return 1
	}
	ans, err := ask(h, sock, op, req)
	if err != nil {
		return handOver(args, req)
	}
	clear(req)
	os.Stderr.WriteString(ans.Note)
	_, err = os.Stdout.Write(ans.Output)
	clear(ans.Output)
	if err != nil {
		fmt.Fprintf(os.Stderr, "wsx: credential %s: %v\n", op, err)
		return 1
	}
	remind.Reminder{Home: h, UID: os.Getuid(), Stderr: os.Stderr, Now: time.Now}.Remind(ans.Remind)
	return 0
}

// agentSocket returns the store's home and its agent's API socket when
// this run may ask the agent itself: one operation of get, store or erase,
// neither WSX_AGENT nor WSX_NO_AGENT, and a socket there.
func agentSocket(args []string) (h, sock string, ok bool) {
	if len(args) != 1 || !slices.Contains([]string{"get", "store", "erase"}, args[0]) ||
		os.Getenv("WSX_AGENT") != "" || os.Getenv("WSX_NO_AGENT") != "" {
		return "", "", false
	}
	h, err := home.Dir(os.Getenv)
	if err != nil {
		return "", "", false
	}
	sock = filepath.Join(home.RunDir(os.Getenv, h), localapi.APISocketName)
	if _, err := os.Lstat(sock); err != nil {
		return "", "", false
	}
	return h, sock, true
}

// ask sends git's request to the agent on sock, once its directory and
// listener are the user's; nothing is sent otherwise.
func ask(h, sock, op string, req []byte) (localapi.CredentialResponse, error) {
	ctx, cancel := context.WithTimeout(context.Background(), localapi.Timeout)
	defer cancel()
	conn, err := unixsock.Dial(ctx, sock)
	if err != nil {
		return localapi.CredentialResponse{}, err
	}
	defer conn.Close()
	return localapi.Credential(conn, h, op, req)
}

// handOver replaces this process with `wsx credential ARGS...`, the wsx
// beside this executable, with req (git's request, read already) on its
// stdin, or this stdin as it is when req is nil.
func handOver(args []string, req []byte) int {
	exe, err := os.Executable()
	wsx := filepath.Join(filepath.Dir(exe), "wsx")
	if err == nil && req != nil {
		err = refeed(req)
	}
	if err == nil {
		restore := nodump.ForChild()
		err = syscall.Exec(wsx, append([]string{wsx, "credential"}, args...), os.Environ())
		restore()
	}
	fmt.Fprintf(os.Stderr, "wsx: credential: cannot hand over to %s: %v; git-credential-wsx runs the wsx beside it (`make install` puts both there)\n", wsx, err)
	return 1
}

// refeed makes stdin a pipe that holds req and then ends, as git's did.
func refeed(req []byte) error {
	defer clear(req)
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	defer w.Close()
	// Nobody reads the pipe before the exec: it must hold all of req.
	if n, err := unix.FcntlInt(w.Fd(), unix.F_GETPIPE_SZ, 0); err != nil || n < len(req) {
		if n, err = unix.FcntlInt(w.Fd(), unix.F_SETPIPE_SZ, len(req)); err != nil || n < len(req) {
			return fmt.Errorf("a pipe cannot hold git's %d-byte request: %v", len(req), err)
		}
	}
	if _, err := w.Write(req); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return unix.Dup2(int(r.Fd()), 0)
}
