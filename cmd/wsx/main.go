// Command wsx keeps a workspace's secrets encrypted and lets programs use
// them: a git credential helper, an SSH agent and an exec wrapper over one
// encrypted store with an audit log. See the README.
package main

import (
	"context"
	"os"

	"github.com/wsxdev/wsx/cmd"
	"github.com/wsxdev/wsx/internal/nodump"
	"github.com/wsxdev/wsx/internal/nokwallet"
	_ "github.com/wsxdev/wsx/internal/oneproc" // before the first goroutines: see its doc
)

func main() {
	growStack()
	nokwallet.Restore()
	// Every wsx process may hold a value: none may leave a core file or be
	// read by a same-user debugger.
	if err := nodump.Process(); err != nil {
		os.Stderr.WriteString("wsx: cannot keep secrets out of core files: " + err.Error() + "\n")
		os.Exit(1)
	}
	os.Exit(cmd.Main(context.Background(), cmd.OSEnv()))
}

// growStack grows the main goroutine's stack, while it is a few frames
// deep, to the 32 KiB `wsx exec` reaches: the runtime copies it once here
// rather than twice deep in the command, each copy walking every frame's
// tables (page faults on the binary's pclntab).
//
//go:noinline
func growStack() {
	var frame [16 << 10]byte
	keep(frame[:])
}

//go:noinline
func keep([]byte) {}
