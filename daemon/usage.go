package daemon

// Usage is `wsx agent --help`: the agent's command line is ssh-agent's,
// read by ParseArgs rather than by the command line's flag parser, so its
// help stands beside the parser.
const Usage = `usage: wsx agent [-c | -s] [-Dd] [-a SOCKET] [-t LIFE] [--lock-after DURATION] [CMD [ARG...]]
       wsx agent [-c | -s] -k
       wsx agent reload

Runs the wsx agent: an SSH agent serving the store's keys (and keys added with
ssh-add), and the local API through which wsx commands use the unlocked store.
The store is unlocked once at start (--passphrase-file, WSX_PASSPHRASE_FILE or
the terminal; with none of them it starts locked until ` + "`wsx unlock`" + `).

  -s, -c          print the environment in sh or csh form (default: from $SHELL)
  -a SOCKET       the SSH agent socket (default: the run directory's agent.sock)
  -d              debug: stay in the foreground and log to stderr
  -D              stay in the foreground
  -k              kill the agent named by SSH_AGENT_PID (a wsx agent of yours)
  -t LIFE         default lifetime of added keys: 600, 10m, 1h30m
  --lock-after D  lock the store after D without use (default 1h; 0 never)
  --shared-dir D  also serve both sockets in D, for the users and groups of
                  ` + "`wsx share`" + ` (D yours, mode 0750; the sockets take its group)
  CMD [ARG...]    run CMD with the agent, and stop the agent when CMD exits
  reload          serve again the store keys removed with ssh-add -d/-D

Sockets live in $WSX_HOME/run when WSX_HOME is set, else $XDG_RUNTIME_DIR/wsx.
When an agent already serves the store, -s/-c print its variables. With -a,
-d, -D or CMD a second agent starts beside it: it serves the store's keys and
its own ssh-add'ed keys; wsx commands keep using the first.
`
