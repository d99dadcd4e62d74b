// Package manifest reads wsx.toml, the file in which a repository declares
// the secrets it needs: found walking up from a directory to the git root
// (Find), refused when another user could have written it, and parsed
// strictly (Load, Parse), every problem reported with its line.
package manifest

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
	"github.com/wsxdev/wsx/provider"
	"github.com/wsxdev/wsx/store"
)

// Name is the file a repository declares its secrets in, at its
// root.
const Name = "wsx.toml"

// Limits on a manifest: it comes with a repository, so it is outside input.
const (
	maxManifestSize    = 256 << 10
	maxManifestSecrets = 1000
	maxManifestErrors  = 20 // problems reported at most; the first ones are what matter
)

// manifest is a parsed wsx.toml: the secrets a project needs.
//
//	[[secret]]
//	name = "GITHUB_TOKEN"          # an environment variable name
//	type = "token"                 # token (default), password, key or file
//	description = "GitHub API token, repo scope"
//	hosts = ["github.com"]         # git hosts it answers for
//	required = true                # default true
//	env = "GH_TOKEN"               # the variable a command gets it in; default name
//	inject = "proxy"               # env (default) or proxy: a placeholder, and the
//	                               # value put into requests to the secret's hosts
//	source = "vault://secret/app#token"  # fetched from there (package provider)
//	ttl = "1h"                     # fetched again when older; default: only when missing
//	required_fresh = true          # no cached value when the source is unreachable
//
//	[provider.vault]               # settings of a source's provider, by scheme
//	address = "https://vault.example.com:8200"
type Manifest struct {
	Path    string
	Secrets []Secret
	// Providers are the [provider.NAME] tables, by NAME (a source's
	// scheme); their keys are checked by the provider that reads them.
	Providers map[string]map[string]any
	// NoAccessAudit is `access_audit = false`: `wsx exec` records where
	// the secrets are read only when it is not set.
	NoAccessAudit bool
}

// Secret is one [[secret]] table.
type Secret struct {
	Name        string
	Type        store.Type
	Description string
	Hosts       []string
	Required    bool
	Line        int    // of its [[secret]] header; 0 when unknown
	Env         string // the variable `wsx exec` puts it in, when not Name
	// Source is where the value is fetched from, as written (checked by
	// provider.ParseSource); "" for a value added by hand.
	Source string
	// TTL is how old a fetched value may be before `wsx exec` and `wsx
	// agent` fetch it again; 0: only when it is missing.
	TTL time.Duration
	// RequiredFresh refuses the cached value when the source cannot be
	// reached.
	RequiredFresh bool
	// Proxy is `inject = "proxy"`: `wsx exec` gives the command a
	// placeholder and puts the value into its requests to the secret's
	// hosts (the store's, never the manifest's). A manifest can ask for
	// this, never for less.
	Proxy bool
}

// Proxied names the secrets declared with inject = "proxy"; none for a
// nil manifest.
func (m *Manifest) Proxied() []string {
	if m == nil {
		return nil
	}
	var out []string
	for _, sec := range m.Secrets {
		if sec.Proxy {
			out = append(out, sec.Name)
		}
	}
	return out
}

// AccessAudit says whether `wsx exec` records where the command reads
// each secret: unless access_audit = false.
func (m *Manifest) AccessAudit() bool { return !m.NoAccessAudit }

// Var is the variable `wsx exec` puts the secret in: Env, or its name.
func (s Secret) Var() string {
	if s.Env != "" {
		return s.Env
	}
	return s.Name
}

// Renames maps the name of each secret that goes in under another
// variable (Env) to that variable.
func (m *Manifest) Renames() map[string]string {
	out := map[string]string{}
	for _, sec := range m.Secrets {
		if sec.Env != "" && sec.Env != sec.Name {
			out[sec.Name] = sec.Env
		}
	}
	return out
}

// rawManifest is what the TOML decoder fills in; Parse checks it.
type rawManifest struct {
	AccessAudit *bool                     `toml:"access_audit"`
	Secret      []rawSecret               `toml:"secret"`
	Provider    map[string]map[string]any `toml:"provider"`
}

type rawSecret struct {
	Name        string   `toml:"name"`
	Type        string   `toml:"type"`
	Description string   `toml:"description"`
	Hosts       []string `toml:"hosts"`
	Required    *bool    `toml:"required"`
	Env         string   `toml:"env"`
	Inject      string   `toml:"inject"`
	Source      string   `toml:"source"`
	TTL         string   `toml:"ttl"`
	Fresh       *bool    `toml:"required_fresh"`
}

// manifestKeys are the keys a manifest may hold, as TOML key paths.
var manifestKeys = sync.OnceValue(func() map[string]bool {
	return map[string]bool{
		"secret": true, "secret.name": true, "secret.type": true, "secret.description": true,
		"secret.hosts": true, "secret.required": true, "secret.env": true, "secret.inject": true, "access_audit": true,
		"secret.source": true, "secret.ttl": true, "secret.required_fresh": true, "provider": true,
	}
})

// providerKey reports whether k is a key of a [provider.NAME] table:
// provider.NAME or provider.NAME.KEY, NAME a lower-case word that may hold
// '-' and KEY one that may hold '_'; a provider checks which KEYs it
// knows.
func providerKey(k string) bool {
	rest, ok := strings.CutPrefix(k, "provider.")
	if !ok {
		return false
	}
	name, key, hasKey := strings.Cut(rest, ".")
	return lowerWord(name, '-') && (!hasKey || lowerWord(key, '_'))
}

// lowerWord reports whether s is a lower-case letter followed by
// lower-case letters, digits and sep.
func lowerWord(s string, sep byte) bool {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == sep) {
			return false
		}
	}
	return true
}

// lineError is a problem in a manifest, with the line it is on.
type lineError struct {
	path string
	line int
	msg  string
}

func (e lineError) Error() string {
	if e.line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.path, e.line, e.msg)
	}
	return fmt.Sprintf("%s: %s", e.path, e.msg)
}

// Is makes every lineError match ErrInvalid.
func (e lineError) Is(target error) bool { return target == ErrInvalid }

// lineErrors are all the problems found in one manifest, one a line.
type lineErrors []lineError

func (e lineErrors) Error() string {
	lines := make([]string, len(e))
	for i, m := range e {
		lines[i] = m.Error()
	}
	return strings.Join(lines, "\n")
}

func (e lineErrors) Is(target error) bool { return target == ErrInvalid }

// Errors callers branch on.
var (
	// ErrInvalid matches every error about a manifest's content.
	ErrInvalid = errors.New("invalid manifest")
	// ErrForeign: the manifest is owned by another user (root excepted)
	// or writable by group or others, so someone else could choose what
	// a command gets.
	ErrForeign = errors.New("manifest not safely yours")
)

// Find looks for wsx.toml in dir and its parents, up to the root
// of the git repository dir is in (the first directory holding .git) or /.
func Find(dir string) (path string, found bool, err error) {
	dir, err = filepath.Abs(dir)
	if err != nil {
		return "", false, err
	}
	for {
		p := filepath.Join(dir, Name)
		if _, err := os.Lstat(p); err == nil {
			return p, true, nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return "", false, fmt.Errorf("look for %s: %w", Name, err)
		}
		if _, err := os.Lstat(filepath.Join(dir, ".git")); err == nil {
			return "", false, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false, nil
		}
		dir = parent
	}
}

// Load reads and parses the manifest at path. It refuses anything
// but a regular file (a FIFO is not waited on) and files over
// maxManifestSize.
func Load(path string) (*Manifest, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, lineError{path, 0, "not a regular file"}
	}
	if err := checkOwner(path, fi); err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(f, maxManifestSize+1))
	if err != nil {
		return nil, fmt.Errorf("read manifest %s: %w", path, err)
	}
	if len(b) > maxManifestSize {
		return nil, lineError{path, 0, fmt.Sprintf("larger than %d bytes", maxManifestSize)}
	}
	return Parse(path, b)
}

// checkOwner refuses a manifest another user could have written:
// one owned by someone else than this user or root, or writable by group
// or others. It decides what `wsx exec` injects, as a shell's rc file
// decides what it runs.
func checkOwner(path string, fi fs.FileInfo) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	uid := int(st.Uid)
	if uid != os.Geteuid() && uid != 0 {
		return fmt.Errorf("%s is owned by %s, not by you: %w", path, ownerName(uid), ErrForeign)
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("%s (owned by %s) is writable by group or others (mode %04o): %w", path, ownerName(uid), fi.Mode().Perm(), ErrForeign)
	}
	return nil
}

// ownerName names uid as "name (uid N)", or "uid N" when it has no name.
func ownerName(uid int) string {
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		return fmt.Sprintf("%s (uid %d)", u.Username, uid)
	}
	return fmt.Sprintf("uid %d", uid)
}

// secretHeader matches the line of a [[secret]] table header. It is
// compiled on first use, not at every start-up.
var secretHeader = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^\s*\[\[\s*(secret|"secret")\s*\]\]`)
})

// Parse parses a manifest strictly: malformed TOML is reported with
// its line and reason; unknown keys, unknown types, invalid, dangerous or
// duplicate names, and bad descriptions or hosts are errors, each with
// the line of its [[secret]] table. All problems are reported together.
func Parse(path string, data []byte) (*Manifest, error) {
	if !utf8.Valid(data) {
		return nil, lineError{path, 0, "not valid UTF-8"}
	}
	text := string(data)
	var raw rawManifest
	// The keys first, in one pass over the document: the decoder matches
	// keys without regard to case, and a manifest must spell them exactly
	// and hold nothing else; and the decoder's check for keys defined twice
	// takes time quadratic in a table's keys, which this pass bounds first.
	unknown, err := checkKeys(path, data)
	if err != nil {
		return nil, err
	}
	if len(unknown) > 0 {
		return nil, unknown
	}
	if err := toml.Unmarshal(data, &raw); err != nil {
		return nil, decodeError(path, err)
	}
	lines := strings.Split(text, "\n")
	var errs lineErrors
	bad := func(line int, format string, args ...any) {
		errs = append(errs, lineError{path, line, fmt.Sprintf(format, args...)})
	}
	if len(raw.Secret) > maxManifestSecrets {
		bad(0, "%d secrets is more than %d", len(raw.Secret), maxManifestSecrets)
		return nil, errs
	}
	var headers []int
	for i, l := range lines {
		if secretHeader().MatchString(l) {
			headers = append(headers, i+1)
		}
	}
	m := &Manifest{Path: path, NoAccessAudit: raw.AccessAudit != nil && !*raw.AccessAudit, Providers: raw.Provider}
	for name, table := range raw.Provider {
		for k, v := range table {
			switch v.(type) {
			case string, int64, bool:
			default:
				bad(0, "[provider.%s]: %s must be a string, a number or true/false", name, k)
			}
		}
	}
	seen := map[string]int{} // upper-case name -> index in m.Secrets
	for i, r := range raw.Secret {
		if len(errs) >= maxManifestErrors {
			break
		}
		line := 0
		if len(headers) == len(raw.Secret) {
			line = headers[i]
		}
		sec := Secret{Name: r.Name, Description: r.Description, Hosts: r.Hosts, Required: true, Line: line, Env: r.Env}
		if r.Required != nil {
			sec.Required = *r.Required
		}
		label := fmt.Sprintf("secret %q", r.Name)
		if r.Name == "" {
			bad(line, "secret #%d has no name", i+1)
			continue
		}
		if err := store.ValidateName(r.Name); err != nil {
			bad(line, "%v", err)
			continue
		}
		if store.DangerousName(r.Name) {
			bad(line, "%s would change how programs run or what they load (like PATH, LD_PRELOAD, NODE_OPTIONS); a manifest cannot ask for it", r.Name)
			continue
		}
		if j, dup := seen[strings.ToUpper(r.Name)]; dup {
			first := m.Secrets[j]
			where := ""
			if first.Line > 0 {
				where = fmt.Sprintf(" (line %d)", first.Line)
			}
			bad(line, "%s is declared twice: also as %s%s", label, first.Name, where)
			continue
		}
		sec.Type = store.TypeToken
		if r.Type != "" {
			t, err := store.ParseType(r.Type)
			if err != nil {
				bad(line, "%s: unknown type %q (token, password, key or file)", label, r.Type)
				continue
			}
			sec.Type = t
		}
		if err := checkManifestText(r.Description, store.MaxDescLen); err != nil {
			bad(line, "%s: description %v", label, err)
			continue
		}
		if len(r.Hosts) > store.MaxHostCount {
			bad(line, "%s: %d hosts is more than %d", label, len(r.Hosts), store.MaxHostCount)
			continue
		}
		hostErr := false
		for _, h := range r.Hosts {
			if err := checkManifestText(h, store.MaxHostLen); err != nil || h == "" || strings.ContainsAny(h, " \t") {
				bad(line, "%s: host %q is not a host (HOST, HOST:PORT, HOST/PATH or a URL)", label, h)
				hostErr = true
				break
			}
		}
		if hostErr {
			continue
		}
		if r.Env != "" {
			if err := store.ValidateName(r.Env); err != nil {
				bad(line, "%s: env %v", label, err)
				continue
			}
			if store.DangerousName(r.Env) {
				bad(line, "%s: env %s would change how programs run or what they load (like PATH, LD_PRELOAD, NODE_OPTIONS); a manifest cannot ask for it", label, r.Env)
				continue
			}
		}
		if r.Source != "" {
			src, err := provider.ParseSource(r.Source)
			if err != nil {
				bad(line, "%s: %v", label, err)
				continue
			}
			if _, ok := raw.Provider[src.Scheme]; !ok && src.Scheme == "vault" {
				bad(line, "%s: source %s needs a [provider.%s] table with its address", label, r.Source, src.Scheme)
				continue
			}
			sec.Source = r.Source
		}
		if r.TTL != "" {
			d, err := ParseTTL(r.TTL)
			if err != nil || r.Source == "" {
				if err == nil {
					err = errors.New("needs a source")
				}
				bad(line, "%s: ttl %q: %v", label, r.TTL, err)
				continue
			}
			sec.TTL = d
		}
		if r.Fresh != nil {
			if r.Source == "" {
				bad(line, "%s: required_fresh needs a source", label)
				continue
			}
			sec.RequiredFresh = *r.Fresh
		}
		switch r.Inject {
		case "", "env":
		case "proxy":
			sec.Proxy = true
		default:
			bad(line, "%s: inject %q: want env or proxy", label, r.Inject)
			continue
		}
		seen[strings.ToUpper(r.Name)] = len(m.Secrets)
		m.Secrets = append(m.Secrets, sec)
	}
	// Each secret goes in as its own variable: an env may name the
	// variable of no other secret.
	vars := map[string]int{} // upper-case variable -> index in m.Secrets
	for i, sec := range m.Secrets {
		if len(errs) >= maxManifestErrors {
			break
		}
		v := strings.ToUpper(sec.Var())
		if j, dup := vars[v]; dup {
			first := m.Secrets[j]
			if sec.Env == "" {
				// Blame the secret whose env takes this one's name.
				sec, first = first, sec
			}
			where := ""
			if first.Line > 0 {
				where = fmt.Sprintf(" (line %d)", first.Line)
			}
			bad(sec.Line, "secret %q: env %s is also the variable of %s%s", sec.Name, sec.Var(), first.Name, where)
			continue
		}
		vars[v] = i
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return m, nil
}

// ParseTTL reads a ttl: a Go duration ("90s", "15m", "1h30m") or a
// number of days ("7d"), from 1s to 365d.
func ParseTTL(s string) (time.Duration, error) {
	var d time.Duration
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil {
			return 0, errors.New("want a duration like 90s, 15m, 1h or 7d")
		}
		d = time.Duration(days) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, errors.New("want a duration like 90s, 15m, 1h or 7d")
		}
	}
	if d < time.Second || d > 365*24*time.Hour {
		return 0, errors.New("want a duration from 1s to 365d")
	}
	return d, nil
}

// Sourced are the secrets that name a source.
func (m *Manifest) Sourced() []Secret {
	var out []Secret
	for _, sec := range m.Secrets {
		if sec.Source != "" {
			out = append(out, sec)
		}
	}
	return out
}

// checkManifestText refuses text a terminal or a Markdown list would
// misread: control characters (newlines included) and more than max bytes.
func checkManifestText(s string, max int) error {
	if len(s) > max {
		return fmt.Errorf("of %d bytes is longer than %d", len(s), max)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return fmt.Errorf("contains control character %q", r)
		}
	}
	return nil
}

// decodeError is the decoder's error as a problem of the manifest at path:
// a value of the wrong type names its key; anything else is malformed
// TOML, at the line the decoder stopped on.
func decodeError(path string, err error) error {
	var de *toml.DecodeError
	if !errors.As(err, &de) {
		return lineError{path, 0, "malformed: " + strings.TrimPrefix(err.Error(), "toml: ")}
	}
	line, _ := de.Position()
	msg := strings.TrimPrefix(de.Error(), "toml: ")
	// "cannot decode TOML string into struct field manifest.rawSecret.Required of type bool"
	if kind, ok := strings.CutPrefix(msg, "cannot decode TOML "); ok && len(de.Key()) > 0 {
		kind, _, _ = strings.Cut(kind, " into ")
		key := strings.Join(de.Key(), ".")
		return lineError{path, line, fmt.Sprintf("%s: a TOML %s is not %s", key, kind, keyKind(key))}
	}
	return lineError{path, line, "malformed TOML: " + msg}
}

// keyKind says what the manifest's key holds.
func keyKind(key string) string {
	switch key {
	case "access_audit", "secret.required", "secret.required_fresh":
		return "true or false"
	case "secret":
		return "[[secret]] tables"
	case "secret.hosts":
		return "a list of strings"
	case "provider":
		return "[provider.NAME] tables"
	}
	if strings.HasPrefix(key, "secret.") {
		return "a string"
	}
	return "what the key takes"
}

// manifestMissing splits a manifest's secrets by whether names holds them:
// the required ones that are missing, and the names (in manifest order) of
// those present.
func (m *Manifest) Missing(names []string) (missing []Secret, present []string) {
	have := make(map[string]bool, len(names))
	for _, n := range names {
		have[n] = true
	}
	for _, sec := range m.Secrets {
		if have[sec.Name] {
			present = append(present, sec.Name)
		} else if sec.Required {
			missing = append(missing, sec)
		}
	}
	return missing, present
}

// AddCommand is the command that adds sec, for messages.
func AddCommand(sec Secret) string {
	var b strings.Builder
	fmt.Fprintf(&b, "wsx add %s --type %s", sec.Name, sec.Type)
	if sec.Description != "" {
		fmt.Fprintf(&b, " --description %s", shellQuote(sec.Description))
	}
	for _, h := range sec.Hosts {
		fmt.Fprintf(&b, " --host %s", shellQuote(h))
	}
	if sec.Type == store.TypeKey || sec.Type == store.TypeFile {
		b.WriteString(" --from-file PATH")
	}
	return b.String()
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.,:/@%+=") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Bounds on a manifest's tables, checked before it is decoded.
const (
	maxTableKeys = 64 // distinct keys of one table ([[secret]] tables: of them all)
)

// checkKeys reads the document's keys in one pass: every key of every
// table, inline tables and arrays of tables included, must be one a
// manifest has (unknown keys are returned, with their lines, at most
// maxManifestErrors); a table of more than maxTableKeys keys, or more than
// maxManifestSecrets [[secret]] tables, is an error. Malformed TOML is
// reported as the decoder reports it.
func checkKeys(path string, data []byte) (lineErrors, error) {
	var p unstable.Parser
	p.Reset(data)
	var (
		unknown  lineErrors
		seen     = map[string]bool{} // key paths, dotted
		children = map[string]int{}  // distinct keys under each table path
		secrets  int
		tooMany  *lineError
	)
	visit := func(parent []string, key *unstable.Node) []string {
		kp := append(slices.Clip(parent), string(key.Data))
		ks := strings.Join(kp, ".")
		if seen[ks] {
			return kp
		}
		seen[ks] = true
		pk := strings.Join(parent, ".")
		if children[pk]++; children[pk] > maxTableKeys && tooMany == nil {
			tooMany = &lineError{path, p.Shape(key.Raw).Start.Line, fmt.Sprintf("%s has more than %d keys", tableName(pk), maxTableKeys)}
		}
		if !manifestKeys()[ks] && !providerKey(ks) && len(unknown) < maxManifestErrors {
			unknown = append(unknown, lineError{path, p.Shape(key.Raw).Start.Line,
				fmt.Sprintf("unknown key %q (a [[secret]] has name, type, description, hosts, required, env, inject, source, ttl and required_fresh)", ks)})
		}
		return kp
	}
	keyOf := func(parent []string, n *unstable.Node) []string {
		it := n.Key()
		for it.Next() {
			parent = visit(parent, it.Node())
		}
		return parent
	}
	var values func(parent []string, v *unstable.Node)
	values = func(parent []string, v *unstable.Node) {
		it := v.Children()
		for it.Next() {
			switch c := it.Node(); {
			case v.Kind == unstable.InlineTable && c.Kind == unstable.KeyValue:
				values(keyOf(parent, c), c.Value())
			case v.Kind == unstable.Array:
				values(parent, c)
			}
		}
	}
	var table []string
	for tooMany == nil && len(unknown) < maxManifestErrors && p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table:
			table = keyOf(nil, e)
		case unstable.ArrayTable:
			table = keyOf(nil, e)
			if slices.Equal(table, []string{"secret"}) {
				if secrets++; secrets > maxManifestSecrets {
					tooMany = &lineError{path, 0, fmt.Sprintf("more than %d secrets", maxManifestSecrets)}
				}
			}
		case unstable.KeyValue:
			values(keyOf(table, e), e.Value())
		}
	}
	if len(unknown) == maxManifestErrors {
		return unknown, nil
	}
	if tooMany != nil {
		return nil, *tooMany
	}
	if p.Error() != nil {
		// The decoder's error, with its position.
		if err := toml.Unmarshal(data, new(any)); err != nil {
			return nil, decodeError(path, err)
		}
		return nil, decodeError(path, p.Error())
	}
	return unknown, nil
}

// tableName names the table at the dotted path k.
func tableName(k string) string {
	if k == "" {
		return "the top level"
	}
	return "[" + k + "]"
}
