package main

import (
	_ "github.com/99designs/keyring"
	_ "github.com/creack/pty"
	_ "github.com/go-git/go-git/v5"
	_ "github.com/rogpeppe/go-internal/testscript"
	_ "github.com/urfave/cli/v2"
	_ "golang.org/x/crypto/argon2"
	_ "golang.org/x/crypto/ssh/agent"
	_ "golang.org/x/sys/unix"
	_ "golang.org/x/term"
)

func main() {}
