package store

import (
	"strings"
	"testing"
)

// SECURITY.md item 7.
func TestValidateName(t *testing.T) {
	bad := map[string]string{ // name -> words the error must contain
		"":                        "empty",
		".":                       `'.'`,
		"..":                      `'.'`,
		"/":                       `'/'`,
		"A/B":                     `'/'`,
		"../ETC":                  `'.'`,
		"A\x00B":                  "NUL",
		"A\nB":                    "control character 0x0a",
		"A\x1bB":                  "control character 0x1b",
		"A\x7fB":                  "control character 0x7f",
		"1TOKEN":                  "starts with a digit",
		"MY-TOKEN":                `'-'`,
		"MY.TOKEN":                `'.'`,
		"MY TOKEN":                `' '`,
		"TOKEN=1":                 `'='`,
		"TÖKEN":                   "non-ASCII",
		strings.Repeat("A", 129):  "too long",
		strings.Repeat("A", 1000): "too long",
	}
	for name, want := range bad {
		err := ValidateName(name)
		wantErr(t, "ValidateName "+strings.ToValidUTF8(name, "?"), err, ErrInvalidName, want)
		if err != nil && strings.ContainsAny(err.Error(), "\x00\n\x1b\x7f") {
			t.Errorf("error for %q carries a raw control character", name)
		}
	}
	for _, name := range []string{"A", "_", "_X", "GITHUB_TOKEN", "a1", "Z9_z", strings.Repeat("A", 128)} {
		if err := ValidateName(name); err != nil {
			t.Errorf("ValidateName(%q) = %v, want nil", name, err)
		}
	}
}

func TestCaseOnlyDuplicate(t *testing.T) {
	s, _ := newTestStore(t)
	mustAdd(t, s, "GITHUB_TOKEN", TypeToken, "value-1")
	for _, name := range []string{"GITHUB_TOKEN", "github_token", "Github_Token"} {
		_, err := s.Add(Secret{Meta: Meta{Name: name, Type: TypeToken}, Value: NewValue([]byte("value-2"))})
		wantErr(t, "Add "+name, err, ErrExists, name, "GITHUB_TOKEN")
	}
	for _, name := range []string{"", "A/B", "..", "A\x00"} {
		_, err := s.Add(Secret{Meta: Meta{Name: name, Type: TypeToken}, Value: NewValue([]byte("v"))})
		wantErr(t, "Add invalid name", err, ErrInvalidName)
		_, err = s.Get(name)
		wantErr(t, "Get invalid name", err, ErrInvalidName)
		wantErr(t, "Remove invalid name", s.Remove(name), ErrInvalidName)
	}
	metas, err := s.List()
	if err != nil || len(metas) != 1 {
		t.Errorf("List after refused adds: %d metas, %v", len(metas), err)
	}
}

func TestDangerousName(t *testing.T) {
	for _, name := range []string{
		"PATH", "path", "LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "BASH_ENV", "ENV", "NODE_OPTIONS",
		"PYTHONPATH", "PYTHONSTARTUP", "PERL5OPT", "RUBYOPT", "GIT_SSH_COMMAND", "GIT_SSH", "GIT_EXEC_PATH",
		"GIT_CONFIG", "GIT_CONFIG_GLOBAL", "GIT_CONFIG_KEY_0", "SSH_AUTH_SOCK", "HOME", "SHELL", "IFS",
		"PS4", "PROMPT_COMMAND", "DYLD_INSERT_LIBRARIES", "WSX_HOME", "WSX_PASSPHRASE_FILE", "GIT_ASKPASS",
		"JAVA_TOOL_OPTIONS", "EDITOR",
	} {
		if !DangerousName(name) {
			t.Errorf("DangerousName(%q) = false", name)
		}
	}
	for _, name := range []string{"GITHUB_TOKEN", "DB_PASSWORD", "PATHFINDER_TOKEN", "MY_LD_TOKEN", "HOMEPAGE_KEY", "ENVOY_TOKEN"} {
		if DangerousName(name) {
			t.Errorf("DangerousName(%q) = true", name)
		}
	}

	s, _ := newTestStore(t)
	sec := Secret{Meta: Meta{Name: "LD_PRELOAD", Type: TypeFile}, Value: NewValue([]byte("/tmp/x.so"))}
	_, err := s.Add(sec)
	wantErr(t, "Add LD_PRELOAD", err, ErrDangerousName, "LD_PRELOAD")
	_, err = s.Add(sec, AddOptions{})
	wantErr(t, "Add LD_PRELOAD with zero options", err, ErrDangerousName)
	if _, err := s.Add(sec, AddOptions{AllowDangerousName: true}); err != nil {
		t.Fatalf("Add LD_PRELOAD allowed: %v", err)
	}
	if _, err := s.Get("LD_PRELOAD"); err != nil {
		t.Fatal(err)
	}
}

func TestNameAdvice(t *testing.T) {
	vague := map[string]string{ // name -> the suggestion the advice must contain
		"secret123":    "AWS_SECRET_ACCESS_KEY",
		"SECRET123":    "AWS_SECRET_ACCESS_KEY",
		"key":          "STRIPE_API_KEY",
		"password1":    "DATABASE_PASSWORD",
		"MY_PASS":      "DATABASE_PASSWORD",
		"temp":         "GITHUB_TOKEN, DATABASE_PASSWORD or STRIPE_API_KEY",
		"API_KEY":      "STRIPE_API_KEY",
		"apiKey":       "STRIPE_API_KEY",
		"TOKEN":        "GITHUB_TOKEN",
		"ACCESS_TOKEN": "GITHUB_ACCESS_TOKEN",
		"SECRET_KEY":   "AWS_SECRET_ACCESS_KEY",
		"SSH_KEY":      "GITHUB_DEPLOY_KEY",
		"PRIVATE_KEY":  "GITHUB_DEPLOY_KEY",
		"CREDS":        "GCP_CREDENTIALS",
		"TEST_1":       "which service",
		"_":            "which service",
		"db_password":  "DB_PASSWORD",
		"github_token": ": GITHUB_TOKEN",
		"githubToken":  ": GITHUB_TOKEN",
		"GitHub_Token": ": GITHUB_TOKEN",
		"GITHUBTOKEN":  "GITHUB_TOKEN reads better",
		"STRIPEAPIKEY": "STRIPE_API_KEY reads better",
	}
	for name, want := range vague {
		got := NameAdvice(name)
		if !strings.Contains(got, want) || !strings.Contains(got, name) {
			t.Errorf("NameAdvice(%q) = %q, want it to name it and suggest %q", name, got, want)
		}
	}
	for _, name := range []string{"GITHUB_TOKEN", "STRIPE_API_KEY", "DB_PASSWORD", "AWS_SECRET_ACCESS_KEY", "NPM_TOKEN_2",
		"DATABASE_URL", "SENTRY_DSN", "MONKEY", "GIT_CREDENTIAL_0123456789ABCDEF0123456789ABCDEF", "A/B", ""} {
		if got := NameAdvice(name); got != "" {
			t.Errorf("NameAdvice(%q) = %q, want none", name, got)
		}
	}
	// Every suggestion is itself a name that needs no advice.
	for name := range vague {
		for _, w := range strings.FieldsFunc(NameAdvice(name), func(r rune) bool { return r == ' ' || r == ',' }) {
			if strings.Count(w, "_") > 0 && w == strings.ToUpper(w) && ValidateName(w) == nil && w != name {
				if adv := NameAdvice(w); adv != "" && !vagueAll(w) {
					t.Errorf("suggestion %s for %s gets advice itself: %s", w, name, adv)
				}
			}
		}
	}
}

// vagueAll reports whether every word of name is generic (a name quoted in
// advice about itself).
func vagueAll(name string) bool {
	for _, w := range strings.Split(name, "_") {
		if w != "" && !vagueWords()[strings.TrimRight(w, "0123456789")] {
			return false
		}
	}
	return true
}

// SECURITY.md item 72: names that run code or redirect traffic are refused
// without AllowDangerousName, each with its reason, in either case.
func TestDangerousNamesThatRunCodeOrRedirectTraffic(t *testing.T) {
	names := []string{
		"XDG_CONFIG_HOME", "ZDOTDIR", "BASH_ENV", "ENV", "OPENSSL_CONF", "SSL_CERT_FILE", "SSL_CERT_DIR",
		"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy",
		"CURL_HOME", "NPM_CONFIG_REGISTRY", "npm_config_script_shell", "PYTHONWARNINGS", "PYTHONSTARTUP",
		"PROMPT_COMMAND", "GIT_SSH", "GIT_SSH_COMMAND", "GIT_SSH_VARIANT", "GIT_CONFIG_PARAMETERS",
		"GIT_CONFIG_COUNT", "EDITOR", "VISUAL", "PAGER", "KUBECONFIG", "GOTOOLCHAIN", "NODE_EXTRA_CA_CERTS",
	}
	s, _ := newTestStore(t)
	for _, name := range names {
		why := DangerousReason(name)
		if why == "" {
			t.Errorf("DangerousReason(%q) is empty", name)
			continue
		}
		err := CheckDangerousName(name)
		wantErr(t, "CheckDangerousName "+name, err, ErrDangerousName, name, why)
		_, err = s.Add(Secret{Meta: Meta{Name: name, Type: TypeToken}, Value: NewValue([]byte("value-of-" + name))})
		wantErr(t, "Add "+name, err, ErrDangerousName, name)
	}
	if metas, err := s.List(); err != nil || len(metas) != 0 {
		t.Errorf("List after refused adds: %v, %v", metas, err)
	}
	if _, err := s.Add(Secret{Meta: Meta{Name: "HTTPS_PROXY", Type: TypeToken}, Value: NewValue([]byte("http://proxy:3128"))},
		AddOptions{AllowDangerousName: true}); err != nil {
		t.Errorf("Add HTTPS_PROXY allowed: %v", err)
	}
	for _, name := range []string{"GITHUB_TOKEN", "STRIPE_API_KEY", "PROXY_TOKEN", "NPM_TOKEN", "XDG_TOKEN", "GITLAB_TOKEN", "EDITOR_API_KEY"} {
		if err := CheckDangerousName(name); err != nil {
			t.Errorf("CheckDangerousName(%q) = %v", name, err)
		}
	}
}

// Every entry of the tables carries a reason.
func TestDangerousTablesHaveReasons(t *testing.T) {
	for name, why := range dangerousNames() {
		if why == "" || name != strings.ToUpper(name) {
			t.Errorf("entry %q: reason %q (keys are upper case, reasons not empty)", name, why)
		}
	}
	for _, p := range dangerousPrefixes {
		if p.why == "" || p.prefix != strings.ToUpper(p.prefix) {
			t.Errorf("prefix %q: reason %q", p.prefix, p.why)
		}
	}
	for _, p := range dangerousSuffixes {
		if p.why == "" || p.suffix != strings.ToUpper(p.suffix) {
			t.Errorf("suffix %q: reason %q", p.suffix, p.why)
		}
	}
}
