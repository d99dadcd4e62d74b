package ui

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/wsxdev/wsx/audit"
	"github.com/wsxdev/wsx/manifest"
	"github.com/wsxdev/wsx/store"
)

// assets are the page's templates, style sheet and script: everything it
// loads comes from here.
//
//go:embed assets
var assets embed.FS

// pages holds one template set per page, each the layout with the page's
// content.
type pages struct {
	t map[string]*template.Template
}

var funcs = template.FuncMap{
	"join": strings.Join,
	"time": func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.Local().Format("2006-01-02 15:04")
	},
}

func newPages() (*pages, error) {
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(assets, "assets/templates/layout.html")
	if err != nil {
		return nil, err
	}
	names, err := fs.Glob(assets, "assets/templates/page_*.html")
	if err != nil {
		return nil, err
	}
	p := &pages{t: map[string]*template.Template{}}
	for _, n := range names {
		t, err := template.Must(base.Clone()).ParseFS(assets, n)
		if err != nil {
			return nil, err
		}
		key := strings.TrimSuffix(strings.TrimPrefix(path.Base(n), "page_"), ".html")
		p.t[key] = t
	}
	return p, nil
}

// view is what every page's template gets.
type view struct {
	Title   string
	Nav     string // the current page's menu entry
	CSRF    string
	Sharing bool
	Locked  bool
	Flash   string
	Warning string
	Error   string
	Data    any
}

// render writes page with v, or an error page when it fails.
func (s *Server) render(w http.ResponseWriter, code int, page string, v view) {
	t, ok := s.pages.t[page]
	if !ok {
		http.Error(w, "no page "+page, http.StatusInternalServerError)
		return
	}
	v.CSRF = s.csrf
	v.Locked = s.opts.Backend.Locked()
	_, sharing := s.opts.Backend.(Sharing)
	v.Sharing = !v.Locked && sharing
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, "layout.html", v); err != nil {
		s.logf("render %s: %v", page, err)
		http.Error(w, "the page could not be drawn", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	w.Write(b.Bytes())
}

func (s *Server) routes(mux *http.ServeMux) {
	locked := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if s.opts.Backend.Locked() {
				if r.Method != http.MethodGet {
					s.render(w, http.StatusLocked, "unlock", view{Title: "Unlock", Error: "the store was locked; unlock it, then try again"})
					return
				}
				http.Redirect(w, r, "/unlock", http.StatusSeeOther)
				return
			}
			h(w, r)
		}
	}
	mux.HandleFunc("GET /{$}", locked(s.secrets))
	mux.HandleFunc("GET /add", locked(s.addForm))
	mux.HandleFunc("POST /add", locked(s.add))
	mux.HandleFunc("GET /advice", locked(s.advice))
	mux.HandleFunc("GET /secrets/{name}/rotate", locked(s.rotateForm))
	mux.HandleFunc("POST /secrets/{name}/rotate", locked(s.rotate))
	mux.HandleFunc("POST /secrets/{name}/undo", locked(s.rotationStep))
	mux.HandleFunc("POST /secrets/{name}/finish", locked(s.rotationStep))
	mux.HandleFunc("GET /secrets/{name}/delete", locked(s.deleteForm))
	mux.HandleFunc("POST /secrets/{name}/delete", locked(s.delete))
	mux.HandleFunc("GET /audit", locked(s.audit))
	mux.HandleFunc("GET /templates", locked(s.templates))
	mux.HandleFunc("GET /sharing", locked(s.sharingPage))
	mux.HandleFunc("POST /sharing", locked(s.share))
	mux.HandleFunc("POST /sharing/revoke", locked(s.unshare))
	mux.HandleFunc("GET /status", s.status)
	mux.HandleFunc("GET /unlock", s.unlockForm)
	mux.HandleFunc("POST /unlock", s.unlock)
}

// secretRow is a secret as the list shows it: metadata only.
type secretRow struct {
	Name, Type, Description, Hosts, Age, Rotation string
	Overdue                                       bool
	Version, Previous                             uint64
	Agent                                         bool
}

func (s *Server) row(m store.Meta) secretRow {
	now := s.opts.Now()
	r := secretRow{Name: m.Name, Type: string(m.Type), Description: m.Description, Hosts: strings.Join(m.Hosts, ", "),
		Age: age(now.Sub(m.LastSet())), Rotation: "-", Version: m.Version, Agent: m.ServedByAgent()}
	if due, ok := m.RotationDue(); ok {
		switch {
		case now.After(due) && now.Sub(due) >= time.Minute:
			r.Overdue = true
			r.Rotation = "OVERDUE by " + age(now.Sub(due))
		case now.After(due):
			r.Overdue = true
			r.Rotation = "OVERDUE"
		case due.Sub(now) < time.Minute:
			r.Rotation = "due now"
		default:
			r.Rotation = "due in " + age(due.Sub(now))
		}
	}
	if m.Previous != nil {
		r.Previous = m.Previous.Version
	}
	return r
}

// age is a duration the way people say it: 5 minutes, 3 hours, 12 days.
func age(d time.Duration) string {
	unit := func(n int, u string) string {
		if n == 1 {
			return "1 " + u
		}
		return fmt.Sprintf("%d %ss", n, u)
	}
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return unit(int(d/time.Minute), "minute")
	case d < store.Day:
		return unit(int(d/time.Hour), "hour")
	}
	return unit(int(d/store.Day), "day")
}

// done messages, after a change, by the redirect's done parameter.
var doneText = map[string]string{
	"added":    "Added %s.",
	"rotated":  "Rotated %s: the old value is kept until you finish the rotation (or undo it).",
	"undone":   "Undid the rotation of %s: its old value is back.",
	"finished": "Finished the rotation of %s: the old value is deleted.",
	"deleted":  "Deleted %s.",
	"unlocked": "Unlocked the store.%s",
}

// redirectDone sends the browser to page with a message about name.
func redirectDone(w http.ResponseWriter, r *http.Request, page, done, name string) {
	q := url.Values{"done": {done}, "name": {name}}
	http.Redirect(w, r, page+"?"+q.Encode(), http.StatusSeeOther)
}

func flash(r *http.Request) string {
	f, ok := doneText[r.URL.Query().Get("done")]
	if !ok {
		return ""
	}
	name := r.URL.Query().Get("name")
	if store.ValidateName(name) != nil {
		name = ""
	}
	return fmt.Sprintf(f, name)
}

func (s *Server) secrets(w http.ResponseWriter, r *http.Request) {
	metas, err := s.opts.Backend.List()
	v := view{Title: "Secrets", Nav: "secrets", Flash: flash(r)}
	if err != nil {
		v.Error = err.Error()
	}
	rows := make([]secretRow, 0, len(metas))
	for _, m := range metas {
		rows = append(rows, s.row(m))
	}
	slices.SortFunc(rows, func(a, b secretRow) int { return strings.Compare(a.Name, b.Name) })
	v.Data = rows
	if r.URL.Query().Get("done") == "added" {
		v.Warning = store.NameAdvice(r.URL.Query().Get("name"))
	}
	s.render(w, http.StatusOK, "secrets", v)
}

// addData is the add form, as shown again after an error: never the value.
type addData struct {
	Name, Type, Description, Hosts, Username, RotateEvery string
	AllowDanger                                           bool
	Types                                                 []store.Type
	From                                                  string // "templates": go back there
	Fixed                                                 bool   // name and type come from wsx.toml
}

func (s *Server) addForm(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := addData{Name: q.Get("name"), Type: q.Get("type"), Types: store.Types}
	s.render(w, http.StatusOK, "add", view{Title: "Add a secret", Nav: "add", Data: d})
}

// splitHosts reads the hosts field: separated by commas, spaces or lines.
func splitHosts(s string) []string {
	f := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' })
	if len(f) == 0 {
		return nil
	}
	return f
}

// formValue is the value the form sent: the file, else the password
// field. A token or password loses one final line break, as a piped value
// does on the command line.
func formValue(r *http.Request, typ store.Type) []byte {
	v := formFile(r)
	if v == nil {
		v = []byte(r.PostFormValue("value"))
	}
	if typ == store.TypeToken || typ == store.TypePassword {
		v = bytes.TrimSuffix(v, []byte("\n"))
		v = bytes.TrimSuffix(v, []byte("\r"))
	}
	return v
}

// keyPassphrase is the passphrase of an encrypted key, from the form.
func keyPassphrase(r *http.Request, name string) func() ([]byte, error) {
	return func() ([]byte, error) {
		p := r.PostFormValue("key_passphrase")
		if p == "" {
			return nil, fmt.Errorf("secret %s: the key is encrypted: give its passphrase in the form", name)
		}
		return []byte(p), nil
	}
}

func (s *Server) add(w http.ResponseWriter, r *http.Request) {
	f := r.PostForm
	d := addData{Name: strings.TrimSpace(f.Get("name")), Type: f.Get("type"), Description: f.Get("description"),
		Hosts: f.Get("hosts"), Username: f.Get("username"), RotateEvery: strings.TrimSpace(f.Get("rotate_every")),
		AllowDanger: f.Get("allow_dangerous") == "on", Types: store.Types, From: f.Get("from")}
	fail := func(code int, err error) {
		if d.From == "templates" {
			s.renderTemplates(w, code, err.Error())
			return
		}
		s.render(w, code, "add", view{Title: "Add a secret", Nav: "add", Error: err.Error(), Data: d})
	}
	if err := store.ValidateName(d.Name); err != nil {
		fail(http.StatusBadRequest, err)
		return
	}
	typ := store.TypeToken
	if d.Type != "" {
		t, err := store.ParseType(d.Type)
		if err != nil {
			fail(http.StatusBadRequest, err)
			return
		}
		typ = t
	}
	rotate := store.DefaultRotation(typ)
	if d.RotateEvery != "" {
		p, err := parsePeriod(d.RotateEvery)
		if err != nil {
			fail(http.StatusBadRequest, err)
			return
		}
		rotate = p
	}
	val := formValue(r, typ)
	defer clear(val)
	if len(val) == 0 {
		fail(http.StatusBadRequest, fmt.Errorf("secret %s: no value given: type it in the value field or choose a file", d.Name))
		return
	}
	sec := store.Secret{Meta: store.Meta{Name: d.Name, Type: typ, Description: d.Description, Hosts: splitHosts(d.Hosts),
		Username: strings.TrimSpace(d.Username), RotateEvery: rotate}, Value: store.NewValue(val)}
	m, err := s.opts.Backend.Add(sec, store.AddOptions{AllowDangerousName: d.AllowDanger, KeyPassphrase: keyPassphrase(r, d.Name)})
	if err != nil {
		if errors.Is(err, store.ErrDangerousName) {
			err = fmt.Errorf("%w; pick a name of your own such as %s_VALUE, or tick \"allow a dangerous name\" if you mean it", err, d.Name)
		}
		fail(http.StatusBadRequest, err)
		return
	}
	if err := s.record(audit.Record{Event: audit.EventCreated, Secret: m.Name, Result: audit.ResultOK}); err != nil {
		fail(http.StatusInternalServerError, err)
		return
	}
	back := "/"
	if d.From == "templates" {
		back = "/templates"
	}
	redirectDone(w, r, back, "added", m.Name)
}

// parsePeriod reads a rotation period as --rotate-every does.
func parsePeriod(s string) (time.Duration, error) {
	if s == "never" || s == "0" {
		return 0, nil
	}
	d, err := store.ParseDays(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("rotate every %q: use a period such as 90d, 12w or 720h, or never", s)
	}
	return d, nil
}

// record appends r as the page's, via ui; an error says that the change
// was made but not recorded.
func (s *Server) record(r audit.Record) error {
	r.Via = audit.ViaUI
	if err := s.opts.Backend.Record(r); err != nil {
		return fmt.Errorf("the change to %s was made, but its audit record could not be written: %w", r.Secret, err)
	}
	return nil
}

// adviceAnswer is what the add form shows under the name as it is typed.
type adviceAnswer struct {
	Problem string `json:"problem,omitempty"`
	Advice  string `json:"advice,omitempty"`
}

// advice checks a name as the command line does: the rules, dangerous
// names, names taken (without case), and naming advice.
func (s *Server) advice(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("name")
	var a adviceAnswer
	switch err := store.ValidateName(name); {
	case name == "":
	case err != nil:
		a.Problem = err.Error()
	default:
		if err := store.CheckDangerousName(name); err != nil {
			a.Problem = err.Error()
		}
		if metas, err := s.opts.Backend.List(); err == nil {
			for _, m := range metas {
				if strings.EqualFold(m.Name, name) {
					a.Problem = fmt.Sprintf("a secret named %s exists already", m.Name)
				}
			}
		}
		a.Advice = store.NameAdvice(name)
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(a)
}

// find returns the metadata of the secret in the request's path.
func (s *Server) find(r *http.Request) (store.Meta, error) {
	name := r.PathValue("name")
	if err := store.ValidateName(name); err != nil {
		return store.Meta{}, err
	}
	metas, err := s.opts.Backend.List()
	if err != nil && metas == nil {
		return store.Meta{}, err
	}
	for _, m := range metas {
		if m.Name == name {
			return m, nil
		}
	}
	return store.Meta{}, fmt.Errorf("secret %s: %w", name, store.ErrNotFound)
}

func (s *Server) notFound(w http.ResponseWriter, err error) {
	code := http.StatusBadRequest
	if errors.Is(err, store.ErrNotFound) {
		code = http.StatusNotFound
	}
	s.render(w, code, "secrets", view{Title: "Secrets", Nav: "secrets", Error: err.Error(), Data: []secretRow{}})
}

func (s *Server) rotateForm(w http.ResponseWriter, r *http.Request) {
	m, err := s.find(r)
	if err != nil {
		s.notFound(w, err)
		return
	}
	s.render(w, http.StatusOK, "rotate", view{Title: "Rotate " + m.Name, Nav: "secrets", Data: s.row(m)})
}

func (s *Server) rotate(w http.ResponseWriter, r *http.Request) {
	m, err := s.find(r)
	if err != nil {
		s.notFound(w, err)
		return
	}
	fail := func(code int, err error) {
		s.render(w, code, "rotate", view{Title: "Rotate " + m.Name, Nav: "secrets", Error: err.Error(), Data: s.row(m)})
	}
	if m.Previous != nil {
		fail(http.StatusConflict, fmt.Errorf("secret %s: %w: finish the last rotation (or undo it) first", m.Name, store.ErrRotationPending))
		return
	}
	val := formValue(r, m.Type)
	defer clear(val)
	if len(val) == 0 {
		fail(http.StatusBadRequest, fmt.Errorf("secret %s: no new value given", m.Name))
		return
	}
	if m.Type == store.TypeKey {
		canon, _, err := store.ParseKey(val, keyPassphrase(r, m.Name))
		if err != nil {
			fail(http.StatusBadRequest, fmt.Errorf("secret %s: %w", m.Name, err))
			return
		}
		clear(val)
		val = canon
	}
	if _, err := s.opts.Backend.Edit(m.Name, store.Edit{Value: store.NewValue(val), Rotate: true}); err != nil {
		fail(http.StatusBadRequest, err)
		return
	}
	if err := s.record(audit.Record{Event: audit.EventRotated, Secret: m.Name, Result: audit.ResultOK,
		Detail: fmt.Sprintf("previous value (version %d) kept", m.Version)}); err != nil {
		fail(http.StatusInternalServerError, err)
		return
	}
	redirectDone(w, r, "/", "rotated", m.Name)
}

// rotationStep undoes or finishes a rotation, recorded as `wsx rotate
// NAME --undo` and `--finish` are.
func (s *Server) rotationStep(w http.ResponseWriter, r *http.Request) {
	m, err := s.find(r)
	if err != nil {
		s.notFound(w, err)
		return
	}
	undo := strings.HasSuffix(r.URL.Path, "/undo")
	if m.Previous == nil {
		s.notFound(w, fmt.Errorf("secret %s: %w: there is no rotation to undo or finish", m.Name, store.ErrNoPrevious))
		return
	}
	prev := m.Previous.Version
	rec := audit.Record{Secret: m.Name, Result: audit.ResultOK}
	done := "finished"
	e := store.Edit{Finish: true}
	if undo {
		e = store.Edit{Undo: true}
		done = "undone"
		rec.Event, rec.Detail = audit.EventUpdated, fmt.Sprintf("rotation undone: value of version %d restored", prev)
		rec.Context = &audit.Context{Command: "wsx rotate " + m.Name + " --undo"}
	} else {
		rec.Event, rec.Detail = audit.EventDeleted, "previous value"
		rec.Context = &audit.Context{Command: "wsx rotate " + m.Name + " --finish"}
	}
	if _, err := s.opts.Backend.Edit(m.Name, e); err != nil {
		s.notFound(w, err)
		return
	}
	if err := s.record(rec); err != nil {
		s.notFound(w, err)
		return
	}
	redirectDone(w, r, "/", done, m.Name)
}

func (s *Server) deleteForm(w http.ResponseWriter, r *http.Request) {
	m, err := s.find(r)
	if err != nil {
		s.notFound(w, err)
		return
	}
	s.render(w, http.StatusOK, "delete", view{Title: "Delete " + m.Name, Nav: "secrets", Data: s.row(m)})
}

func (s *Server) delete(w http.ResponseWriter, r *http.Request) {
	m, err := s.find(r)
	if err != nil {
		s.notFound(w, err)
		return
	}
	if r.PostFormValue("confirm") != m.Name {
		s.render(w, http.StatusBadRequest, "delete", view{Title: "Delete " + m.Name, Nav: "secrets",
			Error: "type the secret's name to confirm", Data: s.row(m)})
		return
	}
	if err := s.opts.Backend.Remove(m.Name); err != nil {
		s.notFound(w, err)
		return
	}
	if err := s.record(audit.Record{Event: audit.EventDeleted, Secret: m.Name, Result: audit.ResultOK}); err != nil {
		s.notFound(w, err)
		return
	}
	redirectDone(w, r, "/", "deleted", m.Name)
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	facts := append(s.opts.Backend.Status(),
		Fact{"Page", "http://" + s.host + "/"},
		Fact{"Page stops", "when `wsx ui` exits, or after " + s.opts.IdleTimeout.String() + " without a request"})
	s.render(w, http.StatusOK, "status", view{Title: "Status", Nav: "status", Data: facts, Flash: flash(r)})
}

func (s *Server) unlockForm(w http.ResponseWriter, r *http.Request) {
	if !s.opts.Backend.Locked() {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	s.render(w, http.StatusOK, "unlock", view{Title: "Unlock", Nav: "unlock"})
}

// unlock unlocks with the passphrase from the form: the agent's unlock,
// whose backoff slows every wrong guess, and notes it for the audit log.
func (s *Server) unlock(w http.ResponseWriter, r *http.Request) {
	p := []byte(r.PostFormValue("passphrase"))
	defer clear(p)
	if len(p) == 0 {
		s.render(w, http.StatusBadRequest, "unlock", view{Title: "Unlock", Nav: "unlock", Error: "type the store's passphrase"})
		return
	}
	err := s.opts.Backend.Unlock(p)
	switch {
	case errors.Is(err, store.ErrWrongPassphrase):
		s.render(w, http.StatusUnauthorized, "unlock", view{Title: "Unlock", Nav: "unlock",
			Error: "wrong passphrase; each wrong try in a row waits longer before its answer"})
		return
	case err != nil:
		s.render(w, http.StatusInternalServerError, "unlock", view{Title: "Unlock", Nav: "unlock", Error: err.Error()})
		return
	}
	redirectDone(w, r, "/", "unlocked", "")
}

// templateRow is a secret wsx.toml declares, and whether the store has it.
type templateRow struct {
	manifest.Secret
	Present bool
	Hosts   string
}

type templatesData struct {
	Path    string
	Dir     string
	Rows    []templateRow
	Missing int
	Types   []store.Type
}

func (s *Server) templates(w http.ResponseWriter, r *http.Request) {
	s.renderTemplates(w, http.StatusOK, "")
}

// renderTemplates shows the project's wsx.toml: each secret it declares,
// present or not, with a form in place for each missing one.
func (s *Server) renderTemplates(w http.ResponseWriter, code int, problem string) {
	v := view{Title: "Templates", Nav: "templates", Error: problem}
	d := templatesData{Dir: s.opts.Dir, Types: store.Types}
	v.Data = &d
	if s.opts.Dir == "" {
		v.Warning = "`wsx ui` did not say which directory it runs in"
		s.render(w, code, "templates", v)
		return
	}
	p, found, err := manifest.Find(s.opts.Dir)
	if err != nil || !found {
		if err != nil {
			v.Error = joinErr(v.Error, err.Error())
		}
		s.render(w, code, "templates", v)
		return
	}
	d.Path = p
	m, err := manifest.Load(p)
	if err != nil {
		v.Error = joinErr(v.Error, err.Error())
		s.render(w, code, "templates", v)
		return
	}
	metas, err := s.opts.Backend.List()
	if err != nil {
		v.Error = joinErr(v.Error, err.Error())
	}
	have := map[string]bool{}
	for _, mt := range metas {
		have[mt.Name] = true
	}
	for _, sec := range m.Secrets {
		row := templateRow{Secret: sec, Present: have[sec.Name], Hosts: strings.Join(sec.Hosts, ", ")}
		if !row.Present {
			d.Missing++
		}
		d.Rows = append(d.Rows, row)
	}
	s.render(w, code, "templates", v)
}

func joinErr(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}
