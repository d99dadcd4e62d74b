package store

import (
	"fmt"
	"slices"
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

// kindWords maps the words that say what kind of secret a name holds to
// the word a suggestion uses for them.
var kindWords = map[string]string{
	"SECRET": "SECRET", "SECRETS": "SECRET",
	"KEY": "KEY", "KEYS": "KEY", "APIKEY": "API_KEY",
	"PASSWORD": "PASSWORD", "PASSWD": "PASSWORD", "PASS": "PASSWORD", "PWD": "PASSWORD",
	"TOKEN": "TOKEN", "TOKENS": "TOKEN",
	"CRED": "CREDENTIALS", "CREDS": "CREDENTIALS", "CREDENTIAL": "CREDENTIALS", "CREDENTIALS": "CREDENTIALS",
}

// example is a well-named secret of the kind the vague words of a name
// describe: the service first, then the kind of secret.
func example(kind string) string {
	switch {
	case kind == "":
		return "GITHUB_TOKEN, DATABASE_PASSWORD or STRIPE_API_KEY"
	case strings.HasSuffix(kind, "PASSWORD"):
		return "DATABASE_PASSWORD"
	case strings.HasSuffix(kind, "TOKEN"):
		return "GITHUB_" + kind
	case strings.Contains(kind, "SSH"), strings.Contains(kind, "PRIVATE"):
		return "GITHUB_DEPLOY_KEY"
	case kind == "SECRET", strings.HasPrefix(kind, "ACCESS"), strings.HasPrefix(kind, "SECRET_"):
		return "AWS_SECRET_ACCESS_KEY"
	case kind == "CREDENTIALS":
		return "GCP_CREDENTIALS"
	case kind == "KEY":
		return "STRIPE_API_KEY"
	}
	return "STRIPE_" + kind
}

// words splits a name into its words: at underscores or, in a name without
// any, where a lower-case letter or digit is followed by an upper-case one
// (githubToken).
func words(name string) []string {
	camel := !strings.Contains(name, "_")
	var out []string
	start := 0
	for i := 0; i <= len(name); i++ {
		end := i == len(name) || name[i] == '_'
		if !end && camel && i > start && isUpper(name[i]) && !isUpper(name[i-1]) {
			out = append(out, name[start:i])
			start = i
			continue
		}
		if end {
			if i > start {
				out = append(out, name[start:i])
			}
			start = i + 1
		}
	}
	return out
}

func isUpper(c byte) bool { return 'A' <= c && c <= 'Z' }

// NameAdvice returns a suggestion when name is valid but vague, or not
// written as environment variables usually are. Vague names are made only
// of generic words (secret123, key, password1, temp, API_KEY, MY_TOKEN: no
// part says which service the secret belongs to); the advice shows a name
// of the same kind with a service, such as GITHUB_TOKEN, DATABASE_PASSWORD,
// STRIPE_API_KEY or AWS_SECRET_ACCESS_KEY. Lower or mixed case names
// (github_token, githubToken) get their upper-case form, GITHUB_TOKEN; a
// single word that ends in a kind (GITHUBTOKEN) gets it split off. It
// returns "" for a good name and for an invalid one (ValidateName explains
// those).
func NameAdvice(name string) string {
	if ValidateName(name) != nil {
		return ""
	}
	ws := words(name)
	upper := make([]string, len(ws))
	for i, w := range ws {
		upper[i] = strings.ToUpper(w)
	}
	conventional := strings.Join(upper, "_")
	var kind []string
	vague := true
	for _, w := range upper {
		w = strings.TrimRight(w, "0123456789")
		if w == "" {
			continue
		}
		if !vagueWords[w] {
			vague = false
			break
		}
		if k, ok := kindWords[w]; ok && !slices.Contains(kind, k) {
			kind = append(kind, k)
		} else if w == "ACCESS" || w == "PRIVATE" || w == "SSH" || w == "API" || w == "AUTH" {
			kind = append(kind, w)
		}
	}
	if vague {
		return fmt.Sprintf("the name %s does not say which service the secret is for; name the service, then the kind of secret, e.g. %s", name, example(kindOf(kind)))
	}
	if conventional != name {
		return fmt.Sprintf("the name %s is not in upper case with _ between words, as environment variable names usually are: %s", name, conventional)
	}
	if len(upper) == 1 {
		for _, k := range []string{"PASSWORD", "TOKEN", "APIKEY"} {
			if service, ok := strings.CutSuffix(upper[0], k); ok && len(service) >= 2 {
				return fmt.Sprintf("the name %s runs words together; %s_%s reads better", name, service, kindWords[k])
			}
		}
	}
	return ""
}

// kindOf joins the kind words of a vague name into the kind a suggestion
// keeps ("API", "KEY" -> "API_KEY"); "" when they name no kind.
func kindOf(parts []string) string {
	k := strings.Join(parts, "_")
	switch k {
	case "", "API", "AUTH", "ACCESS", "PRIVATE":
		return ""
	case "SSH":
		return "SSH_KEY"
	}
	return k
}
