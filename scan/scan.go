package scan

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// Mode says what a scan reads.
type Mode int

const (
	// ModeTree reads the files under Options.Paths: in a git work tree
	// the files git tracks or would track (.gitignore honoured), else
	// every regular file.
	ModeTree Mode = iota
	// ModeStaged reads the lines the next commit adds.
	ModeStaged
	// ModeHistory reads the lines every commit reachable from HEAD added.
	ModeHistory
	// ModeStdin reads Options.Stdin.
	ModeStdin
)

// A Match is a stored value, in one of its forms, found in a buffer.
type Match struct {
	Start    int    `json:"start"` // byte offsets in the buffer
	End      int    `json:"end"`
	Secret   string `json:"secret"`             // the stored secret's name
	Previous bool   `json:"previous,omitempty"` // the value a rotation replaced, not the current one
	Form     string `json:"form,omitempty"`     // how the value appears: raw, base64, hex, url, json, line
}

// A Matcher finds stored values in bytes. Find returns, for each buffer,
// the matches in it. It must be safe for concurrent use. The values stay
// with whoever implements it: the wsx agent answers over its API, so the
// scanning process never holds one.
type Matcher interface {
	Find(bufs [][]byte) ([][]Match, error)
}

// Options configure a scan.
type Options struct {
	Mode  Mode
	Paths []string  // ModeTree: what to read; "." when empty
	Dir   string    // the working directory; "." when empty
	Stdin io.Reader // ModeStdin
	// Values finds stored values; nil scans for known formats only.
	Values Matcher
	// Rules are the known formats; nil means Rules(), an empty slice none.
	Rules []*Rule
	// Git is the git program; "git" when empty.
	Git string
	// Progress, when set, is told how many commits of how many a
	// history scan has read.
	Progress func(done, total int)
	// Workers bounds the files scanned at once; GOMAXPROCS when 0.
	Workers int
}

// Rule id of a stored value's finding.
const StoredRule = "stored-secret"

// A Finding is one secret found. It never holds the secret's value: its
// preview has every found value replaced by "***".
type Finding struct {
	Rule        string `json:"rule"`               // a Rules id, or StoredRule
	Secret      string `json:"secret,omitempty"`   // the stored secret's name
	Previous    bool   `json:"previous,omitempty"` // the value from before the last rotation
	Form        string `json:"form,omitempty"`     // how a stored value appears: raw, base64, hex, url, json, line
	File        string `json:"file"`
	Commit      string `json:"commit,omitempty"` // history: the commit that added it
	Line        int    `json:"line"`
	Column      int    `json:"column"` // in bytes, from 1
	EndLine     int    `json:"end_line"`
	EndColumn   int    `json:"end_column"` // just after the last byte
	Preview     string `json:"preview"`
	Fingerprint string `json:"fingerprint"` // what .wsxscanignore takes to allow it

	order int // the unit's place in what was read (history: commits newest first)
}

// Name is what a finding is called in the output: the stored secret's
// name, or the rule's id.
func (f Finding) Name() string {
	if f.Secret != "" {
		return f.Secret
	}
	return f.Rule
}

// Skipped is a file a scan did not read, and why.
type Skipped struct {
	File   string `json:"file"`
	Reason string `json:"reason"`
}

// Result is what a scan found and read.
type Result struct {
	Findings []Finding `json:"findings"`
	Files    int       `json:"files"`          // files (or hunks) read
	Bytes    int64     `json:"bytes"`          // bytes read
	Commits  int       `json:"commits"`        // history: commits read
	Root     string    `json:"root,omitempty"` // the git work tree's top, file names are relative to it
	Skipped  []Skipped `json:"skipped,omitempty"`
}

// MaxFileSize is the largest file a scan reads; larger ones are skipped
// and listed in Result.Skipped.
const MaxFileSize = 256 << 20

// ErrNotRepository is returned when a mode that needs git runs outside a
// git work tree.
var ErrNotRepository = errors.New("not in a git work tree")

// batchBytes is how much a worker gathers before asking the Matcher, so a
// Matcher across a socket sees few large requests.
const batchBytes = 1 << 20

// A unit is a piece of content to scan: a file, or the lines a commit (or
// the index) adds to one.
type unit struct {
	seq    int
	path   string
	commit string
	data   []byte
	line   int // line number of data's first byte
}

// Run scans what o says and returns the findings, sorted by file and
// position (history: newest commit first).
func Run(ctx context.Context, o Options) (Result, error) {
	if o.Dir == "" {
		o.Dir = "."
	}
	if o.Git == "" {
		o.Git = "git"
	}
	if o.Rules == nil {
		o.Rules = Rules()
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	src, err := openSource(ctx, o)
	if err != nil {
		return Result{}, err
	}
	rules := newRuleSet(o.Rules)
	units := make(chan unit, 4*o.Workers)
	var (
		mu       sync.Mutex
		res      Result
		firstErr error
		wg       sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
		cancel()
	}
	for range o.Workers {
		wg.Go(func() {
			for {
				batch, size, ok := gather(units)
				if !ok {
					return
				}
				fs, err := scanBatch(o, rules, src.allow, batch)
				if err != nil {
					fail(err)
					for range units { // let the producer finish
					}
					return
				}
				mu.Lock()
				res.Findings = append(res.Findings, fs...)
				res.Files += len(batch)
				res.Bytes += size
				mu.Unlock()
			}
		})
	}
	skipped, commits, err := src.produce(ctx, units)
	close(units)
	wg.Wait()
	if firstErr != nil {
		return Result{}, firstErr
	}
	if err != nil {
		return Result{}, err
	}
	res.Skipped, res.Commits, res.Root = skipped, commits, src.top
	slices.SortFunc(res.Findings, compareFindings)
	return res, nil
}

// gather takes one unit, blocking, then as many more as are ready, up to
// batchBytes. ok is false when units is closed and empty.
func gather(units <-chan unit) (batch []unit, size int64, ok bool) {
	u, ok := <-units
	if !ok {
		return nil, 0, false
	}
	batch, size = append(batch, u), int64(len(u.data))
	for size < batchBytes {
		select {
		case u, ok := <-units:
			if !ok {
				return batch, size, true
			}
			batch, size = append(batch, u), size+int64(len(u.data))
		default:
			return batch, size, true
		}
	}
	return batch, size, true
}

func compareFindings(a, b Finding) int {
	return cmp.Or(
		cmp.Compare(a.order, b.order),
		cmp.Compare(a.File, b.File),
		cmp.Compare(a.Line, b.Line),
		cmp.Compare(a.Column, b.Column),
		cmp.Compare(a.Name(), b.Name()),
	)
}

// span is a found range of a unit's data, before it becomes a Finding.
type span struct {
	rule             string
	secret           string
	previous         bool
	form             string
	start, end       int
	redStart, redEnd int // the part replaced by *** in previews
}

// scanBatch runs the matcher and the rules over a batch of units.
func scanBatch(o Options, rules *ruleSet, allow *allowlist, batch []unit) ([]Finding, error) {
	var stored [][]Match
	if o.Values != nil {
		bufs := make([][]byte, len(batch))
		for i, u := range batch {
			bufs[i] = u.data
		}
		var err error
		if stored, err = o.Values.Find(bufs); err != nil {
			return nil, fmt.Errorf("look for stored values: %w", err)
		}
		if len(stored) != len(batch) {
			return nil, fmt.Errorf("look for stored values: %d answers for %d buffers", len(stored), len(batch))
		}
	}
	var out []Finding
	for i, u := range batch {
		var spans []span
		if stored != nil {
			spans = storedSpans(u.data, stored[i])
		}
		for _, h := range rules.find(u.data) {
			if overlapsAny(spans, h.start, h.end) {
				continue // the stored secret says more
			}
			spans = append(spans, span{rule: h.rule.ID, start: h.start, end: h.end, redStart: h.secStart, redEnd: h.secEnd})
		}
		out = append(out, findings(u, spans, allow)...)
	}
	return out, nil
}

// storedSpans turns a buffer's matches into spans: matches of one secret
// that overlap, touch or lie only blanks apart (the lines of a PEM key)
// become one.
func storedSpans(data []byte, ms []Match) []span {
	ms = slices.Clone(ms)
	slices.SortFunc(ms, func(a, b Match) int {
		return cmp.Or(strings.Compare(a.Secret, b.Secret), cmp.Compare(a.Start, b.Start), cmp.Compare(b.End, a.End))
	})
	var spans []span
	for _, m := range ms {
		if m.Start < 0 || m.End > len(data) || m.Start >= m.End {
			continue
		}
		if n := len(spans); n > 0 {
			last := &spans[n-1]
			if last.secret == m.Secret && m.Start <= last.end+blankRun(data[last.end:m.Start]) {
				last.end = max(last.end, m.End)
				last.redEnd = last.end
				last.previous = last.previous && m.Previous
				continue
			}
		}
		spans = append(spans, span{rule: StoredRule, secret: m.Secret, previous: m.Previous, form: m.Form,
			start: m.Start, end: m.End, redStart: m.Start, redEnd: m.End})
	}
	return spans
}

// blankRun returns len(b) when b holds only blanks and line breaks, else -1.
func blankRun(b []byte) int {
	if len(bytes.Trim(b, " \t\r\n")) == 0 {
		return len(b)
	}
	return -1
}

func overlapsAny(spans []span, start, end int) bool {
	for _, s := range spans {
		if s.start < end && start < s.end {
			return true
		}
	}
	return false
}

// findings turns the spans of u into Findings with positions and
// previews, leaving out what the allowlist or an inline wsx:allow allows.
func findings(u unit, spans []span, allow *allowlist) []Finding {
	if len(spans) == 0 {
		return nil
	}
	slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(a.start, b.start) })
	var out []Finding
	pos := newPositioner(u.data, u.line)
	for _, s := range spans {
		line, col := pos.at(s.start)
		endLine, endCol := pos.at(s.end)
		ls, le := lineBounds(u.data, s.start)
		text := u.data[ls:le]
		if inlineAllowed(text, s.secret) {
			continue
		}
		f := Finding{
			Rule: s.rule, Secret: s.secret, Previous: s.previous, Form: s.form,
			File: u.path, Commit: u.commit,
			Line: line, Column: col, EndLine: endLine, EndColumn: endCol,
			Preview: preview(u.data, ls, le, s, spans),
			order:   u.seq,
		}
		f.Fingerprint = fingerprint(f)
		if allow.allowsFinding(f) {
			continue
		}
		out = append(out, f)
	}
	return out
}

// fingerprint identifies a finding for .wsxscanignore:
// [COMMIT:]FILE:RULE-OR-NAME:LINE, as gitleaks does.
func fingerprint(f Finding) string {
	s := f.File + ":" + f.Name() + ":" + strconv.Itoa(f.Line)
	if f.Commit != "" {
		s = f.Commit + ":" + s
	}
	return s
}

// positioner turns offsets, asked in increasing order, into lines and
// columns, counting line breaks once.
type positioner struct {
	data    []byte
	off     int // offsets before off are counted
	line    int // line at off
	lineOff int // start of that line
}

func newPositioner(data []byte, first int) *positioner {
	return &positioner{data: data, line: first}
}

func (p *positioner) at(off int) (line, col int) {
	if off < p.off { // not in order: count again from the start
		*p = positioner{data: p.data, line: p.line - bytes.Count(p.data[:p.off], []byte("\n"))}
	}
	for {
		i := bytes.IndexByte(p.data[p.off:off], '\n')
		if i < 0 {
			break
		}
		p.off += i + 1
		p.line++
		p.lineOff = p.off
	}
	p.off = off
	return p.line, off - p.lineOff + 1
}

func lineBounds(b []byte, off int) (int, int) {
	ls := bytes.LastIndexByte(b[:off], '\n') + 1
	le := bytes.IndexByte(b[off:], '\n')
	if le < 0 {
		le = len(b)
	} else {
		le += off
	}
	return ls, le
}

// inlineAllowed reports whether a line allows what was found on it: any
// known format with "wsx:allow", a stored secret only with
// "wsx:allow=NAME" (its value is certainly a secret; only a deliberate
// mention by name lets it pass).
func inlineAllowed(line []byte, secret string) bool {
	for rest := line; ; {
		i := bytes.Index(rest, []byte("wsx:allow"))
		if i < 0 {
			return false
		}
		rest = rest[i+len("wsx:allow"):]
		if secret == "" {
			return true
		}
		if name, ok := bytes.CutPrefix(rest, []byte("=")); ok && bytes.HasPrefix(name, []byte(secret)) {
			if tail := name[len(secret):]; len(tail) == 0 || !isNameByte(tail[0]) {
				return true
			}
		}
	}
}

func isNameByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
}

// Preview limits.
const (
	previewMax    = 96
	previewBefore = 32
)

// redacted is what replaces found text in a preview.
const redacted = "***"

// preview returns the line [ls, le) of data with every span on it
// replaced by ***, cut to previewMax bytes around s, and with control
// characters and invalid UTF-8 escaped.
func preview(data []byte, ls, le int, s span, spans []span) string {
	var b []byte
	anchor := 0
	for i := ls; i < le; {
		if r, ok := redactionAt(spans, i); ok {
			if r.start == s.start && r.rule == s.rule {
				anchor = len(b)
			}
			b = append(b, redacted...)
			i = min(r.redEnd, le)
			continue
		}
		b = append(b, data[i])
		i++
	}
	lo := max(0, anchor-previewBefore)
	hi := min(len(b), lo+previewMax)
	out := escapePreview(bytes.TrimSpace(b[lo:hi]))
	if lo > 0 {
		out = "…" + out
	}
	if hi < len(b) {
		out += "…"
	}
	return out
}

// redactionAt returns the span whose redacted part covers offset i.
func redactionAt(spans []span, i int) (span, bool) {
	for _, s := range spans {
		if s.redStart <= i && i < s.redEnd {
			return s, true
		}
	}
	return span{}, false
}

func escapePreview(b []byte) string {
	var sb strings.Builder
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&sb, `\x%02x`, b[0])
		case r == '\t':
			sb.WriteByte(' ')
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			fmt.Fprintf(&sb, `\x%02x`, r)
		default:
			sb.WriteRune(r)
		}
		b = b[n:]
	}
	return sb.String()
}
