package store

import (
	"fmt"
	"slices"
	"strings"
	"sync"
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

// Reasons shared by several dangerous names.
const (
	whyShellStart = "a file the shell runs when it starts"
	whyProxy      = "sends a program's network traffic through a proxy of its choosing, or exempts hosts from it"
	whyCA         = "decides which certificate authorities TLS trusts, so traffic can be intercepted"
	whyRunsEditor = "a program that git, crontab, less and others start for the user"
	whyLoader     = "makes the dynamic loader load or search other libraries"
	whyPython     = "makes Python import or run code of its choosing at start"
	whyPerl       = "makes Perl load modules or run options of its choosing"
	whyRuby       = "makes Ruby load libraries or options of its choosing"
	whyLua        = "makes Lua run code or search modules of its choosing"
	whyJava       = "adds options or classes to every Java program (an agent runs code)"
	whyNode       = "adds options or modules to every Node.js program (--require runs code)"
	whyGo         = "makes the go command fetch or run code from elsewhere"
	whyGitRepo    = "points git at another repository, work tree or templates (hooks run code)"
	whyGitRuns    = "a program git runs"
	whyAskpass    = "a program asked for passwords, which then sees them"
	whyResolver   = "changes how host names resolve"
	whyConfigDir  = "where programs read their configuration; git's core.fsmonitor or an editor's config runs code"
)

// dangerousNames are variables that change what a program runs, loads or
// connects to, each with the reason. A secret with such a name, injected
// by exec, could hijack the child or redirect its traffic. Keys are upper
// case; DangerousReason compares without case, so http_proxy counts too.
var dangerousNames = sync.OnceValue(func() map[string]string {
	return map[string]string{
		// Shells.
		"PATH":            "decides which program a command name runs",
		"HOME":            "decides where programs read their configuration (~/.bashrc, ~/.gitconfig, ~/.ssh/config)",
		"SHELL":           "the shell programs start for commands",
		"IFS":             "changes how the shell splits words",
		"ENV":             whyShellStart + " (sh, and bash in POSIX mode)",
		"BASH_ENV":        whyShellStart + " (non-interactive bash)",
		"ZDOTDIR":         "the directory zsh reads its startup files from",
		"PS1":             "a prompt bash expands, running the commands it substitutes",
		"PS2":             "a prompt bash expands, running the commands it substitutes",
		"PS4":             "a prompt bash expands, running the commands it substitutes",
		"PROMPT_COMMAND":  "a command bash runs before each prompt",
		"SHELLOPTS":       "shell options bash takes at start",
		"BASHOPTS":        "shell options bash takes at start",
		"CDPATH":          "changes where cd goes",
		"GLOBIGNORE":      "changes what the shell's patterns match",
		"FCEDIT":          whyRunsEditor,
		"TMPDIR":          "where programs create temporary files",
		"TERMINFO":        "terminal descriptions that curses programs load",
		"XDG_CONFIG_HOME": whyConfigDir,
		"XDG_CONFIG_DIRS": whyConfigDir,
		"XDG_DATA_HOME":   "where programs, wsx among them, keep their data",
		"XDG_RUNTIME_DIR": "where programs find their sockets, wsx's agent among them",
		// Programs started for the user.
		"EDITOR":      whyRunsEditor,
		"VISUAL":      whyRunsEditor,
		"SUDO_EDITOR": whyRunsEditor,
		"PAGER":       whyRunsEditor,
		"MANPAGER":    whyRunsEditor,
		"BROWSER":     whyRunsEditor,
		"LESSOPEN":    "an input filter less runs on every file",
		"LESSCLOSE":   "a command less runs after every file",
		"CC":          "the C compiler make, go and pip run",
		"CXX":         "the C++ compiler make and pip run",
		// Network and TLS.
		"OPENSSL_CONF":                 "a configuration file OpenSSL loads, which can load engines and providers (code)",
		"OPENSSL_ENGINES":              "where OpenSSL loads engines (code) from",
		"OPENSSL_MODULES":              "where OpenSSL loads providers (code) from",
		"SSL_CERT_FILE":                whyCA,
		"SSL_CERT_DIR":                 whyCA,
		"CURL_CA_BUNDLE":               whyCA,
		"REQUESTS_CA_BUNDLE":           whyCA,
		"NODE_EXTRA_CA_CERTS":          whyCA,
		"NODE_TLS_REJECT_UNAUTHORIZED": "turns off TLS certificate checks in Node.js",
		"GIT_SSL_NO_VERIFY":            "turns off TLS certificate checks in git",
		"GIT_SSL_CAINFO":               whyCA,
		"GIT_SSL_CAPATH":               whyCA,
		"NO_PROXY":                     whyProxy,
		"CURL_HOME":                    "where curl reads .curlrc, which can send requests elsewhere or write files",
		"WGETRC":                       "a configuration file wget reads, which can send requests elsewhere or write files",
		"HOSTALIASES":                  whyResolver,
		"RESOLV_HOST_CONF":             whyResolver,
		"LOCALDOMAIN":                  whyResolver,
		"RES_OPTIONS":                  whyResolver,
		"KUBECONFIG":                   "which cluster kubectl talks to, and the credential plugins (programs) it runs",
		"DOCKER_HOST":                  "which daemon docker sends commands and credentials to",
		"DOCKER_CONFIG":                "docker's configuration, whose credential helpers are programs it runs",
		"AWS_CONFIG_FILE":              "the AWS configuration, whose credential_process is a program the SDKs run",
		// SSH and password prompts.
		"SSH_AUTH_SOCK":       "the agent ssh asks to sign: another one could refuse or log",
		"SSH_ASKPASS":         whyAskpass,
		"SSH_ASKPASS_REQUIRE": "makes ssh run SSH_ASKPASS",
		"SUDO_ASKPASS":        whyAskpass,
		"GIT_ASKPASS":         whyAskpass,
		// git.
		"GIT_EXEC_PATH":                    "where git finds its subcommands (programs)",
		"GIT_PROXY_COMMAND":                whyGitRuns + " to connect",
		"GIT_EXTERNAL_DIFF":                whyGitRuns + " for diffs",
		"GIT_PAGER":                        whyRunsEditor,
		"GIT_EDITOR":                       whyRunsEditor,
		"GIT_SEQUENCE_EDITOR":              whyRunsEditor,
		"GIT_TEMPLATE_DIR":                 whyGitRepo,
		"GIT_DIR":                          whyGitRepo,
		"GIT_WORK_TREE":                    whyGitRepo,
		"GIT_INDEX_FILE":                   whyGitRepo,
		"GIT_OBJECT_DIRECTORY":             whyGitRepo,
		"GIT_ALTERNATE_OBJECT_DIRECTORIES": whyGitRepo,
		// Interpreters and tool chains.
		"NODE_OPTIONS":        whyNode,
		"NODE_PATH":           whyNode,
		"PYTHONPATH":          whyPython,
		"PYTHONSTARTUP":       whyPython,
		"PYTHONHOME":          whyPython,
		"PYTHONUSERBASE":      whyPython,
		"PYTHONINSPECT":       whyPython,
		"PYTHONBREAKPOINT":    whyPython,
		"PYTHONWARNINGS":      whyPython + " (a warning filter imports the category it names)",
		"PIP_INDEX_URL":       "makes pip install packages from another index",
		"PIP_EXTRA_INDEX_URL": "makes pip install packages from another index",
		"PIP_CONFIG_FILE":     "a configuration file pip reads, which can name another index",
		"PIP_TRUSTED_HOST":    "turns off TLS checks for a host in pip",
		"PERL5OPT":            whyPerl,
		"PERL5LIB":            whyPerl,
		"PERLLIB":             whyPerl,
		"PERL5DB":             whyPerl,
		"RUBYOPT":             whyRuby,
		"RUBYLIB":             whyRuby,
		"LUA_INIT":            whyLua,
		"LUA_PATH":            whyLua,
		"LUA_CPATH":           whyLua,
		"JAVA_TOOL_OPTIONS":   whyJava,
		"_JAVA_OPTIONS":       whyJava,
		"JDK_JAVA_OPTIONS":    whyJava,
		"CLASSPATH":           whyJava,
		"GOFLAGS":             whyGo,
		"GOPROXY":             whyGo,
		"GOSUMDB":             whyGo,
		"GONOSUMDB":           whyGo,
		"GONOSUMCHECK":        whyGo,
		"GOINSECURE":          whyGo,
		"GOTOOLCHAIN":         whyGo,
		"GOENV":               whyGo,
		// C library.
		"GCONV_PATH":     "where glibc loads character set converters (code) from",
		"LOCPATH":        "where glibc loads locales from",
		"GLIBC_TUNABLES": "tunes glibc's allocator and loader in every program",
	}
})

// dangerousPrefixes are families of such variables, with the reason.
var dangerousPrefixes = []struct{ prefix, why string }{
	{"LD_", whyLoader},   // LD_PRELOAD, LD_LIBRARY_PATH, LD_AUDIT
	{"DYLD_", whyLoader}, // macOS
	{"GIT_CONFIG", "adds git configuration, which can name programs git runs"}, // GIT_CONFIG, GIT_CONFIG_GLOBAL, GIT_CONFIG_KEY_0, GIT_CONFIG_PARAMETERS
	{"GIT_SSH", "the ssh program git runs"},                                    // GIT_SSH, GIT_SSH_COMMAND, GIT_SSH_VARIANT
	{"GIT_TRACE", "makes git write its requests, auth headers included, to a file"},
	{"NPM_CONFIG_", "sets npm's configuration: registry, script-shell, node-options (runs code)"},
	{"BASH_FUNC_", "defines shell functions every bash child imports"},
	{"WSX_", "wsx's own settings: store, agent, passphrase file"},
	{"MALLOC_", "tunes the allocator of every program"},
}

// dangerousSuffixes are families named by their end.
var dangerousSuffixes = []struct{ suffix, why string }{
	{"_PROXY", whyProxy}, // HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, FTP_PROXY, http_proxy, ...
}

// DangerousReason says why a variable called name, set in a program's
// environment, could change what that program runs, loads or connects to
// (PATH, LD_PRELOAD and every LD_*, BASH_ENV, XDG_CONFIG_HOME, *_PROXY,
// SSL_CERT_FILE, NODE_OPTIONS, GIT_SSH_COMMAND, EDITOR, WSX_* ...); it
// returns "" for a name that cannot. The comparison ignores case.
func DangerousReason(name string) string {
	u := strings.ToUpper(name)
	if why, ok := dangerousNames()[u]; ok {
		return why
	}
	for _, p := range dangerousPrefixes {
		if strings.HasPrefix(u, p.prefix) {
			return p.why
		}
	}
	for _, p := range dangerousSuffixes {
		if strings.HasSuffix(u, p.suffix) {
			return p.why
		}
	}
	return ""
}

// DangerousName reports whether DangerousReason has a reason for name.
func DangerousName(name string) bool { return DangerousReason(name) != "" }

// CheckDangerousName refuses a name DangerousReason has a reason for, with
// an error that names it, gives the reason and wraps ErrDangerousName. It
// is the check for names from any source: the store's Add, and exec on
// names that come back from the store, the agent or a manifest.
func CheckDangerousName(name string) error {
	if why := DangerousReason(name); why != "" {
		return fmt.Errorf("secret %s: a program given this variable can be made to run or reach something else (%s): %w", name, why, ErrDangerousName)
	}
	return nil
}

// vagueWords are name parts that say what kind of thing a secret is but not
// what it is for.
var vagueWords = sync.OnceValue(func() map[string]bool {
	return map[string]bool{
		"SECRET": true, "SECRETS": true, "KEY": true, "KEYS": true, "PASSWORD": true, "PASSWD": true,
		"PASS": true, "PWD": true, "TOKEN": true, "TOKENS": true, "TEMP": true, "TMP": true, "TEST": true,
		"API": true, "APIKEY": true, "ACCESS": true, "AUTH": true, "CRED": true, "CREDS": true,
		"CREDENTIAL": true, "CREDENTIALS": true, "VALUE": true, "DATA": true, "MY": true, "NEW": true,
		"OLD": true, "FOO": true, "BAR": true, "PRIVATE": true, "PRIV": true, "SSH": true, "X": true,
		"THE": true, "FILE": true,
	}
})

// kindWords maps the words that say what kind of secret a name holds to
// the word a suggestion uses for them.
var kindWords = sync.OnceValue(func() map[string]string {
	return map[string]string{
		"SECRET": "SECRET", "SECRETS": "SECRET",
		"KEY": "KEY", "KEYS": "KEY", "APIKEY": "API_KEY",
		"PASSWORD": "PASSWORD", "PASSWD": "PASSWORD", "PASS": "PASSWORD", "PWD": "PASSWORD",
		"TOKEN": "TOKEN", "TOKENS": "TOKEN",
		"CRED": "CREDENTIALS", "CREDS": "CREDENTIALS", "CREDENTIAL": "CREDENTIALS", "CREDENTIALS": "CREDENTIALS",
	}
})

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
		if !vagueWords()[w] {
			vague = false
			break
		}
		if k, ok := kindWords()[w]; ok && !slices.Contains(kind, k) {
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
				return fmt.Sprintf("the name %s runs words together; %s_%s reads better", name, service, kindWords()[k])
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
