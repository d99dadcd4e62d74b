package exec

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/wsxdev/wsx/internal/release"
	"github.com/wsxdev/wsx/store"
	"golang.org/x/sys/unix"
)

// maxScriptRead caps the bytes ScriptContext reads from a script.
const maxScriptRead = 1 << 20

// Location is where a command's script names a secret. Line is 1-based, 0
// when the script does not name it.
type Location struct {
	File string
	Line int
}

// ScriptContext finds the script argv runs (`node app.js` -> app.js,
// `./deploy.sh` -> deploy.sh, `bash -e x.sh` -> x.sh; `sh -c ...`,
// `python3 -m mod`, `node -e ...` run no file) and, for each name, the
// first line of it that names the secret as a whole word. File is the path
// as given, cleaned, and made relative to cwd when it is an absolute path
// under cwd. The result is empty when no script file can be read; binaries
// (a NUL byte near the start) are not scripts. At most 1 MiB is read.
func ScriptContext(argv []string, cwd string, names []string) map[string]Location {
	sc, complete := scriptWords(argv, cwd)
	if sc == nil {
		return nil
	}
	var data []byte
	if !complete {
		data = readScript(scriptOf(argv, 0), cwd)
	}
	out := make(map[string]Location, len(names))
	for _, name := range names {
		l := Location{File: sc.File, Line: sc.Lines[name]}
		if !complete {
			l.Line = firstLine(data, name)
		}
		out[name] = l
	}
	return out
}

// maxScriptWords bounds the words scriptWords keeps: what one request to
// the agent carries.
const maxScriptWords = 4096

// scriptWords reads the script argv runs, as ScriptContext does, once:
// its path as the records show it, and the first line of each whole word
// in it that is a valid secret name. It is nil when argv runs no script
// that can be read; complete is false when the script holds more than
// maxScriptWords such words (Lines then holds none).
func scriptWords(argv []string, cwd string) (sc *release.Script, complete bool) {
	file := scriptOf(argv, 0)
	if file == "" {
		return nil, true
	}
	data := readScript(file, cwd)
	if data == nil {
		return nil, true
	}
	shown := filepath.Clean(file)
	if filepath.IsAbs(shown) && cwd != "" {
		if rel, err := filepath.Rel(filepath.Clean(cwd), shown); err == nil && !strings.HasPrefix(rel, "..") {
			shown = rel
		}
	}
	sc = &release.Script{File: shown, Lines: map[string]int{}}
	line := 1
	for i := 0; i < len(data); {
		c := data[i]
		if !isWordByte(c) {
			if c == '\n' {
				line++
			}
			i++
			continue
		}
		j := i
		for j < len(data) && isWordByte(data[j]) {
			j++
		}
		if w := data[i:j]; (c < '0' || c > '9') && len(w) <= store.MaxNameLen {
			if _, seen := sc.Lines[string(w)]; !seen {
				if len(sc.Lines) == maxScriptWords {
					sc.Lines = nil
					return sc, false
				}
				sc.Lines[string(w)] = line
			}
		}
		i = j
	}
	return sc, true
}

// isPython says prog names a Python interpreter: python or pypy, and
// digits and dots (python3, python3.12, pypy3).
func isPython(prog string) bool {
	rest, ok := strings.CutPrefix(prog, "python")
	if !ok {
		rest, ok = strings.CutPrefix(prog, "pypy")
	}
	return ok && strings.Trim(rest, "0123456789.") == ""
}

// scriptOf returns the script file argv would run, or "".
func scriptOf(argv []string, depth int) string {
	if len(argv) == 0 || depth > 4 {
		return ""
	}
	prog := filepath.Base(argv[0])
	args := argv[1:]
	switch {
	case prog == "env":
		for i := 0; i < len(args); i++ {
			a := args[i]
			switch {
			case a == "-u" || a == "--unset" || a == "-C" || a == "--chdir" || a == "-S":
				i++
			case strings.HasPrefix(a, "-"):
			case strings.Contains(a, "="):
			default:
				return scriptOf(args[i:], depth+1)
			}
		}
		return ""
	case prog == "sh" || prog == "bash" || prog == "zsh" || prog == "dash" ||
		prog == "ksh" || prog == "mksh" || prog == "ash" || prog == "fish":
		return firstOperand(args, []string{"-c", "-s", "-i"},
			[]string{"-o", "+o", "-O", "+O", "--rcfile", "--init-file"})
	case isPython(prog):
		return firstOperand(args, []string{"-c", "-m"},
			[]string{"-W", "-X", "--check-hash-based-pycs"})
	case prog == "node" || prog == "nodejs" || prog == "tsx" || prog == "ts-node":
		return firstOperand(args, []string{"-e", "--eval", "-p", "--print", "-i", "--interactive"},
			[]string{"-r", "--require", "--import", "--loader", "--experimental-loader", "-C", "--conditions", "--env-file"})
	case prog == "ruby":
		return firstOperand(args, []string{"-e"}, []string{"-r", "-I", "-C", "-E"})
	case prog == "perl":
		return firstOperand(args, []string{"-e", "-E"}, []string{"-I", "-M", "-m"})
	case prog == "php":
		for i, a := range args {
			if a == "-f" && i+1 < len(args) {
				return args[i+1]
			}
		}
		return firstOperand(args, []string{"-r", "-a"}, []string{"-c", "-d", "-z"})
	case prog == "deno":
		if len(args) > 0 && args[0] == "run" {
			return firstOperand(args[1:], []string{"-"}, nil)
		}
		return ""
	case prog == "bun":
		if len(args) > 0 && args[0] == "run" {
			args = args[1:]
		}
		if len(args) > 0 && (args[0] == "x" || args[0] == "-e" || args[0] == "--eval") {
			return ""
		}
		return firstOperand(args, nil, nil)
	case strings.Contains(argv[0], "/"):
		return argv[0] // a script run directly (its shebang picks the interpreter)
	}
	return ""
}

// firstOperand returns the first argument that is not an option, or "" when
// an option in noFile (code given inline, a module, stdin) comes first.
// Options in withArg consume the next argument.
func firstOperand(args, noFile, withArg []string) string {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			if i+1 < len(args) && args[i+1] != "-" {
				return args[i+1]
			}
			return ""
		case a == "-":
			return ""
		case containsStr(noFile, a):
			return ""
		case containsStr(withArg, a):
			i++
		case strings.HasPrefix(a, "-") || strings.HasPrefix(a, "+") && len(a) > 1:
			// An option without argument, or --opt=value. Combined short
			// flags ending in an inline-code flag (python -uc) run no file.
			if len(a) > 2 && a[1] != '-' {
				for _, nf := range noFile {
					if len(nf) == 2 && strings.HasSuffix(a, nf[1:]) {
						return ""
					}
				}
			}
		default:
			return a
		}
	}
	return ""
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// readScript reads up to maxScriptRead bytes of a regular, non-binary file.
// Opening is non-blocking so a FIFO cannot hang the caller.
func readScript(file, cwd string) []byte {
	p := file
	if !filepath.IsAbs(p) {
		p = filepath.Join(cwd, p)
	}
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	if err != nil {
		return nil
	}
	f := os.NewFile(uintptr(fd), p)
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return nil
	}
	data, err := io.ReadAll(io.LimitReader(f, maxScriptRead))
	if err != nil {
		return nil
	}
	if bytes.IndexByte(data[:min(len(data), 8000)], 0) >= 0 {
		return nil
	}
	return data
}

func isWordByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// firstLine returns the 1-based line of the first whole-word occurrence of
// name in data, or 0.
func firstLine(data []byte, name string) int {
	if name == "" {
		return 0
	}
	off := 0
	for {
		i := bytes.Index(data[off:], []byte(name))
		if i < 0 {
			return 0
		}
		i += off
		end := i + len(name)
		if (i == 0 || !isWordByte(data[i-1])) && (end == len(data) || !isWordByte(data[end])) {
			return 1 + bytes.Count(data[:i], []byte("\n"))
		}
		off = i + 1
	}
}
