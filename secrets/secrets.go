// Package secrets holds the flows of the commands that change and show a
// store's secrets: add and set, rotate (with undo and finish), rm, list,
// info and status, and the overdue reminders. A flow works on a Store (the
// store opened here, or the wsx agent's) and asks for values through a
// Prompt; cmd chooses the store, reads the flags and owns the terminal.
package secrets

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/wsxdev/wsx/audit"
	"github.com/wsxdev/wsx/internal/hint"
	"github.com/wsxdev/wsx/internal/mask"
	"github.com/wsxdev/wsx/store"
)

// Prompt reads what the user gives a flow.
type Prompt interface {
	// Value reads a secret's value from the file fromFile, from piped
	// stdin, or with a hidden prompt on the terminal; given is false when
	// none supplied any bytes. required says a value must be given (add,
	// rotate), not only may be (set).
	Value(name string, typ store.Type, fromFile string, required bool) (val []byte, given bool, err error)
	// KeyPassphrase returns the passphrase of the encrypted SSH key name:
	// from file when it is not "", else asked on the terminal.
	KeyPassphrase(name, file string) ([]byte, error)
}

// Flows runs the commands on one store's secrets.
type Flows struct {
	Store  Store
	Prompt Prompt
	Stdout io.Writer // what the command prints
	Stderr io.Writer // what it says
	Now    func() time.Time
	// AuditPath is the store's audit log, which status reads for the
	// secrets programs never read; "" or unreadable leaves that out.
	AuditPath string
}

// record appends a record of an event of this command, via the command line.
func (f *Flows) record(ev audit.Event, name, result, detail string) error {
	return f.recordCLI(audit.Record{Event: ev, Secret: name, Result: result, Detail: detail})
}

// recordCLI appends r as an event of this command; the process facts are
// found by the side that writes it.
func (f *Flows) recordCLI(r audit.Record) error {
	r.Via = audit.ViaCLI
	return f.Store.Record(r)
}

// setValueNote ends the line of `wsx set` that changed a value.
func setValueNote(given bool, name string) string {
	if !given {
		return ""
	}
	return fmt.Sprintf("; the previous value is not kept (`wsx rotate %s` keeps it until --finish)", name)
}

// Options are the flags shared by add and set.
type Options struct {
	Name          string
	Type          string // "" keeps the current type (set) or means token (add)
	Description   *string
	Hosts         []string
	HostsSet      bool
	Username      *string
	RotateEvery   *string
	Expires       *time.Time // zero: never, or not known
	FromFile      string
	KeyPassFile   string
	AllowDanger   bool
	CreateOnly    bool // add: refuse an existing name
	RequireValue  bool // add: a value must be given
	UpdateOnlyVal bool // rotate
}

// Add is `wsx add` and `wsx set`: it creates the secret o names, or
// changes the one that exists (not with CreateOnly), then records it.
func (f *Flows) Add(o Options) error {
	if err := store.ValidateName(o.Name); err != nil {
		return hint.Usagef("%v", err)
	}
	if advice := store.NameAdvice(o.Name); advice != "" {
		fmt.Fprintf(f.Stderr, "wsx: warning: %s\n", advice)
	}
	st := f.Store
	existing, _, getErr := st.Stat(o.Name)
	switch {
	case getErr == nil && o.CreateOnly:
		return hint.With(fmt.Errorf("secret %s: %w", o.Name, store.ErrExists),
			"use `wsx set %s` to change it or `wsx rotate %s` to give it a new value", o.Name, o.Name)
	case getErr == nil:
		return f.update(st, existing, o)
	case !errors.Is(getErr, store.ErrNotFound):
		return getErr
	}
	return f.create(st, o)
}

// typeOr reads --type, or gives def when it was not given.
func typeOr(flag string, def store.Type) (store.Type, error) {
	if flag == "" {
		return def, nil
	}
	t, err := store.ParseType(flag)
	if err != nil {
		return "", hint.Usagef("%v", err)
	}
	return t, nil
}

func (f *Flows) create(st Store, o Options) error {
	typ, err := typeOr(o.Type, store.TypeToken)
	if err != nil {
		return err
	}
	val, given, err := f.Prompt.Value(o.Name, typ, o.FromFile, true)
	if err != nil {
		return err
	}
	if !given {
		return hint.With(fmt.Errorf("secret %s: no value given", o.Name),
			"pipe the value on stdin, use --from-file PATH, or run in a terminal to be asked for it")
	}
	sec := store.Secret{Meta: store.Meta{Name: o.Name, Type: typ, RotateEvery: store.DefaultRotation(typ)}}
	if err := applyMeta(&sec.Meta, o); err != nil {
		return err
	}
	if sec.Value, sec.Meta.SSH, err = f.checkValue(o, typ, val); err != nil {
		return err
	}
	m, err := st.Add(sec, store.AddOptions{AllowDangerousName: o.AllowDanger})
	if err != nil {
		return addHint(o.Name, err)
	}
	WarnShort(f.Stderr, m.Name, sec.Value)
	fmt.Fprintf(f.Stderr, "wsx: added %s (%s)\n", m.Name, m.Type)
	return f.record(audit.EventCreated, m.Name, "ok", "")
}

func (f *Flows) update(st Store, cur store.Meta, o Options) error {
	typ, err := typeOr(o.Type, cur.Type)
	if err != nil {
		return err
	}
	val, given, err := f.Prompt.Value(o.Name, typ, o.FromFile, false)
	if err != nil {
		return err
	}
	if typ != cur.Type && !given {
		return hint.Usagef("secret %s: changing the type from %s to %s needs a new value", o.Name, cur.Type, typ)
	}
	var newVal store.Value
	if given {
		// The store parses a key again and keeps its facts.
		if newVal, _, err = f.checkValue(o, typ, val); err != nil {
			return err
		}
	}
	e := store.Edit{Type: typ, Description: o.Description, Username: o.Username, Value: newVal, Expires: o.Expires}
	if o.HostsSet {
		e.Hosts = &o.Hosts
	}
	if o.RotateEvery != nil {
		d, err := ParseRotateEvery(*o.RotateEvery)
		if err != nil {
			return err
		}
		e.RotateEvery = &d
	}
	m, err := st.Edit(o.Name, e)
	if err != nil {
		return err
	}
	what := "updated"
	if given {
		what = "updated the value of"
		WarnShort(f.Stderr, m.Name, newVal)
	}
	fmt.Fprintf(f.Stderr, "wsx: %s %s%s\n", what, m.Name, setValueNote(given, m.Name))
	return f.record(audit.EventUpdated, m.Name, "ok", "")
}

// RotateOptions are the flags of `wsx rotate`.
type RotateOptions struct {
	Name        string
	FromFile    string
	KeyPassFile string
	Undo        bool // bring back the value from before the last rotation
	Finish      bool // delete the value from before the last rotation
}

// Rotate rotates in the safe order: a rotation stores the new value and
// keeps the previous one; --undo brings the previous one back; --finish
// deletes it once the new one works. A rotation is refused while the
// previous one is neither finished nor undone.
func (f *Flows) Rotate(o RotateOptions) error {
	switch {
	case o.Undo && o.Finish:
		return hint.Usagef("choose one of --undo and --finish")
	case (o.Undo || o.Finish) && (o.FromFile != "" || o.KeyPassFile != ""):
		return hint.Usagef("--undo and --finish take no new value")
	}
	st := f.Store
	cur, _, err := st.Stat(o.Name)
	if err != nil {
		return NotFound(st, o.Name, err)
	}
	switch {
	case o.Undo:
		return f.undoRotation(st, cur)
	case o.Finish:
		return f.finishRotation(st, cur)
	case cur.Previous != nil:
		return hint.With(fmt.Errorf("secret %s: %w: the value of version %d is still kept", o.Name, store.ErrRotationPending, cur.Previous.Version),
			"once the current value works everywhere, delete the old one with `wsx rotate %s --finish` (or go back to it with --undo), then rotate", o.Name)
	}
	val, given, err := f.Prompt.Value(o.Name, cur.Type, o.FromFile, true)
	if err != nil {
		return err
	}
	if !given {
		return hint.With(fmt.Errorf("secret %s: no new value given", o.Name),
			"pipe the new value on stdin, use --from-file PATH, or run in a terminal to be asked for it")
	}
	v, _, err := f.checkValue(Options{Name: o.Name, KeyPassFile: o.KeyPassFile}, cur.Type, val)
	clear(val)
	if err != nil {
		return err
	}
	m, err := st.Edit(o.Name, store.Edit{Value: v, Rotate: true})
	if errors.Is(err, store.ErrInvalidValue) {
		if match, cerr := st.Compare(o.Name, v); cerr == nil && match == store.MatchCurrent {
			return fmt.Errorf("secret %s: the new value is the same as the current one; nothing was changed", o.Name)
		}
	}
	if err != nil {
		return err
	}
	WarnShort(f.Stderr, o.Name, v)
	fmt.Fprintf(f.Stderr, "wsx: rotated %s (version %d); the old value (version %d) is kept until `wsx rotate %s --finish` deletes it once the new one works; `--undo` brings it back\n",
		o.Name, m.Version, cur.Version, o.Name)
	return f.record(audit.EventRotated, o.Name, "ok", fmt.Sprintf("previous value (version %d) kept", cur.Version))
}

func (f *Flows) undoRotation(st Store, cur store.Meta) error {
	if cur.Previous == nil {
		return hint.With(fmt.Errorf("secret %s: %w: there is no rotation to undo", cur.Name, store.ErrNoPrevious),
			"`wsx rotate %s` starts one; the old value is kept until --finish", cur.Name)
	}
	prev := cur.Previous.Version
	m, err := st.Edit(cur.Name, store.Edit{Undo: true})
	if err != nil {
		return err
	}
	fmt.Fprintf(f.Stderr, "wsx: %s has its value of version %d back (now version %d); the value of the undone rotation is deleted\n", cur.Name, prev, m.Version)
	return f.recordRotation(audit.EventUpdated, cur.Name, fmt.Sprintf("rotation undone: value of version %d restored", prev), "--undo")
}

func (f *Flows) finishRotation(st Store, cur store.Meta) error {
	if cur.Previous == nil {
		return hint.With(fmt.Errorf("secret %s: %w: there is no rotation to finish", cur.Name, store.ErrNoPrevious),
			"`wsx rotate %s` starts one", cur.Name)
	}
	prev := cur.Previous.Version
	if _, err := st.Edit(cur.Name, store.Edit{Finish: true}); err != nil {
		return err
	}
	fmt.Fprintf(f.Stderr, "wsx: deleted the old value of %s (version %d); the rotation is finished\n", cur.Name, prev)
	return f.recordRotation(audit.EventDeleted, cur.Name, "previous value", "--finish")
}

// recordRotation records an undo or finish step. The record's command says
// which step it was, so the one-line form tells `wsx rotate NAME --finish`
// (event deleted) from removing the secret.
func (f *Flows) recordRotation(ev audit.Event, name, detail, flag string) error {
	cmd := "wsx rotate " + name + " " + flag
	return f.recordCLI(audit.Record{Event: ev, Secret: name, Result: "ok", Detail: detail, Context: &audit.Context{Command: cmd}})
}

// ErrNotAsked is what an ask function returns when there is no terminal
// to ask on.
var ErrNotAsked = errors.New("no terminal to ask on")

// RemoveAsked is `wsx rm`: it removes the secret name once ask said yes,
// or at once with yes. Like gh's destructive commands, it refuses to
// remove without asking when stdin is not a terminal (canAsk) and yes is
// not given: a usage error, as a script says --yes.
func (f *Flows) RemoveAsked(name, home string, yes, canAsk bool, ask func(question string) (bool, error)) error {
	if yes {
		return f.Remove(name)
	}
	refuse := hint.With(hint.Usagef("%s was not removed: there is no terminal to ask on, and --yes was not given", name),
		"`wsx rm --yes %s` removes the secret and every value kept for it without asking; it cannot be undone", name)
	if !canAsk {
		return refuse
	}
	metas, err := f.Store.List()
	if err != nil {
		return err
	}
	i := slices.IndexFunc(metas, func(m store.Meta) bool { return m.Name == name })
	if i < 0 {
		return f.Remove(name) // not found, with the closest names
	}
	m := metas[i]
	what := fmt.Sprintf("%s (%s, version %d)", m.Name, m.Type, m.Version)
	if m.Previous != nil {
		what = fmt.Sprintf("%s (%s, version %d and the kept value of version %d)", m.Name, m.Type, m.Version, m.Previous.Version)
	}
	ok, err := ask(fmt.Sprintf("Remove %s from the store in %s? It cannot be undone.", what, home))
	switch {
	case errors.Is(err, ErrNotAsked):
		return refuse
	case err != nil:
		return err
	case !ok:
		return fmt.Errorf("%s was not removed", name)
	}
	return f.Remove(name)
}

// Remove is `wsx rm` once asked: it removes the secret and records it.
func (f *Flows) Remove(name string) error {
	st := f.Store
	if err := st.Remove(name); err != nil {
		return NotFound(st, name, err)
	}
	fmt.Fprintf(f.Stderr, "wsx: removed %s\n", name)
	return f.record(audit.EventDeleted, name, "ok", "")
}

// applyMeta copies the descriptive flags that were given onto m.
func applyMeta(m *store.Meta, o Options) error {
	if o.Description != nil {
		m.Description = *o.Description
	}
	if o.HostsSet {
		m.Hosts = o.Hosts
	}
	if o.Username != nil {
		m.Username = *o.Username
	}
	if o.RotateEvery != nil {
		d, err := ParseRotateEvery(*o.RotateEvery)
		if err != nil {
			return err
		}
		m.RotateEvery = d
	}
	if o.Expires != nil {
		m.Expires = *o.Expires
	}
	return nil
}

// ReadCapped reads a value from the file path (or r when not nil) refusing
// anything larger than store.MaxFileSize.
func ReadCapped(path string, r io.Reader) ([]byte, error) {
	if r == nil {
		fi, err := os.Stat(path)
		if err != nil {
			return nil, err
		}
		if !fi.Mode().IsRegular() {
			return nil, fmt.Errorf("%s is not a regular file", path)
		}
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, store.MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(b) > store.MaxFileSize {
		return nil, fmt.Errorf("%s is larger than the %d-byte limit", path, store.MaxFileSize)
	}
	return b, nil
}

// checkValue validates a value for its type. A key in PEM or OpenSSH form
// must parse; an encrypted one asks for its passphrase once.
func (f *Flows) checkValue(o Options, typ store.Type, val []byte) (store.Value, *store.SSHKey, error) {
	if typ != store.TypeKey {
		return store.NewValue(val), nil, nil
	}
	ask := func() ([]byte, error) { return f.Prompt.KeyPassphrase(o.Name, o.KeyPassFile) }
	canon, info, err := store.ParseKey(val, ask)
	if err != nil {
		return store.Value{}, nil, fmt.Errorf("secret %s: %w", o.Name, err)
	}
	return store.NewValue(canon), info, nil
}

// WarnShort says when a value is too short for masking to mean anything.
func WarnShort(w io.Writer, name string, v store.Value) {
	if v.Len() > 0 && v.Len() < mask.MinMaskLen {
		fmt.Fprintf(w, "wsx: warning: %s is shorter than %d bytes: its value will not be masked in output\n", name, mask.MinMaskLen)
	}
}

func addHint(name string, err error) error {
	switch {
	case errors.Is(err, store.ErrExists):
		return hint.With(err, "names are compared without case; pick another name or `wsx set` the existing one")
	case errors.Is(err, store.ErrDangerousName):
		return hint.With(err, "pick a name of your own such as %s_VALUE; if you mean it, add --allow-dangerous-name", name)
	}
	return err
}

// NotFound adds the closest names to a not-found error.
func NotFound(st Store, name string, err error) error {
	if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	metas, lerr := st.List()
	if lerr != nil {
		return err
	}
	names := make([]string, len(metas))
	for i, m := range metas {
		names[i] = m.Name
	}
	return DidYouMean(err, name, names)
}

// DidYouMean adds to err a hint naming the names closest to name, if any.
func DidYouMean(err error, name string, names []string) error {
	if close := CloseNames(name, names); len(close) > 0 {
		return hint.With(err, "did you mean %s?", strings.Join(close, ", "))
	}
	return err
}

// CloseNames returns the names within a small edit distance of name, or
// equal to it but for case, closest first.
func CloseNames(name string, names []string) []string {
	type cand struct {
		name string
		d    int
	}
	var out []cand
	for _, n := range names {
		d := editDistance(strings.ToUpper(name), strings.ToUpper(n))
		if d <= 2 || d <= len(name)/4 {
			out = append(out, cand{n, d})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].d < out[j].d })
	res := make([]string, 0, 3)
	for i := 0; i < len(out) && i < 3; i++ {
		res = append(res, out[i].name)
	}
	return res
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// JSONMeta is the --json form of a secret's metadata. Fields are only
// ever added.
type JSONMeta struct {
	Name        string        `json:"name"`
	Type        store.Type    `json:"type"`
	Description string        `json:"description"`
	Hosts       []string      `json:"hosts"`
	Username    string        `json:"username"`
	Created     time.Time     `json:"created"`
	Updated     time.Time     `json:"updated"`
	Rotated     *time.Time    `json:"rotated"`
	RotateEvery string        `json:"rotate_every"`
	RotationDue *time.Time    `json:"rotation_due"`
	Expires     *time.Time    `json:"expires"` // null: not known
	Overdue     bool          `json:"overdue"`
	Version     uint64        `json:"version"`
	SSH         *store.SSHKey `json:"ssh,omitempty"`
	// RotationPending is true while the value from before the last
	// rotation is kept (PreviousVersion says which version held it).
	RotationPending bool   `json:"rotation_pending"`
	PreviousVersion uint64 `json:"previous_version,omitempty"`
	// ServedByAgent: wsx agent offers this key to ssh.
	ServedByAgent bool `json:"served_by_agent,omitempty"`
}

func ToJSON(m store.Meta, now time.Time) JSONMeta {
	j := JSONMeta{
		Name: m.Name, Type: m.Type, Description: m.Description, Hosts: m.Hosts,
		Username: m.Username, Created: m.Created, Updated: m.Updated,
		RotateEvery: FormatPeriod(m.RotateEvery), Version: m.Version, SSH: m.SSH,
		ServedByAgent: m.ServedByAgent(),
	}
	if j.Hosts == nil {
		j.Hosts = []string{}
	}
	if !m.Rotated.IsZero() {
		r := m.Rotated
		j.Rotated = &r
	}
	if due, ok := m.RotationDue(); ok {
		j.RotationDue = &due
		j.Overdue = now.After(due)
	}
	if !m.Expires.IsZero() {
		e := m.Expires
		j.Expires = &e
	}
	if m.Previous != nil {
		j.RotationPending, j.PreviousVersion = true, m.Previous.Version
	}
	return j
}

// List prints the secrets. Secrets that cannot be read do not hide the
// others: they are listed as DAMAGED and the command fails at the end.
func (f *Flows) List(asJSON bool) error {
	metas, err := f.Store.List()
	if err != nil && metas == nil {
		return err
	}
	var damaged []string
	if de, ok := errors.AsType[*store.DamagedError](err); ok {
		damaged = de.Names
	}
	now := f.Now()
	if asJSON {
		out := make([]JSONMeta, 0, len(metas))
		for _, m := range metas {
			out = append(out, ToJSON(m, now))
		}
		if werr := WriteJSON(f.Stdout, out); werr != nil {
			return werr
		}
		return err
	}
	if len(metas) == 0 && len(damaged) == 0 {
		fmt.Fprintln(f.Stderr, "wsx: no secrets yet; add one with `wsx add NAME`")
		return err
	}
	rows := make([]string, 0, len(metas)+len(damaged)+1)
	for _, m := range metas {
		hosts := strings.Join(m.Hosts, ",")
		if hosts == "" {
			hosts = "-"
		}
		rows = append(rows, m.Name+"\t"+string(m.Type)+"\t"+FormatAge(now.Sub(m.LastSet()))+"\t"+
			RotationState(m, now)+"\t"+hosts+"\t"+OneLine(m.Description))
	}
	for _, n := range damaged {
		rows = append(rows, n+"\tDAMAGED\t-\t-\t-\tcannot be read; see the error below")
	}
	slices.Sort(rows)
	rows = slices.Insert(rows, 0, "NAME\tTYPE\tAGE\tROTATION\tHOSTS\tDESCRIPTION")
	if werr := writeColumns(f.Stdout, rows, 2); werr != nil {
		return werr
	}
	return err
}

// Info is `wsx info`: one secret's metadata, never its value.
func (f *Flows) Info(name string, asJSON bool) error {
	st := f.Store
	m, size, err := st.Stat(name)
	if err != nil {
		return NotFound(st, name, err)
	}
	now := f.Now()
	if asJSON {
		return WriteJSON(f.Stdout, ToJSON(m, now))
	}
	tw := newTable(f.Stdout, 1)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s:\t%s\n", k, v)
		}
	}
	row("Name", m.Name)
	row("Type", string(m.Type))
	row("Description", OneLine(m.Description))
	row("Hosts", strings.Join(m.Hosts, ", "))
	row("Username", m.Username)
	row("Size", fmt.Sprintf("%d bytes", size))
	row("Created", m.Created.Local().Format(time.DateTime))
	row("Updated", m.Updated.Local().Format(time.DateTime))
	if !m.Rotated.IsZero() {
		row("Rotated", m.Rotated.Local().Format(time.DateTime))
	}
	row("Rotate every", FormatPeriod(m.RotateEvery))
	row("Rotation", DescribeRotation(m, now))
	if !m.Expires.IsZero() {
		row("Expires", m.Expires.Local().Format(time.DateTime))
	}
	if m.Previous != nil {
		row("Old value", fmt.Sprintf("version %d, kept until `wsx rotate %s --finish`", m.Previous.Version, m.Name))
	}
	row("Version", fmt.Sprint(m.Version))
	if m.SSH != nil {
		row("SSH key", fmt.Sprintf("%s %s", m.SSH.Algorithm, m.SSH.Fingerprint))
	}
	switch {
	case m.ServedByAgent():
		row("Agent", "served to ssh by wsx agent (`ssh-add -l` lists it while the agent is unlocked)")
	case m.Type == store.TypeKey:
		row("Agent", fmt.Sprintf("not served to ssh (raw key material); programs get it with `wsx exec --only %s`", m.Name))
	}
	return tw.Flush()
}

// OneLine keeps a description on one table row, escaping what a terminal
// would interpret.
func OneLine(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n' || r == '\t':
			b.WriteByte(' ')
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			fmt.Fprintf(&b, "\\x%02x", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// AddValue adds the new secret m with the value val, checked for its type,
// and records it with detail: `wsx template init` once it was given a
// value. added says the secret was stored, even if the record failed.
func (f *Flows) AddValue(m store.Meta, val []byte, detail string) (added bool, err error) {
	v, ssh, err := f.checkValue(Options{Name: m.Name}, m.Type, val)
	if err != nil {
		return false, err
	}
	m.SSH = ssh
	if _, err := f.Store.Add(store.Secret{Meta: m, Value: v}); err != nil {
		return false, addHint(m.Name, err)
	}
	WarnShort(f.Stderr, m.Name, v)
	fmt.Fprintf(f.Stderr, "wsx: added %s (%s)\n", m.Name, m.Type)
	return true, f.record(audit.EventCreated, m.Name, "ok", detail)
}

// table is a tabwriter over a buffer of w, so a table of 10 000 rows is a
// few writes rather than one per cell; Flush writes it all.
type table struct {
	*tabwriter.Writer
	bw *bufio.Writer
}

func newTable(w io.Writer, padding int) table {
	bw := bufio.NewWriterSize(w, 64<<10)
	return table{tabwriter.NewWriter(bw, 0, 4, padding, ' ', 0), bw}
}

func (t table) Flush() error {
	if err := t.Writer.Flush(); err != nil {
		return err
	}
	return t.bw.Flush()
}
