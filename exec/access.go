package exec

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"embed"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/wsxdev/wsx/audit"
	"github.com/wsxdev/wsx/internal/caller"
	"golang.org/x/sys/unix"
)

// The access hooks: a Node.js preload and a Python sitecustomize that
// report which code reads each injected secret (strings: read in place,
// not copied, on every run), and the proxy's preload.
var (
	//go:embed hooks/node.js
	nodeHook string
	//go:embed hooks/sitecustomize.py
	pyHook string
	//go:embed hooks/proxy.js
	hooks embed.FS
)

// AccessRecorder appends the `accessed` records of a run (release.Store's
// Record, or the wsx agent's).
type AccessRecorder interface {
	Record(rs ...audit.Record) error
}

// Variables the hooks read: the pipe to report on, and the names to watch.
const (
	EnvAccess      = "WSX_ACCESS"
	EnvAccessNames = "WSX_ACCESS_NAMES"
)

// Bounds on what a child can make the supervisor keep or write.
const (
	maxAccessLine   = 2048    // bytes of one report, newline included
	maxAccessFile   = 1024    // bytes of a file name in a report
	maxAccessLineNo = 1 << 24 // a line number
	maxAccessPlaces = 4096    // distinct (secret, file:line) of one run
	accessDrainWait = time.Second
)

// accessMsg is one report of a hook.
type accessMsg struct {
	Kind    string // "hello" (hook loaded), "fail" (hook could not install), "read"
	Runtime string // of hello and fail: "node" or "python"
	Name    string // of read: the secret
	File    string // of read: the file, or node_modules/PKG, site-packages/PKG
	Line    int    // of read: 1-based; 0 for a package
}

var errAccessMsg = errors.New("malformed access report")

// parseAccess reads one report, without its newline: "hello\tRUNTIME",
// "fail\tRUNTIME" or "read\tNAME\tLINE\tFILE". A read must name a secret of
// names; the file is printable UTF-8 of at most maxAccessFile bytes. The
// child is not trusted: anything else is an error.
func parseAccess(line []byte, names map[string]bool) (accessMsg, error) {
	if len(line) >= maxAccessLine || !utf8.Valid(line) {
		return accessMsg{}, errAccessMsg
	}
	f := strings.Split(string(line), "\t")
	switch {
	case len(f) == 2 && (f[0] == "hello" || f[0] == "fail") && (f[1] == "node" || f[1] == "python"):
		return accessMsg{Kind: f[0], Runtime: f[1]}, nil
	case len(f) == 4 && f[0] == "read":
	default:
		return accessMsg{}, errAccessMsg
	}
	m := accessMsg{Kind: "read", Name: f[1], File: f[3]}
	if !names[m.Name] {
		return accessMsg{}, errAccessMsg
	}
	if f[2] == "" || len(f[2]) > 8 || strings.TrimLeft(f[2], "0123456789") != "" || len(f[2]) > 1 && f[2][0] == '0' {
		return accessMsg{}, errAccessMsg
	}
	m.Line, _ = strconv.Atoi(f[2])
	if m.Line > maxAccessLineNo {
		return accessMsg{}, errAccessMsg
	}
	if m.File == "" || len(m.File) > maxAccessFile {
		return accessMsg{}, errAccessMsg
	}
	for _, c := range m.File {
		if c < 0x20 || c == 0x7f || c >= 0x80 && c < 0xa0 || c == utf8.RuneError {
			return accessMsg{}, errAccessMsg
		}
	}
	return m, nil
}

// accessRun collects the `accessed` records of one run: the static places
// of a shell script, and what the hooks report while the program runs.
// Records are written as they come, a batch per write (group commit), and
// the rest when the run ends.
type accessRun struct {
	rec     AccessRecorder
	names   map[string]bool
	ordered []string
	command string
	stderr  io.Writer

	place   hookPlace // where the hooks and the pipe are
	env     []Injected
	fifo    *os.File // our end, read and write
	end     string   // the line that ends the reading, unknown to the child
	runtime string   // "node" or "python" when argv runs one

	mu      sync.Mutex
	seen    map[string]bool
	loaded  map[string]bool // runtimes whose hook said hello
	failed  map[string]bool // runtimes whose hook said fail
	bad     int             // reports refused
	dropped int             // places over maxAccessPlaces
	pending []audit.Record
	err     error

	once                sync.Once
	flusherOnce         sync.Once // starts the flusher with the first record
	flushing            bool      // the flusher was started
	kick                chan struct{}
	stop                chan struct{}
	readDone, flushDone chan struct{}
}

// startAccess prepares the `accessed` records of a run of argv with the
// secrets names: it records the static places of a shell script and, with
// hooks, on a RAM filesystem (candidates, as for file secrets), writes the
// hooks and makes the pipe they report on. It returns nil when rec is nil or no
// secret is injected. unsafe lists the injected secrets whose names the
// hooks would need to set (NODE_OPTIONS, PYTHONPATH): that hook is then
// left out.
func startAccess(rec AccessRecorder, argv []string, cwd string, names []string, parent []string, candidates []string, hooks bool, stderr io.Writer) *accessRun {
	if rec == nil || len(names) == 0 {
		return nil
	}
	a := &accessRun{
		rec: rec, names: make(map[string]bool, len(names)), ordered: names, command: caller.Command(argv), stderr: stderr,
		runtime: runtimeOf(argv),
		seen:    map[string]bool{}, loaded: map[string]bool{}, failed: map[string]bool{},
		kick: make(chan struct{}, 1), stop: make(chan struct{}), flushDone: make(chan struct{}),
	}
	for _, n := range names {
		a.names[n] = true
	}
	if isShellScript(argv, cwd) {
		for n, l := range ScriptContext(argv, cwd, names) {
			if l.Line > 0 {
				a.add(n, l.File, l.Line)
			}
		}
	}
	if !hooks {
		a.unavailable("no hooks: wsx runs the command in its place (--no-mask), nothing would hear them")
		return a
	}
	if err := a.openHooks(parent, candidates); err != nil {
		a.closeHooks()
		a.unavailable("no hooks: " + err.Error())
	}
	return a
}

// openHooks puts the hooks in place (placeHooks) with the pipe they write
// to, and starts reading it.
func (a *accessRun) openHooks(parent []string, candidates []string) error {
	for _, n := range []string{EnvAccess, EnvAccessNames} {
		if a.names[n] {
			return fmt.Errorf("a secret is named %s, which the hooks use", n)
		}
	}
	var err error
	a.place, err = placeHooks(candidates)
	if err != nil {
		return err
	}
	// Unguessable, so the child cannot end the reading early.
	a.end = "end\t" + rand.Text()
	fifo, nodePath, pyDir := a.place.fifo, a.place.node, a.place.pyDir
	// Read and write: the pipe never reports the end of input, and a hook
	// opening it to write never waits for a reader.
	fd, err := unix.Open(fifo, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return fmt.Errorf("pipe: %w", err)
	}
	a.fifo = os.NewFile(uintptr(fd), fifo)
	a.env = []Injected{
		{Name: EnvAccess, Value: []byte(fifo)},
		{Name: EnvAccessNames, Value: []byte(strings.Join(a.ordered, ","))},
	}
	if !a.names["NODE_OPTIONS"] {
		opts, _ := lookupEnv(parent, "NODE_OPTIONS")
		if opts != "" {
			opts += " "
		}
		a.env = append(a.env, Injected{Name: "NODE_OPTIONS", Value: []byte(opts + "--require " + nodeQuote(nodePath))})
	}
	if !a.names["PYTHONPATH"] {
		pp := pyDir
		if old, _ := lookupEnv(parent, "PYTHONPATH"); old != "" {
			pp += ":" + old
		}
		a.env = append(a.env, Injected{Name: "PYTHONPATH", Value: []byte(pp)})
	}
	a.readDone = make(chan struct{})
	go a.read()
	return nil
}

// nodeQuote quotes s as NODE_OPTIONS reads a double-quoted word.
func nodeQuote(s string) string {
	if !strings.ContainsAny(s, `\"`) {
		return `"` + s + `"`
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// Env returns the variables that load the hooks, nil when they are off.
func (a *accessRun) Env() []Injected {
	if a == nil {
		return nil
	}
	return a.env
}

// hooked says the hooks are in place: the run needs its supervisor.
func (a *accessRun) hooked() bool { return a != nil && a.fifo != nil }

// read reads reports until the end line, bounded in length; a line too
// long is skipped whole.
func (a *accessRun) read() {
	defer close(a.readDone)
	br := bufio.NewReaderSize(a.fifo, maxAccessLine)
	skip := false
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			skip = true
			continue
		}
		if err != nil {
			return
		}
		if skip {
			skip = false
			a.refuse()
			continue
		}
		line = bytes.TrimSuffix(line, []byte("\n"))
		if string(line) == a.end {
			return
		}
		m, err := parseAccess(line, a.names)
		if err != nil {
			a.refuse()
			continue
		}
		switch m.Kind {
		case "hello":
			a.mu.Lock()
			a.loaded[m.Runtime] = true
			a.mu.Unlock()
		case "fail":
			a.mu.Lock()
			a.failed[m.Runtime] = true
			a.mu.Unlock()
		case "read":
			a.add(m.Name, m.File, m.Line)
		}
	}
}

func (a *accessRun) refuse() {
	a.mu.Lock()
	a.bad++
	a.mu.Unlock()
}

// add queues the record of name read at file:line, once per run.
func (a *accessRun) add(name, file string, line int) {
	key := name + "\x00" + strconv.Itoa(line) + "\x00" + file
	a.mu.Lock()
	switch {
	case a.seen[key]:
	case len(a.seen) >= maxAccessPlaces:
		a.dropped++
	default:
		a.seen[key] = true
		a.pending = append(a.pending, audit.Record{Event: audit.EventAccessed, Secret: name, Via: audit.ViaExec,
			Result: audit.ResultOK, Context: &audit.Context{Command: a.command, File: file, Line: line}})
	}
	a.mu.Unlock()
	a.kickFlusher()
}

// unavailable queues, for every secret, a record saying that where it is
// read is not known for this run, and why.
func (a *accessRun) unavailable(why string) {
	a.mu.Lock()
	for _, n := range a.ordered {
		a.pending = append(a.pending, audit.Record{Event: audit.EventAccessed, Secret: n, Via: audit.ViaExec,
			Result: audit.ResultError, Detail: "unavailable: " + why, Context: &audit.Context{Command: a.command}})
	}
	a.mu.Unlock()
	a.kickFlusher()
}

// kickFlusher has the flusher write what is pending, starting it at the
// first record: a run that records nothing while the command runs needs
// no goroutine for it.
func (a *accessRun) kickFlusher() {
	a.flusherOnce.Do(func() {
		a.flushing = true
		go a.flusher()
	})
	select {
	case a.kick <- struct{}{}:
	default:
	}
}

// flusher writes what is pending whenever something comes, in one batch,
// until stop; then the rest.
func (a *accessRun) flusher() {
	defer close(a.flushDone)
	for {
		select {
		case <-a.kick:
			a.flush()
		case <-a.stop:
			a.flush()
			return
		}
	}
}

func (a *accessRun) flush() {
	a.mu.Lock()
	batch := a.pending
	a.pending = nil
	a.mu.Unlock()
	for len(batch) > 0 {
		n := min(len(batch), 1024) // release.MaxNames
		if err := a.rec.Record(batch[:n]...); err != nil {
			a.mu.Lock()
			if a.err == nil {
				a.err = err
			}
			a.mu.Unlock()
		}
		batch = batch[n:]
	}
}

// finish ends the run's reports: it reads what the hooks wrote until now,
// says when the program's hook did not load, writes every pending record,
// and removes the hooks. A record that could not be written is reported
// on stderr; it does not change the command's status.
func (a *accessRun) finish() {
	if a != nil {
		a.once.Do(a.end1)
	}
}

func (a *accessRun) end1() {
	if a.fifo != nil {
		// Our end line comes after everything written so far.
		a.fifo.SetDeadline(time.Now().Add(accessDrainWait))
		a.fifo.Write([]byte(a.end + "\n"))
		<-a.readDone
		a.mu.Lock()
		why := ""
		switch {
		case a.failed[a.runtime]:
			why = "the " + a.runtime + " hook could not install"
		case a.runtime != "" && !a.loaded[a.runtime]:
			why = "the " + a.runtime + " hook did not load"
		}
		a.mu.Unlock()
		if why != "" {
			a.unavailable(why)
		}
	}
	a.closeHooks()
	a.flusherOnce.Do(func() {}) // none starts from now on
	if a.flushing {
		close(a.stop)
		<-a.flushDone
	}
	a.flush() // what came after the flusher ended, or without one
	if a.bad > 0 && a.stderr != nil {
		fmt.Fprintf(a.stderr, "wsx: warning: %d malformed access reports from the command were ignored\n", a.bad)
	}
	if a.dropped > 0 && a.stderr != nil {
		fmt.Fprintf(a.stderr, "wsx: warning: %d places where a secret was read are not recorded: more than %d in one run\n", a.dropped, maxAccessPlaces)
	}
	if a.err != nil && a.stderr != nil {
		fmt.Fprintf(a.stderr, "wsx: warning: where the secrets were read is not recorded: %v\n", a.err)
	}
}

// closeHooks closes the pipe and removes it (with the run directory of
// the hooks, when they have one of their own).
func (a *accessRun) closeHooks() {
	if a.fifo != nil {
		a.fifo.Close()
	}
	a.place.remove()
	a.place = hookPlace{}
	a.env = nil
}

// runtimeOf names the runtime argv starts, "node" or "python", or "".
func runtimeOf(argv []string) string {
	for len(argv) > 0 && filepath.Base(argv[0]) == "env" {
		i := 1
		for i < len(argv) && (strings.HasPrefix(argv[i], "-") || strings.Contains(argv[i], "=")) {
			i++
		}
		argv = argv[i:]
	}
	if len(argv) == 0 {
		return ""
	}
	switch prog := filepath.Base(argv[0]); {
	case prog == "node" || prog == "nodejs":
		return "node"
	case isPython(prog):
		return "python"
	}
	return ""
}

var shells = []string{"sh", "bash", "zsh", "dash", "ksh", "mksh", "ash"}

// isShellScript says argv runs a shell script: a shell with a script
// operand, or a file whose #! line names a shell.
func isShellScript(argv []string, cwd string) bool {
	file := scriptOf(argv, 0)
	if file == "" {
		return false
	}
	for len(argv) > 0 && filepath.Base(argv[0]) == "env" {
		argv = argv[1:]
	}
	if len(argv) > 0 && slices.Contains(shells, filepath.Base(argv[0])) {
		return true
	}
	data := readScript(file, cwd)
	first, _, _ := bytes.Cut(data, []byte("\n"))
	if !bytes.HasPrefix(first, []byte("#!")) {
		return false
	}
	f := strings.Fields(string(first[2:]))
	if len(f) > 1 && filepath.Base(f[0]) == "env" {
		f = f[1:]
	}
	return len(f) > 0 && slices.Contains(shells, filepath.Base(f[0]))
}
