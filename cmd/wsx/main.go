// Command wsx keeps a workspace's secrets encrypted and lets programs use
// them: a git credential helper, an SSH agent and an exec wrapper over one
// encrypted store with an audit log. See the README.
package main

import (
	"context"
	"os"

	"github.com/wsxdev/wsx/cmd"
)

func main() {
	os.Exit(cmd.Main(context.Background(), cmd.OSEnv()))
}
