package cmd

import (
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
	"github.com/wsxdev/wsx/internal/mask"
	"github.com/wsxdev/wsx/store"
)

// initOptions are the flags of `wsx init`.
type initOptions struct {
	Backend string
	KDF     store.KDFParams
}

func (s *session) runInit(o initOptions) error {
	pass, err := s.newStorePassphrase(s.passphraseFile(), "nothing was created")
	if err != nil {
		return err
	}
	st, err := store.Init(s.home, store.InitOptions{Backend: o.Backend, Passphrase: pass, KDF: o.KDF, PassDir: s.env.Getenv("PASSWORD_STORE_DIR")})
	if err != nil {
		return err
	}
	st.SetClock(s.env.Now)
	s.st = st
	fmt.Fprintf(s.env.Stderr, "wsx: created a %s store in %s\n", st.Backend(), s.home)
	return nil
}

// secretOptions are the flags shared by add and set.
type secretOptions struct {
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

func (s *session) runAdd(o secretOptions) error {
	if err := store.ValidateName(o.Name); err != nil {
		return usagef("%v", err)
	}
	if advice := store.NameAdvice(o.Name); advice != "" {
		fmt.Fprintf(s.env.Stderr, "wsx: warning: %s\n", advice)
	}
	st, err := s.unlocked()
	if err != nil {
		return err
	}
	existing, _, getErr := st.Stat(o.Name)
	switch {
	case getErr == nil && o.CreateOnly:
		return withHint(fmt.Errorf("secret %s: %w", o.Name, store.ErrExists),
			"use `wsx set %s` to change it or `wsx rotate %s` to give it a new value", o.Name, o.Name)
	case getErr == nil:
		return s.update(st, existing, o)
	case !errors.Is(getErr, store.ErrNotFound):
		return getErr
	}
	return s.create(st, o)
}

func (s *session) create(st secretStore, o secretOptions) error {
	typ := store.TypeToken
	if o.Type != "" {
		t, err := store.ParseType(o.Type)
		if err != nil {
			return usagef("%v", err)
		}
		typ = t
	}
	val, given, err := s.readValue(o.Name, typ, o.FromFile, true)
	if err != nil {
		return err
	}
	if !given {
		return withHint(fmt.Errorf("secret %s: no value given", o.Name),
			"pipe the value on stdin, use --from-file PATH, or run in a terminal to be asked for it")
	}
	sec := store.Secret{Meta: store.Meta{Name: o.Name, Type: typ, RotateEvery: defaultRotation(typ)}}
	if err := applyMeta(&sec.Meta, o); err != nil {
		return err
	}
	if sec.Value, sec.Meta.SSH, err = s.checkValue(o, typ, val); err != nil {
		return err
	}
	m, err := st.Add(sec, store.AddOptions{AllowDangerousName: o.AllowDanger})
	if err != nil {
		return addHint(o.Name, err)
	}
	warnShort(s.env, m.Name, sec.Value)
	fmt.Fprintf(s.env.Stderr, "wsx: added %s (%s)\n", m.Name, m.Type)
	return s.record(audit.EventCreated, m.Name, "ok", "")
}

func (s *session) update(st secretStore, cur store.Meta, o secretOptions) error {
	typ := cur.Type
	if o.Type != "" {
		t, err := store.ParseType(o.Type)
		if err != nil {
			return usagef("%v", err)
		}
		typ = t
	}
	val, given, err := s.readValue(o.Name, typ, o.FromFile, false)
	if err != nil {
		return err
	}
	if typ != cur.Type && !given {
		return usagef("secret %s: changing the type from %s to %s needs a new value", o.Name, cur.Type, typ)
	}
	var newVal store.Value
	if given {
		// The store parses a key again and keeps its facts.
		if newVal, _, err = s.checkValue(o, typ, val); err != nil {
			return err
		}
	}
	e := store.Edit{Type: typ, Description: o.Description, Username: o.Username, Value: newVal, Expires: o.Expires}
	if o.HostsSet {
		e.Hosts = &o.Hosts
	}
	if o.RotateEvery != nil {
		d, err := parseRotateEvery(*o.RotateEvery)
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
		warnShort(s.env, m.Name, newVal)
	}
	fmt.Fprintf(s.env.Stderr, "wsx: %s %s%s\n", what, m.Name, setValueNote(given, m.Name))
	return s.record(audit.EventUpdated, m.Name, "ok", "")
}

// rotateOptions are the flags of `wsx rotate`.
type rotateOptions struct {
	Name        string
	FromFile    string
	KeyPassFile string
	Undo        bool // bring back the value from before the last rotation
	Finish      bool // delete the value from before the last rotation
}

// runRotate rotates in the safe order: a rotation stores the new value and
// keeps the previous one; --undo brings the previous one back; --finish
// deletes it once the new one works. A rotation is refused while the
// previous one is neither finished nor undone.
func (s *session) runRotate(o rotateOptions) error {
	switch {
	case o.Undo && o.Finish:
		return usagef("choose one of --undo and --finish")
	case (o.Undo || o.Finish) && (o.FromFile != "" || o.KeyPassFile != ""):
		return usagef("--undo and --finish take no new value")
	}
	st, err := s.unlocked()
	if err != nil {
		return err
	}
	cur, _, err := st.Stat(o.Name)
	if err != nil {
		return notFoundHint(st, o.Name, err)
	}
	switch {
	case o.Undo:
		return s.undoRotation(st, cur)
	case o.Finish:
		return s.finishRotation(st, cur)
	case cur.Previous != nil:
		return withHint(fmt.Errorf("secret %s: %w: the value of version %d is still kept", o.Name, store.ErrRotationPending, cur.Previous.Version),
			"once the current value works everywhere, delete the old one with `wsx rotate %s --finish` (or go back to it with --undo), then rotate", o.Name)
	}
	val, given, err := s.readValue(o.Name, cur.Type, o.FromFile, true)
	if err != nil {
		return err
	}
	if !given {
		return withHint(fmt.Errorf("secret %s: no new value given", o.Name),
			"pipe the new value on stdin, use --from-file PATH, or run in a terminal to be asked for it")
	}
	v, _, err := s.checkValue(secretOptions{Name: o.Name, KeyPassFile: o.KeyPassFile}, cur.Type, val)
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
	warnShort(s.env, o.Name, v)
	fmt.Fprintf(s.env.Stderr, "wsx: rotated %s (version %d); the old value (version %d) is kept until `wsx rotate %s --finish` deletes it once the new one works; `--undo` brings it back\n",
		o.Name, m.Version, cur.Version, o.Name)
	return s.record(audit.EventRotated, o.Name, "ok", fmt.Sprintf("previous value (version %d) kept", cur.Version))
}

func (s *session) undoRotation(st secretStore, cur store.Meta) error {
	if cur.Previous == nil {
		return withHint(fmt.Errorf("secret %s: %w: there is no rotation to undo", cur.Name, store.ErrNoPrevious),
			"`wsx rotate %s` starts one; the old value is kept until --finish", cur.Name)
	}
	prev := cur.Previous.Version
	m, err := st.Edit(cur.Name, store.Edit{Undo: true})
	if err != nil {
		return err
	}
	fmt.Fprintf(s.env.Stderr, "wsx: %s has its value of version %d back (now version %d); the value of the undone rotation is deleted\n", cur.Name, prev, m.Version)
	return s.recordRotation(audit.EventUpdated, cur.Name, fmt.Sprintf("rotation undone: value of version %d restored", prev), "--undo")
}

func (s *session) finishRotation(st secretStore, cur store.Meta) error {
	if cur.Previous == nil {
		return withHint(fmt.Errorf("secret %s: %w: there is no rotation to finish", cur.Name, store.ErrNoPrevious),
			"`wsx rotate %s` starts one", cur.Name)
	}
	prev := cur.Previous.Version
	if _, err := st.Edit(cur.Name, store.Edit{Finish: true}); err != nil {
		return err
	}
	fmt.Fprintf(s.env.Stderr, "wsx: deleted the old value of %s (version %d); the rotation is finished\n", cur.Name, prev)
	return s.recordRotation(audit.EventDeleted, cur.Name, "previous value", "--finish")
}

// recordRotation records an undo or finish step. The record's command says
// which step it was, so the one-line form tells `wsx rotate NAME --finish`
// (event deleted) from removing the secret.
func (s *session) recordRotation(ev audit.Event, name, detail, flag string) error {
	cmd := "wsx rotate " + name + " " + flag
	return s.recordCLI(audit.Record{Event: ev, Secret: name, Result: "ok", Detail: detail, Context: &audit.Context{Command: cmd}})
}

func (s *session) runRemove(name string) error {
	st, err := s.unlocked()
	if err != nil {
		return err
	}
	if err := st.Remove(name); err != nil {
		return notFoundHint(st, name, err)
	}
	fmt.Fprintf(s.env.Stderr, "wsx: removed %s\n", name)
	return s.record(audit.EventDeleted, name, "ok", "")
}

// applyMeta copies the descriptive flags that were given onto m.
func applyMeta(m *store.Meta, o secretOptions) error {
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
		d, err := parseRotateEvery(*o.RotateEvery)
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

// readValue reads a secret's value from --from-file, from piped stdin, or
// with a hidden prompt on the terminal. given is false when none of them
// supplied any bytes.
func (s *session) readValue(name string, typ store.Type, fromFile string, required bool) (val []byte, given bool, err error) {
	switch {
	case fromFile != "":
		val, err = readCapped(fromFile, nil)
		if err != nil {
			return nil, false, fmt.Errorf("secret %s: %w", name, err)
		}
		return val, true, nil
	case !s.env.StdinIsTerminal:
		val, err = readCapped("stdin", s.env.Stdin)
		if err != nil {
			return nil, false, fmt.Errorf("secret %s: %w", name, err)
		}
		if typ == store.TypeToken || typ == store.TypePassword {
			val = trimNewline(val)
		}
		return val, len(val) > 0, nil
	case typ == store.TypeFile || typ == store.TypeKey:
		if !required {
			return nil, false, nil
		}
		return nil, false, usagef("secret %s: a %s value is read with --from-file PATH or from a pipe", name, typ)
	}
	t, err := s.env.Terminal()
	if err != nil {
		return nil, false, nil
	}
	defer t.Close()
	prompt := fmt.Sprintf("Value for %s (input hidden): ", name)
	if !required {
		prompt = fmt.Sprintf("New value for %s (input hidden, empty keeps the current one): ", name)
	}
	val, err = t.ReadPassword(prompt)
	if err != nil {
		return nil, false, err
	}
	return val, len(val) > 0, nil
}

// readCapped reads a value from the file path (or r when not nil) refusing
// anything larger than store.MaxFileSize.
func readCapped(path string, r io.Reader) ([]byte, error) {
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
func (s *session) checkValue(o secretOptions, typ store.Type, val []byte) (store.Value, *store.SSHKey, error) {
	if typ != store.TypeKey {
		return store.NewValue(val), nil, nil
	}
	ask := func() ([]byte, error) {
		if o.KeyPassFile != "" {
			return readPassphraseFile(o.KeyPassFile)
		}
		t, err := s.env.Terminal()
		if err != nil {
			return nil, withHint(fmt.Errorf("secret %s: the key is encrypted and there is no terminal to ask for its passphrase", o.Name),
				"pass --key-passphrase-file PATH")
		}
		defer t.Close()
		return t.ReadPassword(fmt.Sprintf("Passphrase of the key %s: ", o.Name))
	}
	canon, info, err := store.ParseKey(val, ask)
	if err != nil {
		return store.Value{}, nil, fmt.Errorf("secret %s: %w", o.Name, err)
	}
	return store.NewValue(canon), info, nil
}

// warnShort says when a value is too short for masking to mean anything.
func warnShort(env *Env, name string, v store.Value) {
	if v.Len() > 0 && v.Len() < mask.MinMaskLen {
		fmt.Fprintf(env.Stderr, "wsx: warning: %s is shorter than %d bytes: its value will not be masked in output\n", name, mask.MinMaskLen)
	}
}

func addHint(name string, err error) error {
	switch {
	case errors.Is(err, store.ErrExists):
		return withHint(err, "names are compared without case; pick another name or `wsx set` the existing one")
	case errors.Is(err, store.ErrDangerousName):
		return withHint(err, "pick a name of your own such as %s_VALUE; if you mean it, add --allow-dangerous-name", name)
	}
	return err
}

// notFoundHint adds the closest names to a not-found error.
func notFoundHint(st secretStore, name string, err error) error {
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
	return didYouMean(err, name, names)
}

// didYouMean adds to err a hint naming the names closest to name, if any.
func didYouMean(err error, name string, names []string) error {
	if close := closeNames(name, names); len(close) > 0 {
		return withHint(err, "did you mean %s?", strings.Join(close, ", "))
	}
	return err
}

// closeNames returns the names within a small edit distance of name, or
// equal to it but for case, closest first.
func closeNames(name string, names []string) []string {
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

// secretJSON is the --json form of a secret's metadata. Fields are only
// ever added.
type secretJSON struct {
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

func toJSON(m store.Meta, now time.Time) secretJSON {
	j := secretJSON{
		Name: m.Name, Type: m.Type, Description: m.Description, Hosts: m.Hosts,
		Username: m.Username, Created: m.Created, Updated: m.Updated,
		RotateEvery: formatPeriod(m.RotateEvery), Version: m.Version, SSH: m.SSH,
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

// runList prints the secrets. Secrets that cannot be read do not hide the
// others: they are listed as DAMAGED and the command fails at the end.
func (s *session) runList(asJSON bool) error {
	metas, err := s.listSecrets()
	if err != nil && metas == nil {
		return err
	}
	var damaged []string
	if de, ok := errors.AsType[*store.DamagedError](err); ok {
		damaged = de.Names
	}
	now := s.env.Now()
	if asJSON {
		out := make([]secretJSON, 0, len(metas))
		for _, m := range metas {
			out = append(out, toJSON(m, now))
		}
		if werr := writeJSON(s.env.Stdout, out); werr != nil {
			return werr
		}
		return err
	}
	if len(metas) == 0 && len(damaged) == 0 {
		fmt.Fprintln(s.env.Stderr, "wsx: no secrets yet; add one with `wsx add NAME`")
		return err
	}
	tw := tabwriter.NewWriter(s.env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tTYPE\tAGE\tROTATION\tHOSTS\tDESCRIPTION")
	rows := make([]string, 0, len(metas)+len(damaged))
	for _, m := range metas {
		hosts := strings.Join(m.Hosts, ",")
		if hosts == "" {
			hosts = "-"
		}
		rows = append(rows, fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s\n", m.Name, m.Type, formatAge(now.Sub(m.LastSet())),
			rotationState(m, now), hosts, oneLine(m.Description)))
	}
	for _, n := range damaged {
		rows = append(rows, n+"\tDAMAGED\t-\t-\t-\tcannot be read; see the error below\n")
	}
	slices.Sort(rows)
	for _, r := range rows {
		fmt.Fprint(tw, r)
	}
	if ferr := tw.Flush(); ferr != nil {
		return ferr
	}
	return err
}

func (s *session) runInfo(name string, asJSON bool) error {
	st, err := s.unlocked()
	if err != nil {
		return err
	}
	m, size, err := st.Stat(name)
	if err != nil {
		return notFoundHint(st, name, err)
	}
	now := s.env.Now()
	if asJSON {
		return writeJSON(s.env.Stdout, toJSON(m, now))
	}
	tw := tabwriter.NewWriter(s.env.Stdout, 0, 4, 1, ' ', 0)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s:\t%s\n", k, v)
		}
	}
	row("Name", m.Name)
	row("Type", string(m.Type))
	row("Description", oneLine(m.Description))
	row("Hosts", strings.Join(m.Hosts, ", "))
	row("Username", m.Username)
	row("Size", fmt.Sprintf("%d bytes", size))
	row("Created", m.Created.Local().Format(time.DateTime))
	row("Updated", m.Updated.Local().Format(time.DateTime))
	if !m.Rotated.IsZero() {
		row("Rotated", m.Rotated.Local().Format(time.DateTime))
	}
	row("Rotate every", formatPeriod(m.RotateEvery))
	row("Rotation", describeRotation(m, now))
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

// oneLine keeps a description on one table row, escaping what a terminal
// would interpret.
func oneLine(s string) string {
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

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
