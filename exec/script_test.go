package exec

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestScriptContext(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		t.Helper()
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write("app.js", "const x = 1\n// MY_GITHUB_TOKEN is not it\nconst t = process.env.GITHUB_TOKEN\nuse(GITHUB_TOKEN, DB_PASS)\n")
	write("deploy.sh", "#!/bin/sh\nset -e\ncurl -H \"Authorization: $API_KEY\" x\n")
	write("scripts/run.py", "import os\n\nprint(os.environ['API_KEY'])\n")
	write("bin.elf", "\x7fELF\x00\x00API_KEY\n")
	write("big.sh", strings.Repeat("# filler line\n", (maxScriptRead/14)+10)+"API_KEY\n")
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo.sh"), 0o600); err != nil {
		t.Fatal(err)
	}

	names := []string{"GITHUB_TOKEN", "API_KEY", "DB_PASS"}
	cases := []struct {
		argv []string
		file string
		line map[string]int
	}{
		{[]string{"node", "app.js"}, "app.js", map[string]int{"GITHUB_TOKEN": 3, "API_KEY": 0, "DB_PASS": 4}},
		{[]string{"/usr/bin/node", "--require", "x", "--env-file=.env", "app.js"}, "app.js", map[string]int{"GITHUB_TOKEN": 3}},
		{[]string{"./deploy.sh", "prod"}, "deploy.sh", map[string]int{"API_KEY": 3, "GITHUB_TOKEN": 0}},
		{[]string{"bash", "-e", "-o", "pipefail", "deploy.sh"}, "deploy.sh", map[string]int{"API_KEY": 3}},
		{[]string{"sh", "deploy.sh"}, "deploy.sh", map[string]int{"API_KEY": 3}},
		{[]string{"python3", "-u", "scripts/run.py"}, "scripts/run.py", map[string]int{"API_KEY": 3}},
		{[]string{"python3.12", "./scripts/../scripts/run.py"}, "scripts/run.py", map[string]int{"API_KEY": 3}},
		{[]string{"env", "A=b", "-u", "X", "node", "app.js"}, "app.js", map[string]int{"DB_PASS": 4}},
		{[]string{"node", filepath.Join(dir, "app.js")}, "app.js", map[string]int{"GITHUB_TOKEN": 3}},
		{[]string{"deno", "run", "--allow-env", "app.js"}, "app.js", map[string]int{"GITHUB_TOKEN": 3}},
		{[]string{"bun", "run", "app.js"}, "app.js", map[string]int{"GITHUB_TOKEN": 3}},
		{[]string{"bash", "--", "deploy.sh"}, "deploy.sh", map[string]int{"API_KEY": 3}},
	}
	for _, c := range cases {
		got := ScriptContext(c.argv, dir, names)
		for name, line := range c.line {
			loc, ok := got[name]
			if !ok || loc.File != c.file || loc.Line != line {
				t.Errorf("%v: %s at %+v (found %v), want %s:%d", c.argv, name, loc, ok, c.file, line)
			}
		}
	}

	none := [][]string{
		{"python3", "-m", "http.server"},
		{"python3", "-c", "print(1)"},
		{"python3", "-uc", "print(1)"},
		{"sh", "-c", "echo $API_KEY"},
		{"bash", "-ec", "echo"},
		{"node", "-e", "1"},
		{"node"},
		{"ruby", "-e", "puts 1"},
		{"perl", "-e", "1"},
		{"npx", "app.js"},
		{"ls", "app.js"},
		{"./bin.elf"},
		{"node", "missing.js"},
		{"sh", "-"},
		{"bash", "fifo.sh"},
		{"deno", "task", "app.js"},
		{},
	}
	for _, argv := range none {
		if got := ScriptContext(argv, dir, names); len(got) != 0 {
			t.Errorf("%v: got %v, want no context", argv, got)
		}
	}

	// Reading stops at 1 MiB: a name only past the cap is not found.
	if got := ScriptContext([]string{"sh", "big.sh"}, dir, names); got["API_KEY"] != (Location{File: "big.sh"}) {
		t.Errorf("big.sh: %+v", got["API_KEY"])
	}
}

func TestIsPython(t *testing.T) {
	for prog, want := range map[string]bool{"python": true, "python3": true, "python3.12": true, "pypy3": true,
		"pythonw": false, "ipython": false, "python3-config": false, "node": false} {
		if got := isPython(prog); got != want {
			t.Errorf("isPython(%q) = %v, want %v", prog, got, want)
		}
	}
}
