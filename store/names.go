package store

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// ValidateName reports whether name is a valid secret name: an environment
// variable name, [A-Za-z_][A-Za-z0-9_]*, of at most MaxNameLen bytes. The
// error wraps ErrInvalidName and says which rule the name breaks; it quotes
// the name with %q so control characters cannot reach a terminal.
func ValidateName(name string) error {
	if name == "" {
		return fmt.Errorf("secret name is empty: %w", ErrInvalidName)
	}
	if len(name) > MaxNameLen {
		return fmt.Errorf("secret name of %d bytes is too long (at most %d): %w", len(name), MaxNameLen, ErrInvalidName)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '_', 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z':
		case '0' <= c && c <= '9':
			if i == 0 {
				return fmt.Errorf("secret name %q starts with a digit; it must start with a letter or _: %w", name, ErrInvalidName)
			}
		case c == 0:
			return fmt.Errorf("secret name %q contains a NUL byte at offset %d: %w", name, i, ErrInvalidName)
		case c < 0x20 || c == 0x7f:
			return fmt.Errorf("secret name %q contains control character 0x%02x at offset %d: %w", name, c, i, ErrInvalidName)
		case c >= 0x80:
			r, _ := utf8.DecodeRuneInString(name[i:])
			return fmt.Errorf("secret name %q contains non-ASCII character %q at offset %d; use A-Z, a-z, 0-9 and _: %w", name, r, i, ErrInvalidName)
		default:
			return fmt.Errorf("secret name %q contains %q at offset %d; use A-Z, a-z, 0-9 and _: %w", name, rune(c), i, ErrInvalidName)
		}
	}
	return nil
}

// dangerousNames are variables that change what a program runs, loads or
// connects to. A secret with such a name, injected by exec, could hijack
// the child.
var dangerousNames = map[string]bool{
	"PATH": true, "HOME": true, "SHELL": true, "IFS": true, "ENV": true, "BASH_ENV": true,
	"PS1": true, "PS2": true, "PS4": true, "PROMPT_COMMAND": true, "SHELLOPTS": true,
	"BASHOPTS": true, "CDPATH": true, "GLOBIGNORE": true, "TMPDIR": true, "TERMINFO": true,
	"NODE_OPTIONS": true, "NODE_PATH": true,
	"PYTHONPATH": true, "PYTHONSTARTUP": true, "PYTHONHOME": true, "PYTHONUSERBASE": true,
	"PYTHONINSPECT": true, "PYTHONBREAKPOINT": true,
	"PERL5OPT": true, "PERL5LIB": true, "PERLLIB": true, "PERL5DB": true,
	"RUBYOPT": true, "RUBYLIB": true,
	"LUA_INIT": true, "LUA_PATH": true, "LUA_CPATH": true,
	"JAVA_TOOL_OPTIONS": true, "_JAVA_OPTIONS": true, "JDK_JAVA_OPTIONS": true, "CLASSPATH": true,
	"GOFLAGS": true, "GCONV_PATH": true, "LOCPATH": true, "HOSTALIASES": true, "RESOLV_HOST_CONF": true,
	"GIT_SSH": true, "GIT_SSH_COMMAND": true, "GIT_EXEC_PATH": true, "GIT_ASKPASS": true,
	"GIT_PROXY_COMMAND": true, "GIT_EXTERNAL_DIFF": true, "GIT_PAGER": true, "GIT_EDITOR": true,
	"GIT_SEQUENCE_EDITOR": true, "GIT_TEMPLATE_DIR": true, "GIT_DIR": true, "GIT_WORK_TREE": true,
	"SSH_AUTH_SOCK": true, "SSH_ASKPASS": true, "SSH_ASKPASS_REQUIRE": true, "SUDO_ASKPASS": true,
	"EDITOR": true, "VISUAL": true, "PAGER": true, "MANPAGER": true, "BROWSER": true,
	"LESSOPEN": true, "LESSCLOSE": true,
}

// dangerousPrefixes are families of such variables.
var dangerousPrefixes = []string{
	"LD_",        // dynamic loader: LD_PRELOAD, LD_LIBRARY_PATH, LD_AUDIT
	"DYLD_",      // macOS loader
	"GIT_CONFIG", // GIT_CONFIG, GIT_CONFIG_GLOBAL, GIT_CONFIG_COUNT, GIT_CONFIG_KEY_0, ...
	"BASH_FUNC_", // exported shell functions
	"WSX_",       // wsx's own settings
	"MALLOC_",    // allocator tuning and checks
	"GLIBC_TUNABLES",
}

// DangerousName reports whether a secret called name, injected into a
// program's environment, could change what that program runs or loads
// (PATH, LD_PRELOAD and every LD_*, BASH_ENV, NODE_OPTIONS,
// GIT_SSH_COMMAND, SSH_AUTH_SOCK, WSX_* ...). The comparison ignores case.
func DangerousName(name string) bool {
	u := strings.ToUpper(name)
	if dangerousNames[u] {
		return true
	}
	for _, p := range dangerousPrefixes {
		if strings.HasPrefix(u, p) {
			return true
		}
	}
	return false
}

// vagueWords are name parts that say what kind of thing a secret is but not
// what it is for.
var vagueWords = map[string]bool{
	"SECRET": true, "SECRETS": true, "KEY": true, "KEYS": true, "PASSWORD": true, "PASSWD": true,
	"PASS": true, "PWD": true, "TOKEN": true, "TOKENS": true, "TEMP": true, "TMP": true, "TEST": true,
	"API": true, "APIKEY": true, "ACCESS": true, "AUTH": true, "CRED": true, "CREDS": true,
	"CREDENTIAL": true, "CREDENTIALS": true, "VALUE": true, "DATA": true, "MY": true, "NEW": true,
	"OLD": true, "FOO": true, "BAR": true, "PRIVATE": true, "PRIV": true, "SSH": true, "X": true,
	"THE": true, "FILE": true,
}

// NameAdvice returns a suggestion when name is valid but vague: lower case
// (environment variables are upper case by convention) or made only of
// generic words such as secret123, key, password1, temp, API_KEY (no part
// says which service the secret belongs to). It returns "" for a good name
// and for an invalid one (ValidateName explains those).
func NameAdvice(name string) string {
	if ValidateName(name) != nil {
		return ""
	}
	upper := strings.ToUpper(name)
	var kept []string
	vague := true
	for _, part := range strings.Split(upper, "_") {
		part = strings.TrimRight(part, "0123456789")
		if part == "" {
			continue
		}
		if !vagueWords[part] {
			vague = false
			break
		}
		kept = append(kept, part)
	}
	switch {
	case vague:
		kind := strings.Join(kept, "_")
		if !kinds[kind] {
			kind = "API_KEY"
		}
		return fmt.Sprintf("the name %s does not say which service the secret is for; prefer a name like STRIPE_%s", name, kind)
	case upper != name:
		return fmt.Sprintf("the name %s is not upper case; environment variable names usually are, e.g. %s", name, upper)
	}
	return ""
}

// kinds are the vague names that still say what kind of secret it is, kept
// in a suggestion.
var kinds = map[string]bool{
	"SECRET": true, "KEY": true, "PASSWORD": true, "PASSWD": true, "TOKEN": true, "API_KEY": true,
	"APIKEY": true, "PRIVATE_KEY": true, "SSH_KEY": true, "ACCESS_TOKEN": true, "AUTH_TOKEN": true,
	"API_TOKEN": true, "CREDENTIALS": true, "ACCESS_KEY": true, "SECRET_KEY": true,
}
