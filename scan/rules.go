package scan

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"math"
	"regexp"
	"slices"
	"sync"
)

// A Rule finds one documented token format. Its pattern runs only on the
// lines that hold one of its keywords, and its match counts only when the
// part of it named "secret" is random enough: a placeholder such as
// ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx or an example key in a README is
// not a leak.
type Rule struct {
	ID          string
	Description string
	// Keywords are literal strings one of which the line must hold
	// (case-sensitive; list each spelling).
	Keywords []string
	// Pattern matches the token; its group "secret" is what is redacted
	// and measured (the whole match when there is no such group).
	Pattern *regexp.Regexp
	// MinEntropy is the least Shannon entropy, in bits per byte, of the
	// secret part.
	MinEntropy float64
	// Check, when set, must also accept the match and its secret part.
	Check func(match, secret []byte) bool
	// Multiline rules match across lines (PEM blocks): their pattern runs
	// from the keyword on, up to maxMultiline bytes.
	Multiline bool
}

// maxMultiline bounds the text a multi-line rule reads after its keyword:
// an RSA 8192 private key in PEM is under 7 KiB.
const maxMultiline = 16 << 10

// maxLineScan bounds how much of a very long line (minified code) a rule
// reads on either side of its keyword.
const maxLineScan = 4 << 10

// Rules returns the known formats wsx looks for besides stored values.
// They are written from each issuer's documentation of its token format,
// and compiled on first use, not at start-up: every wsx process links this
// package, few scan.
var Rules = sync.OnceValue(func() []*Rule {
	return []*Rule{
		{
			ID:          "github-token",
			Description: "GitHub personal access, OAuth, user-to-server, server-to-server or refresh token",
			Keywords:    []string{"ghp_", "gho_", "ghu_", "ghs_", "ghr_"},
			Pattern:     regexp.MustCompile(`\bgh[pousr]_(?P<secret>[A-Za-z0-9]{36})\b`),
			MinEntropy:  3.5,
		},
		{
			ID:          "github-fine-grained-token",
			Description: "GitHub fine-grained personal access token",
			Keywords:    []string{"github_pat_"},
			Pattern:     regexp.MustCompile(`\bgithub_pat_(?P<secret>[A-Za-z0-9]{22}_[A-Za-z0-9]{59})\b`),
			MinEntropy:  3.5,
		},
		{
			ID:          "gitlab-token",
			Description: "GitLab personal, project or group access token",
			Keywords:    []string{"glpat-"},
			Pattern:     regexp.MustCompile(`\bglpat-(?P<secret>[A-Za-z0-9_.-]{20,})`),
			MinEntropy:  3.0,
		},
		{
			ID:          "aws-access-key-id",
			Description: "AWS access key id",
			Keywords:    []string{"AKIA", "ASIA", "ABIA", "ACCA"},
			Pattern:     regexp.MustCompile(`\b(?:AKIA|ASIA|ABIA|ACCA)(?P<secret>[A-Z2-7]{16})\b`),
			MinEntropy:  2.5,
			Check:       notExample, // AWS's documentation uses AKIAIOSFODNN7EXAMPLE
		},
		{
			ID:          "aws-secret-access-key",
			Description: "AWS secret access key, next to a name that says so",
			Keywords:    []string{"aws", "AWS", "Aws"},
			Pattern:     regexp.MustCompile(`(?i)aws.{0,24}(?:secret|private).{0,24}?[=:>,\s"'` + "`" + `]+(?P<secret>[A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)`),
			MinEntropy:  4.2,
		},
		{
			ID:          "slack-token",
			Description: "Slack bot, user, app or configuration token",
			Keywords:    []string{"xoxb-", "xoxp-", "xoxa-", "xoxr-", "xoxs-", "xoxe-", "xapp-"},
			Pattern:     regexp.MustCompile(`\b(?:xox[bpares](?:\.[a-z0-9]+)?|xapp)-(?P<secret>[0-9A-Za-z-]{20,})`),
			MinEntropy:  3.0,
		},
		{
			ID:          "slack-webhook",
			Description: "Slack incoming webhook URL",
			Keywords:    []string{"hooks.slack.com"},
			Pattern:     regexp.MustCompile(`https://hooks\.slack\.com/(?:services|workflows)/(?P<secret>[A-Za-z0-9_/]{40,})`),
			MinEntropy:  3.5,
		},
		{
			ID:          "stripe-key",
			Description: "Stripe live secret or restricted key",
			Keywords:    []string{"sk_live_", "rk_live_"},
			Pattern:     regexp.MustCompile(`\b[sr]k_live_(?P<secret>[0-9A-Za-z]{24,})\b`),
			MinEntropy:  3.5,
		},
		{
			ID:          "google-api-key",
			Description: "Google API key",
			Keywords:    []string{"AIza"},
			Pattern:     regexp.MustCompile(`\bAIza(?P<secret>[0-9A-Za-z_-]{35})(?:[^0-9A-Za-z_-]|$)`),
			MinEntropy:  3.5,
		},
		{
			ID:          "openai-key",
			Description: "OpenAI API key",
			Keywords:    []string{"sk-proj-", "sk-svcacct-", "sk-admin-", "T3BlbkFJ"},
			Pattern:     regexp.MustCompile(`\bsk-(?:(?:proj|svcacct|admin)-)?(?P<secret>[A-Za-z0-9_-]{20,}T3BlbkFJ[A-Za-z0-9_-]{20,}|[A-Za-z0-9_-]{64,})`),
			MinEntropy:  4.0,
		},
		{
			ID:          "anthropic-key",
			Description: "Anthropic API key",
			Keywords:    []string{"sk-ant-"},
			Pattern:     regexp.MustCompile(`\bsk-ant-[a-z]+[0-9]{2}-(?P<secret>[A-Za-z0-9_-]{80,})`),
			MinEntropy:  4.0,
		},
		{
			ID:          "npm-token",
			Description: "npm access token",
			Keywords:    []string{"npm_"},
			Pattern:     regexp.MustCompile(`\bnpm_(?P<secret>[A-Za-z0-9]{36})\b`),
			MinEntropy:  3.5,
		},
		{
			ID:          "private-key",
			Description: "private key block (PEM or OpenSSH)",
			Keywords:    []string{"PRIVATE KEY-----"},
			Pattern: regexp.MustCompile(`-----BEGIN ((?:RSA|DSA|EC|OPENSSH|ENCRYPTED|PGP) )?PRIVATE KEY( BLOCK)?-----` +
				`(?P<secret>(?:[A-Za-z0-9+/=\s:,._]|-[A-Za-z0-9+/=\s:,._]){64,}?)-----END `),
			MinEntropy: 5.0,
			Multiline:  true,
		},
		{
			ID:          "jwt",
			Description: "JSON Web Token",
			Keywords:    []string{"eyJ"},
			Pattern:     regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.(?P<secret>[A-Za-z0-9_-]{16,})`),
			MinEntropy:  3.5,
			Check:       jwtHeaderOK,
		},
		{
			ID:          "basic-auth-url",
			Description: "URL with a password in its user info",
			Keywords:    []string{"://"},
			Pattern:     regexp.MustCompile(`\b[a-zA-Z][a-zA-Z0-9+.-]{1,15}://[^\s/:@"'<>` + "`" + `]{1,64}:(?P<secret>[^\s/:@"'<>` + "`" + `$%{}]{6,128})@[A-Za-z0-9.-]+\.[A-Za-z]{2,}`),
			MinEntropy:  3.0,
			Check:       notPlaceholder,
		},
	}
})

// entropy returns the Shannon entropy of b in bits per byte.
func entropy(b []byte) float64 {
	if len(b) == 0 {
		return 0
	}
	var counts [256]int
	for _, c := range b {
		counts[c]++
	}
	n := float64(len(b))
	var h float64
	for _, k := range counts {
		if k > 0 {
			p := float64(k) / n
			h -= p * math.Log2(p)
		}
	}
	return h
}

// placeholders are passwords in URLs that documentation uses.
var placeholders = [][]byte{
	[]byte("password"), []byte("passwd"), []byte("secret"), []byte("example"), []byte("changeme"),
	[]byte("xxxxxx"), []byte("******"), []byte("your"), []byte("token"),
}

func notPlaceholder(_, secret []byte) bool {
	low := bytes.ToLower(secret)
	for _, p := range placeholders {
		if bytes.Contains(low, p) {
			return false
		}
	}
	return true
}

func notExample(_, secret []byte) bool { return !bytes.Contains(secret, []byte("EXAMPLE")) }

// jwtHeaderOK reports whether the first segment of a JWT decodes to a JSON
// object naming an algorithm.
func jwtHeaderOK(tok, _ []byte) bool {
	head, _, ok := bytes.Cut(tok, []byte("."))
	if !ok {
		return false
	}
	raw, err := base64.RawURLEncoding.DecodeString(string(bytes.TrimRight(head, "=")))
	if err != nil {
		return false
	}
	var h struct {
		Alg string `json:"alg"`
	}
	return json.Unmarshal(raw, &h) == nil && h.Alg != ""
}

// ruleHit is a match of a rule in a buffer: [start, end) is the whole
// token, [secStart, secEnd) the part that is redacted.
type ruleHit struct {
	rule             *Rule
	start, end       int
	secStart, secEnd int
}

// ruleSet finds the keywords of a set of rules in one pass: each keyword
// is anchored at its least common pair of bytes, and a bitset of anchors
// says at which positions a keyword may be.
type ruleSet struct {
	rules []*Rule
	bits  [1 << 16 / 64]uint64
	at    map[uint16][]anchor
}

// anchor is a keyword of rule, whose pair of bytes at off is the key.
type anchor struct {
	rule int
	kw   []byte
	off  int
}

func newRuleSet(rules []*Rule) *ruleSet {
	rs := &ruleSet{rules: rules, at: map[uint16][]anchor{}}
	for ri, r := range rules {
		for _, kw := range r.Keywords {
			k := []byte(kw)
			off := 0
			if len(k) >= 2 {
				best := 1 << 30
				for i := 0; i+1 < len(k); i++ {
					if c := commonness(k[i]) + commonness(k[i+1]); c < best {
						best, off = c, i
					}
				}
			}
			var p uint16
			if len(k) >= 2 {
				p = uint16(k[off])<<8 | uint16(k[off+1])
			}
			rs.bits[p>>6] |= 1 << (p & 63)
			rs.at[p] = append(rs.at[p], anchor{ri, k, off})
		}
	}
	return rs
}

// commonness guesses how often c occurs in source code and text.
func commonness(c byte) int {
	switch {
	case c >= 'a' && c <= 'z', c == ' ':
		return 3
	case c >= 'A' && c <= 'Z', c == '.', c == '/', c == '-', c == '_', c == '(', c == ')', c == '"', c == '=', c == ',':
		return 2
	}
	return 1
}

// keywords returns, per rule, the positions in b where one of its
// keywords starts.
func (rs *ruleSet) keywords(b []byte) [][]int {
	var at [][]int
	for i := 0; i+1 < len(b); i++ {
		p := uint16(b[i])<<8 | uint16(b[i+1])
		if rs.bits[p>>6]&(1<<(p&63)) == 0 {
			continue
		}
		for _, a := range rs.at[p] {
			start := i - a.off
			if start < 0 || !bytes.HasPrefix(b[start:], a.kw) {
				continue
			}
			if at == nil {
				at = make([][]int, len(rs.rules))
			}
			at[a.rule] = append(at[a.rule], start)
		}
	}
	return at
}

// findRules returns the matches of the rules in b.
func (rs *ruleSet) find(b []byte) []ruleHit {
	var hits []ruleHit
	for ri, at := range rs.keywords(b) {
		if len(at) == 0 {
			continue
		}
		r := rs.rules[ri]
		secret := r.Pattern.SubexpIndex("secret")
		slices.Sort(at)
		done := 0 // the end of the last region r's pattern ran on
		for _, pos := range at {
			if pos < done {
				continue
			}
			lo, hi := region(b, pos, r.Multiline)
			lo = max(lo, done)
			done = hi
			for _, m := range r.Pattern.FindAllSubmatchIndex(b[lo:hi], -1) {
				h := ruleHit{rule: r, start: lo + m[0], end: lo + m[1], secStart: lo + m[0], secEnd: lo + m[1]}
				if secret >= 0 && m[2*secret] >= 0 {
					h.secStart, h.secEnd = lo+m[2*secret], lo+m[2*secret+1]
				}
				if accept(r, b[h.start:h.end], b[h.secStart:h.secEnd]) {
					hits = append(hits, h)
				}
			}
		}
	}
	return hits
}

// findRules returns the matches of rules in b.
func findRules(rules []*Rule, b []byte) []ruleHit { return newRuleSet(rules).find(b) }

func accept(r *Rule, match, secret []byte) bool {
	if entropy(secret) < r.MinEntropy {
		return false
	}
	return r.Check == nil || r.Check(match, secret)
}

// region returns the part of b a rule's pattern reads for a keyword at
// pos: the keyword's line (at most maxLineScan bytes on either side), or
// for a multi-line rule from the line's start on.
func region(b []byte, pos int, multiline bool) (int, int) {
	lo := max(pos-maxLineScan, 0)
	if i := bytes.LastIndexByte(b[lo:pos], '\n'); i >= 0 {
		lo += i + 1
	}
	if multiline {
		return lo, min(len(b), pos+maxMultiline)
	}
	hi := min(len(b), pos+maxLineScan)
	if i := bytes.IndexByte(b[pos:hi], '\n'); i >= 0 {
		hi = pos + i
	}
	return lo, hi
}
