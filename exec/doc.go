// Package exec runs a program with secrets, the library half of `wsx exec`
// and `wsx shell`.
//
// The model: a secret reaches a child in exactly two ways, both invisible
// to `ps`. Values go in the environment, built by BuildEnv with one entry
// per name (the secret wins over any inherited entry) and EnvMarker so a
// nested wsx can tell (Nested). File secrets (FileSecret) become a path in
// the environment that the child and every process it starts can open: a
// 0400 file in a per-run 0700 directory on a RAM filesystem
// ($XDG_RUNTIME_DIR when it is one, else /dev/shm), removed when the
// command ends; a run killed before it could remove its directory has it
// removed by the next run. The bytes are never on a disk path. (wsx itself
// is non-dumpable, so /proc/<wsx>/fd/N would not open for its
// descendants.) Where no RAM filesystem exists, a sealed memfd passed as
// the child's /dev/fd/N, which only the direct child has. ExecInPlace
// passes memfds named /proc/<command>/fd/N, open while the command lives.
//
// Whatever the child prints can be masked by internal/mask: one automaton
// over every value and its encoded forms, a Writer per output stream.
//
// Supervise runs the child: pipes, or a pty whose output (including what
// the child writes to /dev/tty) passes through the masker; INT, TERM, HUP,
// QUIT and WINCH forwarded; the exit status is the child's, or 128+N for a
// signal N; the child gets SIGHUP if wsx dies. Without masking and without
// a pty, ExecInPlace replaces wsx by the program at no cost.
//
// Where the program reads each secret is recorded as `accessed` while it
// runs (startAccess): hooks for Node.js and Python, written once to the
// user's own directory on a RAM filesystem (placeHooks), each run's FIFO
// beside them, report "read NAME LINE FILE"
// lines that the supervisor checks strictly and writes in batches through
// Spec.Access; a shell script gets its static line.
//
// ScriptContext names the script a command runs and the line in it that
// uses each secret, for the audit record.
//
// Run is the flow of `wsx exec` and `wsx shell`, top to bottom: check the
// command can be found, choose the secrets from metadata (Choose), record
// their use and receive their values in one Use (release.Releaser) — or,
// through the agent (release.Selector), choose, record and receive in one
// request —, build the environment, close the store, and run the child.
package exec
