// Command wsx-provider fetches values from company secret services for
// wsx: wsx starts it when a wsx.toml sources a secret from Vault, AWS
// Secrets Manager, Azure Key Vault or a sops file, and speaks with it on
// its stdin and stdout (package provider/external). The services' clients
// live here, not in wsx, so the wsx that answers every git credential
// request starts without their package initialisers. It is not meant to
// be run by hand.
package main

import (
	"context"
	"os"

	"github.com/wsxdev/wsx/internal/nodump"
	"github.com/wsxdev/wsx/provider"
	"github.com/wsxdev/wsx/provider/awssm"
	"github.com/wsxdev/wsx/provider/azurekv"
	"github.com/wsxdev/wsx/provider/external"
	"github.com/wsxdev/wsx/provider/sops"
	"github.com/wsxdev/wsx/provider/vault"
)

// openers are the providers served here, by source scheme.
var openers = map[string]provider.Opener{
	"vault":    vault.Open,
	"aws-sm":   awssm.Open,
	"azure-kv": azurekv.Open,
	"sops":     sops.Open,
}

func main() {
	// It holds values and credentials: no core file, no same-user debugger.
	if err := nodump.Process(); err != nil {
		os.Stderr.WriteString("wsx-provider: cannot keep secrets out of core files: " + err.Error() + "\n")
		os.Exit(1)
	}
	if len(os.Args) > 1 {
		os.Stderr.WriteString("wsx-provider: wsx runs it when a wsx.toml sources a secret (`wsx sync`); it takes no arguments\n")
		os.Exit(2)
	}
	// stdout carries the protocol alone: what a library prints goes to
	// stderr.
	out := os.Stdout
	os.Stdout = os.Stderr
	if err := external.Serve(context.Background(), os.Stdin, out, openers); err != nil {
		os.Stderr.WriteString("wsx-provider: " + err.Error() + "\n")
		os.Exit(1)
	}
}
