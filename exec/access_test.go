package exec

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/wsxdev/wsx/audit"
	"golang.org/x/sys/unix"
)

var testNames = map[string]bool{"DATABASE_URL": true, "API_TOKEN": true}

func TestParseAccess(t *testing.T) {
	good := []struct {
		line string
		want accessMsg
	}{
		{"hello\tnode", accessMsg{Kind: "hello", Runtime: "node"}},
		{"fail\tpython", accessMsg{Kind: "fail", Runtime: "python"}},
		{"read\tDATABASE_URL\t7\tlib/db.js", accessMsg{Kind: "read", Name: "DATABASE_URL", File: "lib/db.js", Line: 7}},
		{"read\tAPI_TOKEN\t0\tnode_modules/@org/pkg", accessMsg{Kind: "read", Name: "API_TOKEN", File: "node_modules/@org/pkg"}},
		{"read\tAPI_TOKEN\t12\t/srv/app/é spaced.py", accessMsg{Kind: "read", Name: "API_TOKEN", File: "/srv/app/é spaced.py", Line: 12}},
	}
	for _, tc := range good {
		got, err := parseAccess([]byte(tc.line), testNames)
		if err != nil || got != tc.want {
			t.Errorf("parseAccess(%q) = %+v, %v; want %+v", tc.line, got, err, tc.want)
		}
	}
	bad := []string{
		"",
		"hello",
		"hello\truby",
		"hello\tnode\textra",
		"read\tOTHER_SECRET\t1\ta.js",   // not injected
		"read\tdatabase_url\t1\ta.js",   // case matters
		"read\tDATABASE_URL\t\ta.js",    // no line
		"read\tDATABASE_URL\t-1\ta.js",  // sign
		"read\tDATABASE_URL\t+1\ta.js",  // sign
		"read\tDATABASE_URL\t007\ta.js", // leading zero
		"read\tDATABASE_URL\t99999999\ta.js",
		"read\tDATABASE_URL\t1e3\ta.js",
		"read\tDATABASE_URL\t1\t", // no file
		"read\tDATABASE_URL\t1\ta\x1b[31m.js",
		"read\tDATABASE_URL\t1\ta\u0085.js",
		"read\tDATABASE_URL\t1\ta\x7f.js",
		"read\tDATABASE_URL\t1\ta\xff.js", // invalid UTF-8
		"read\tDATABASE_URL\t1\ta.js\tb",
		"read\tDATABASE_URL\t1\t" + strings.Repeat("a", maxAccessFile+1),
		"read\tDATABASE_URL\t1\t" + strings.Repeat("a", maxAccessLine),
		"READ\tDATABASE_URL\t1\ta.js",
		"used\tDATABASE_URL\t1\ta.js",
	}
	for _, line := range bad {
		if got, err := parseAccess([]byte(line), testNames); err == nil {
			t.Errorf("parseAccess(%q) = %+v, want an error", line, got)
		}
	}
}

// FuzzParseAccess: what a child writes never panics the parser, and what
// it accepts names an injected secret, a bounded printable file and line,
// and formats back to the same bytes.
func FuzzParseAccess(f *testing.F) {
	for _, s := range []string{"hello\tnode", "fail\tpython", "read\tDATABASE_URL\t7\tlib/db.js",
		"read\tAPI_TOKEN\t0\tnode_modules/x", "read\tAPI_TOKEN\t1\t\x00", "read\tX\t1\ta", "\t\t\t"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		m, err := parseAccess(line, testNames)
		if err != nil {
			return
		}
		var back string
		switch m.Kind {
		case "hello", "fail":
			back = m.Kind + "\t" + m.Runtime
		case "read":
			if !testNames[m.Name] {
				t.Fatalf("accepted name %q", m.Name)
			}
			if m.Line < 0 || m.Line > maxAccessLineNo || m.File == "" || len(m.File) > maxAccessFile || !utf8.ValidString(m.File) {
				t.Fatalf("accepted %+v", m)
			}
			for _, c := range m.File {
				if c < 0x20 || c == 0x7f {
					t.Fatalf("accepted control character in %q", m.File)
				}
			}
			back = "read\t" + m.Name + "\t" + strconv.Itoa(m.Line) + "\t" + m.File
		default:
			t.Fatalf("kind %q", m.Kind)
		}
		if back != string(line) {
			t.Fatalf("%q parsed as %+v, formats as %q", line, m, back)
		}
	})
}

// fakeRecorder keeps the batches it is given, and says when one comes.
type fakeRecorder struct {
	mu      sync.Mutex
	batches [][]audit.Record
	came    chan struct{}
	err     error
}

func newFakeRecorder() *fakeRecorder { return &fakeRecorder{came: make(chan struct{}, 1024)} }

func (f *fakeRecorder) Record(rs ...audit.Record) error {
	f.mu.Lock()
	f.batches = append(f.batches, append([]audit.Record(nil), rs...))
	f.mu.Unlock()
	f.came <- struct{}{}
	return f.err
}

func (f *fakeRecorder) all() []audit.Record {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []audit.Record
	for _, b := range f.batches {
		out = append(out, b...)
	}
	return out
}

func (f *fakeRecorder) wait(t *testing.T) {
	t.Helper()
	select {
	case <-f.came:
	case <-time.After(10 * time.Second):
		t.Fatal("no records written while the command runs")
	}
}

func places(rs []audit.Record) []string {
	var out []string
	for _, r := range rs {
		s := string(r.Event) + " " + r.Secret + " " + r.Result
		if r.Context != nil && r.Context.File != "" {
			s += fmt.Sprintf(" %s:%d", r.Context.File, r.Context.Line)
		}
		if r.Detail != "" {
			s += " (" + r.Detail + ")"
		}
		out = append(out, s)
	}
	return out
}

func ramDir(t *testing.T) string {
	t.Helper()
	if !isRAMFS("/dev/shm") {
		t.Skip("no /dev/shm on a RAM filesystem")
	}
	dir, err := os.MkdirTemp("/dev/shm", "wsx-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// A hostile child writes what it likes on the pipe: only distinct reads
// of injected names are recorded, each once; the rest is counted and
// dropped; a forged end line does not end the reading early.
func TestAccessRunHostileChild(t *testing.T) {
	rec := newFakeRecorder()
	var stderr strings.Builder
	a := startAccess(rec, []string{"node", "app.js"}, t.TempDir(), []string{"DATABASE_URL", "API_TOKEN"}, nil, []string{ramDir(t)}, true, &stderr)
	if !a.hooked() {
		t.Fatal("hooks not in place")
	}
	env := map[string]string{}
	for _, e := range a.Env() {
		env[e.Name] = string(e.Value)
	}
	pl := a.place
	if env[EnvAccessNames] != "DATABASE_URL,API_TOKEN" || !strings.HasSuffix(env["NODE_OPTIONS"], pl.node+`"`) ||
		env["PYTHONPATH"] != pl.pyDir || env[EnvAccess] != pl.fifo || pl.runDir != "" {
		t.Fatalf("env = %v, place %+v", env, pl)
	}
	fi, err := os.Lstat(filepath.Dir(pl.node))
	if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Fatalf("hooks dir: %v %v", fi, err)
	}
	for _, f := range []string{pl.node, filepath.Join(pl.pyDir, "sitecustomize.py")} {
		if fi, err := os.Lstat(f); err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o400 {
			t.Fatalf("%s: %v %v", f, fi, err)
		}
	}
	w, err := os.OpenFile(env[EnvAccess], os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	write := func(s string) {
		if _, err := w.WriteString(s); err != nil {
			t.Fatal(err)
		}
	}
	write("hello\tnode\nread\tDATABASE_URL\t7\tlib/db.js\n")
	rec.wait(t)                                  // written while the command runs
	write("read\tDATABASE_URL\t7\tlib/db.js\n" + // again: once
		"read\tDATABASE_URL\t9\tlib/db.js\n" +
		"read\tSOMETHING_ELSE\t1\tx.js\n" +
		strings.Repeat("x", 3*maxAccessLine) + "\n" +
		"read\tAPI_TOKEN\t0\tnode_modules/left-token\n" +
		"end\t00000000000000000000000000000000\n" +
		"read\tAPI_TOKEN\t3\tapp.js")
	write("\n")
	a.finish()
	got := strings.Join(places(rec.all()), "\n")
	want := strings.Join([]string{
		"accessed DATABASE_URL ok lib/db.js:7",
		"accessed DATABASE_URL ok lib/db.js:9",
		"accessed API_TOKEN ok node_modules/left-token:0",
		"accessed API_TOKEN ok app.js:3",
	}, "\n")
	if got != want {
		t.Errorf("records:\n%s\nwant:\n%s", got, want)
	}
	if !strings.Contains(stderr.String(), "3 malformed access reports") {
		t.Errorf("stderr = %q", stderr.String())
	}
	if _, err := os.Lstat(pl.fifo); !os.IsNotExist(err) {
		t.Errorf("pipe left behind: %v", err)
	}
	if _, err := os.Lstat(pl.node); err != nil {
		t.Errorf("shared hook removed: %v", err)
	}
}

// The places one run keeps are bounded.
func TestAccessRunBounded(t *testing.T) {
	rec := newFakeRecorder()
	var stderr strings.Builder
	a := startAccess(rec, []string{"./app"}, t.TempDir(), []string{"API_TOKEN"}, nil, []string{ramDir(t)}, true, &stderr)
	w, err := os.OpenFile(a.fifo.Name(), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range maxAccessPlaces + 10 {
		if _, err := fmt.Fprintf(w, "read\tAPI_TOKEN\t%d\tapp.js\n", i+1); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	a.finish()
	if n := len(rec.all()); n != maxAccessPlaces {
		t.Errorf("%d records, want %d", n, maxAccessPlaces)
	}
	for _, b := range rec.batches {
		if len(b) > 1024 {
			t.Errorf("a batch of %d records", len(b))
		}
	}
	if !strings.Contains(stderr.String(), "10 places") {
		t.Errorf("stderr = %q", stderr.String())
	}
}

// Without a RAM filesystem there are no hooks: the environment is left as
// it is, and every secret's record says where it is read is unknown.
func TestAccessRunNoHooks(t *testing.T) {
	rec := newFakeRecorder()
	parent := []string{"NODE_OPTIONS=--max-old-space-size=100"}
	a := startAccess(rec, []string{"node", "app.js"}, t.TempDir(), []string{"DATABASE_URL", "API_TOKEN"}, parent, []string{"not/absolute"}, true, nil)
	if a.hooked() || a.Env() != nil {
		t.Fatalf("hooks without a RAM filesystem: %v", a.Env())
	}
	a.finish()
	got := places(rec.all())
	if len(got) != 2 || !strings.HasPrefix(got[0], "accessed DATABASE_URL error (unavailable: no hooks: ") {
		t.Errorf("records = %q", got)
	}
}

// A node program whose hook never says hello: unavailable, named.
func TestAccessRunHookSilent(t *testing.T) {
	rec := newFakeRecorder()
	a := startAccess(rec, []string{"env", "FOO=1", "python3", "-E", "x.py"}, t.TempDir(), []string{"API_TOKEN"}, nil, []string{ramDir(t)}, true, nil)
	a.finish()
	got := places(rec.all())
	if len(got) != 1 || got[0] != "accessed API_TOKEN error (unavailable: the python hook did not load)" {
		t.Errorf("records = %q", got)
	}
}

// The user's NODE_OPTIONS and PYTHONPATH are kept; a secret of that name
// keeps the hook out.
func TestAccessEnvKeepsUsers(t *testing.T) {
	rec := newFakeRecorder()
	parent := []string{"NODE_OPTIONS=--trace-warnings", "PYTHONPATH=/opt/lib"}
	base := ramDir(t)
	a := startAccess(rec, []string{"true"}, t.TempDir(), []string{"API_TOKEN"}, parent, []string{base}, true, nil)
	env := BuildEnv(parent, a.Env())
	a.finish()
	node, _ := lookupEnv(env, "NODE_OPTIONS")
	py, _ := lookupEnv(env, "PYTHONPATH")
	if !strings.HasPrefix(node, "--trace-warnings --require \""+base+"/wsx-hooks-") || !strings.HasSuffix(py, ":/opt/lib") || !strings.Contains(py, "/py-") {
		t.Errorf("NODE_OPTIONS=%q PYTHONPATH=%q", node, py)
	}
	b := startAccess(rec, []string{"true"}, t.TempDir(), []string{"NODE_OPTIONS"}, parent, []string{ramDir(t)}, true, nil)
	for _, e := range b.Env() {
		if e.Name == "NODE_OPTIONS" {
			t.Errorf("hook set NODE_OPTIONS over a secret of that name")
		}
	}
	b.finish()
	// A secret named as the hooks' own variable: no hooks, its value kept.
	c := startAccess(rec, []string{"true"}, t.TempDir(), []string{EnvAccess}, parent, []string{ramDir(t)}, true, nil)
	if c.hooked() || c.Env() != nil {
		t.Errorf("hooks over a secret named %s: %v", EnvAccess, c.Env())
	}
	c.finish()
}

func TestRuntimeAndShell(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "run"), []byte("#!/usr/bin/env bash\necho $X\n"), 0o755)
	os.WriteFile(filepath.Join(dir, "app"), []byte("#!/usr/bin/env node\n"), 0o755)
	for _, tc := range []struct {
		argv    []string
		runtime string
		shell   bool
	}{
		{[]string{"node", "app.js"}, "node", false},
		{[]string{"/usr/bin/python3.12", "-m", "app"}, "python", false},
		{[]string{"env", "A=1", "-i", "nodejs", "x"}, "node", false},
		{[]string{"sh", "deploy.sh"}, "", true},
		{[]string{"sh", "-c", "echo $X"}, "", false},
		{[]string{"./run"}, "", true},
		{[]string{"./app"}, "", false},
		{[]string{"ruby", "x.rb"}, "", false},
	} {
		if got := runtimeOf(tc.argv); got != tc.runtime {
			t.Errorf("runtimeOf(%q) = %q, want %q", tc.argv, got, tc.runtime)
		}
		if got := isShellScript(tc.argv, dir); got != tc.shell {
			t.Errorf("isShellScript(%q) = %v, want %v", tc.argv, got, tc.shell)
		}
	}
}

// A command run in wsx's place has no hooks: nothing would read the pipe.
func TestAccessRunInPlace(t *testing.T) {
	rec := newFakeRecorder()
	a := startAccess(rec, []string{"node", "app.js"}, t.TempDir(), []string{"API_TOKEN"}, nil, []string{ramDir(t)}, false, nil)
	if a.hooked() || a.Env() != nil {
		t.Fatalf("hooks for a command run in place: %v", a.Env())
	}
	a.finish()
	got := places(rec.all())
	if len(got) != 1 || !strings.Contains(got[0], "unavailable: no hooks: wsx runs the command in its place") {
		t.Errorf("records = %q", got)
	}
}

// The hooks are written once and shared by the runs that follow; each run
// has a pipe of its own, removed at its end; a hook file cut short is
// written again; the pipe of a run killed before its end is swept.
func TestPlaceHooksShared(t *testing.T) {
	base := ramDir(t)
	a, err := placeHooks([]string{"", "relative", base})
	if err != nil {
		t.Fatal(err)
	}
	if a.runDir != "" || filepath.Dir(a.node) != filepath.Join(base, fmt.Sprintf("wsx-hooks-%d", os.Getuid())) {
		t.Fatalf("first place %+v", a)
	}
	for _, f := range []struct{ path, want string }{{a.node, nodeHook}, {filepath.Join(a.pyDir, "sitecustomize.py"), pyHook}} {
		if got, err := os.ReadFile(f.path); err != nil || len(f.want) < 1000 || string(got) != f.want {
			t.Fatalf("%s: %d bytes, want the %d of the hook (%v)", f.path, len(got), len(f.want), err)
		}
	}
	before, _ := os.Lstat(a.node)
	b, err := placeHooks([]string{base})
	if err != nil {
		t.Fatal(err)
	}
	after, _ := os.Lstat(b.node)
	if b.node != a.node || b.pyDir != a.pyDir || b.fifo == a.fifo || !os.SameFile(before, after) {
		t.Fatalf("second run: %+v after %+v (hook rewritten: %v)", b, a, !os.SameFile(before, after))
	}
	a.remove()
	b.remove()
	for _, f := range []string{a.fifo, b.fifo} {
		if _, err := os.Lstat(f); !os.IsNotExist(err) {
			t.Errorf("pipe %s left: %v", f, err)
		}
	}

	// Cut short, as by a crash while it was written in place.
	if err := os.Chmod(a.node, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(a.node, []byte("// half"), 0o400); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(a.node, 0o400); err != nil {
		t.Fatal(err)
	}
	// A pipe left by a killed run: a pid no process has.
	stale := filepath.Join(filepath.Dir(a.node), "access-2147483646-1")
	if err := unix.Mkfifo(stale, 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := placeHooks([]string{base})
	if err != nil {
		t.Fatal(err)
	}
	defer c.remove()
	got, err := os.ReadFile(c.node)
	want := nodeHook
	if err != nil || string(got) != want {
		t.Errorf("hook cut short not rewritten: %d bytes, want %d (%v)", len(got), len(want), err)
	}
	if _, err := os.Lstat(stale); !os.IsNotExist(err) {
		t.Errorf("stale pipe not swept: %v", err)
	}
}

// SECURITY (other local users): a directory of the shared name that is not
// this user's own 0700 directory (here: group- and other-writable, as one
// made by another user in a shared /dev/shm could be; or a symlink) is
// not used: the run writes its hooks to a run directory of its own, and
// removes it at the end.
func TestPlaceHooksForeignDir(t *testing.T) {
	for _, tc := range []string{"loose", "symlink"} {
		t.Run(tc, func(t *testing.T) {
			base := ramDir(t)
			shared := filepath.Join(base, fmt.Sprintf("wsx-hooks-%d", os.Getuid()))
			switch tc {
			case "loose":
				if err := os.Mkdir(shared, 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(shared, 0o777); err != nil {
					t.Fatal(err)
				}
			case "symlink":
				if err := os.Symlink(t.TempDir(), shared); err != nil {
					t.Fatal(err)
				}
			}
			p, err := placeHooks([]string{base})
			if err != nil {
				t.Fatal(err)
			}
			if p.runDir == "" || strings.HasPrefix(p.node, shared) || strings.HasPrefix(p.fifo, shared) {
				t.Fatalf("used %s: %+v", shared, p)
			}
			p.remove()
			if _, err := os.Lstat(p.runDir); !os.IsNotExist(err) {
				t.Errorf("run dir left behind: %v", err)
			}
		})
	}
}

// Runs that start together on a fresh system all use the shared hooks.
func TestPlaceHooksConcurrent(t *testing.T) {
	base := ramDir(t)
	places := make([]hookPlace, 8)
	errs := make([]error, len(places))
	var wg sync.WaitGroup
	for i := range places {
		wg.Add(1)
		go func() {
			defer wg.Done()
			places[i], errs[i] = placeHooks([]string{base})
		}()
	}
	wg.Wait()
	for i, p := range places {
		if errs[i] != nil || p.runDir != "" || p.node != places[0].node {
			t.Errorf("run %d: %+v, %v", i, p, errs[i])
		}
		p.remove()
	}
}
