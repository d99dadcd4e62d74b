package credhelper

import (
	"os"
	"path/filepath"
	"strings"
)

// HelperFor returns the credential.helper value that makes git start wsx's
// helper directly: git-credential-wsx, when it is beside the wsx at exe (an
// absolute path), a small program that asks the agent itself and hands
// everything else over to that wsx; else "/path/to/wsx credential". git
// runs a helper given as an absolute path as it is, with the operation
// appended; the short form "wsx" instead makes git start a second git
// (`git credential-wsx`) to find git-credential-wsx on PATH.
func HelperFor(exe string) string {
	lean := filepath.Join(filepath.Dir(exe), "git-credential-wsx")
	if fi, err := os.Stat(lean); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
		return helperFor(lean, "")
	}
	return helperFor(exe, " credential")
}

// helperFor is the credential.helper value that runs prog with args. A
// path holding characters the shell would read is quoted, after the "!"
// that tells git the value is a shell command.
func helperFor(prog, args string) string {
	if prog != "" && strings.Trim(prog, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.,:/@+") == "" {
		return prog + args
	}
	return "!'" + strings.ReplaceAll(prog, "'", `'\''`) + "'" + args
}

// HelperProgram returns the program git starts for the credential.helper
// value h: the first word of a "!" command or of an absolute path, else
// git-credential-NAME (found on PATH).
func HelperProgram(h string) string {
	if strings.HasPrefix(h, "!") || filepath.IsAbs(h) {
		return firstWord(strings.TrimPrefix(h, "!"))
	}
	return "git-credential-" + firstWord(h)
}

// firstWord returns the first word of a shell command line, with single
// and double quotes and backslashes removed as the shell would; it is
// meant for the program name of a credential.helper value, not for
// anything the shell would expand.
func firstWord(s string) string {
	s = strings.TrimLeft(s, " \t")
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case ' ', '\t', '\n':
			return b.String()
		case '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				j = len(s) - i - 1
			}
			b.WriteString(s[i+1 : i+1+j])
			i += j + 1
		case '"':
			for i++; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				b.WriteByte(s[i])
			}
		case '\\':
			if i+1 < len(s) {
				i++
				b.WriteByte(s[i])
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// SetupHelpers returns the credential.helper list of one git config scope
// once wsx is set up in it: helper (see HelperFor) as the first helper
// git asks, the other helpers kept after it in their order, earlier wsx
// entries (IsWSX) dropped. An empty entry resets the list built so far (gitcredentials(7)),
// so helper goes right after the last one; entries up to it stay as they
// are. The result equals current when nothing needs to change.
func SetupHelpers(current []string, helper string) []string {
	reset := -1
	for i, h := range current {
		if h == "" {
			reset = i
		}
	}
	out := make([]string, 0, len(current)+1)
	for _, h := range current[:reset+1] {
		if !IsWSX(h) {
			out = append(out, h)
		}
	}
	out = append(out, helper)
	for _, h := range current[reset+1:] {
		if !IsWSX(h) {
			out = append(out, h)
		}
	}
	return out
}

// EffectiveHelpers returns the helpers git asks, in order, given every
// credential.helper value of every scope in the order git reads them: the
// entries after the last empty one.
func EffectiveHelpers(all []string) []string {
	for i := len(all) - 1; i >= 0; i-- {
		if all[i] == "" {
			return all[i+1:]
		}
	}
	return all
}

// IsWSX reports whether the credential.helper value h runs wsx: "wsx",
// a path ending in /wsx or git-credential-wsx, with or without a leading
// "!", quoted or not, and with any arguments.
func IsWSX(h string) bool {
	p := firstWord(strings.TrimPrefix(h, "!"))
	return p == "wsx" || p == "git-credential-wsx" || strings.HasSuffix(p, "/wsx") || strings.HasSuffix(p, "/git-credential-wsx")
}

// IsPlaintextStore reports whether the credential.helper value h is git's
// own store helper, which writes every password that works to a file in
// clear.
func IsPlaintextStore(h string) bool {
	f := strings.Fields(strings.TrimPrefix(h, "!"))
	if len(f) == 0 {
		return false
	}
	p := f[0]
	return p == "store" || p == "git-credential-store" || strings.HasSuffix(p, "/git-credential-store") ||
		(filepath.Base(p) == "git" && len(f) > 1 && f[1] == "credential-store")
}
