// Command git-credential-wsx is the credential helper `wsx git setup`
// gives git: `wsx credential OP` without the start-up of the whole wsx
// (internal/gitcred).
package main

import (
	"os"

	"github.com/wsxdev/wsx/internal/gitcred"
	"github.com/wsxdev/wsx/internal/nodump"
)

func main() {
	// The answer holds a value: no core file, no same-user debugger.
	if err := nodump.Process(); err != nil {
		os.Stderr.WriteString("wsx: cannot keep secrets out of core files: " + err.Error() + "\n")
		os.Exit(1)
	}
	os.Exit(gitcred.Run(os.Args[1:]))
}
