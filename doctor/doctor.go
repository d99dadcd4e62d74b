// Package doctor is `wsx doctor`: it checks the store, how it unlocks,
// the agent, git's and ssh's setup, file modes, names and rotations, and
// explains why a secret is not found. It never prompts.
package doctor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/wsxdev/wsx/credhelper"
	"github.com/wsxdev/wsx/daemon"
	"github.com/wsxdev/wsx/fetch"
	"github.com/wsxdev/wsx/internal/access"
	"github.com/wsxdev/wsx/internal/hint"
	"github.com/wsxdev/wsx/internal/prompt"
	"github.com/wsxdev/wsx/provider/external"
	"github.com/wsxdev/wsx/secrets"
	"github.com/wsxdev/wsx/store"
)

// ErrProblems is what a check that found something to fix returns, once
// it has said what.
var ErrProblems = errors.New("problems found")

// Doctor is the setup it checks, as cmd finds it.
type Doctor struct {
	Home           string // the store's home
	Dir            string // the working directory, whose wsx.toml may source secrets
	RunDir         string // the agent's run directory
	UID            int
	PassphraseFile string // "" when none is given
	Getenv         func(string) string
	Now            func() time.Time
	Stdout         io.Writer
	// Open opens the store, locked.
	Open func() (*store.Store, error)
	// Agent returns the agent's store when an agent serves this store
	// unlocked; AgentLocked the pid of one that answered locked, or 0.
	Agent       func() (secrets.Store, bool)
	AgentLocked func() int
	// Unlocked returns the store unlocked as commands unlock it, never
	// asking on a terminal.
	Unlocked func() (secrets.Store, error)
	// Hint is the fix cmd prints under an error.
	Hint func(error) string
	// GitHelpers lists git's credential.helper values, in order.
	GitHelpers func(context.Context) ([]string, error)
	// Guest is the other user's agent this command is a guest of
	// (WSX_AGENT), or GuestErr why WSX_AGENT cannot be used; DialGuest
	// dials it. Both nil when the command is not a guest.
	// Grants lists the workspace's grants (`wsx share`) when the store
	// is unlocked here or an agent serves it unlocked.
	Grants func() (access.Grants, error)

	Guest     *daemon.GuestAgent
	GuestErr  error
	DialGuest func(*daemon.GuestAgent) (*daemon.Client, daemon.Status, error)

	st        *store.Store
	sharedDir string // the running agent's --shared-dir
}

// open opens the store once.
func (d *Doctor) open() error {
	if d.st != nil {
		return nil
	}
	st, err := d.Open()
	if err != nil {
		return err
	}
	d.st = st
	return nil
}

// Levels of a doctor finding. Warnings and failures are problems (exit 1).
const (
	levelOK   = "ok"
	levelNote = "note"
	levelWarn = "WARN"
	levelFail = "FAIL"
)

// report collects doctor findings and prints them as they come, or all
// at the end as JSON.
type report struct {
	w        io.Writer
	json     bool
	findings []finding
	problems int
}

// finding is one line of doctor's report; the --json form. Fields are
// only ever added.
type finding struct {
	Level   string `json:"level"`
	Topic   string `json:"topic"`
	Message string `json:"message"`
	Fix     string `json:"fix,omitempty"`
}

func (r *report) add(level, topic, format string, args ...any) {
	if level == levelWarn || level == levelFail {
		r.problems++
	}
	f := finding{Level: level, Topic: topic, Message: fmt.Sprintf(format, args...)}
	r.findings = append(r.findings, f)
	if !r.json {
		fmt.Fprintf(r.w, "%-4s  %s: %s\n", level, topic, f.Message)
	}
}

// fix prints how to fix the finding above it.
func (r *report) fix(format string, args ...any) {
	f := fmt.Sprintf(format, args...)
	if n := len(r.findings); n > 0 {
		r.findings[n-1].Fix = f
	}
	if !r.json {
		fmt.Fprintf(r.w, "      fix: %s\n", f)
	}
}

// reportJSON is the --json form of doctor's report.
type reportJSON struct {
	Home     string    `json:"home"`
	Problems int       `json:"problems"`
	Findings []finding `json:"findings"`
}

// Run is `wsx doctor`: it checks the setup, printing each finding as it
// comes (or all as JSON), and fails with ErrProblems when one needs fixing.
func (d *Doctor) Run(ctx context.Context, asJSON bool) error {
	r := &report{w: d.Stdout, json: asJSON}
	if d.Guest != nil || d.GuestErr != nil {
		d.checkGuest(ctx, r)
		return d.finish(r, asJSON)
	}
	st, names := d.checkStore(r)
	var metas []store.Meta
	if st != nil {
		d.checkFiles(r)
		metas = d.checkUnlock(r)
	}
	agentSock := d.checkDaemon(r)
	d.checkGit(ctx, r, metas)
	d.checkSSH(r, metas, agentSock)
	if st != nil {
		checkNames(r, names)
		d.checkRotation(r, metas)
	}
	d.checkDBus(r)
	d.checkProviders(r)
	d.checkSharing(r)
	r.add(levelNote, "roles", "roles separate different unix users only (`wsx share USER view|edit|admin`); the same uid is not another user: every process of uid %d is the owner, so give someone less only by running their tools as another user", d.UID)
	return d.finish(r, asJSON)
}

// checkProviders says whether wsx-provider is there to fetch what the
// wsx.toml here sources from Vault, AWS, Azure or sops files.
func (d *Doctor) checkProviders(r *report) {
	if d.Dir == "" {
		return
	}
	m := fetch.Sourcing(d.Dir)
	if m == nil {
		return
	}
	schemes := fetch.InProvider(m)
	if len(schemes) == 0 {
		return
	}
	path, err := external.Find()
	if err != nil {
		r.add(levelFail, "providers", "%s sources secrets from %s, which wsx-provider fetches: %v", m.Path, strings.Join(schemes, ", "), err)
		r.fix("`make install` installs wsx-provider beside wsx")
		return
	}
	r.add(levelOK, "providers", "%s fetches the %s sources of %s", path, strings.Join(schemes, ", "), m.Path)
}

// finish prints the summary (or the JSON report) and returns ErrProblems
// when a finding needs fixing.
func (d *Doctor) finish(r *report, asJSON bool) error {
	if asJSON {
		if err := secrets.WriteJSON(d.Stdout, reportJSON{Home: d.Home, Problems: r.problems, Findings: r.findings}); err != nil {
			return err
		}
		if r.problems > 0 {
			return hint.Said{Err: ErrProblems}
		}
		return nil
	}
	if r.problems > 0 {
		fmt.Fprintf(d.Stdout, "\n%d problems found\n", r.problems)
		return hint.Said{Err: ErrProblems}
	}
	fmt.Fprintln(d.Stdout, "\nno problems found")
	return nil
}

// doctorStore opens the store and lists its names, which needs no unlock.
func (d *Doctor) checkStore(r *report) (*store.Store, []string) {
	if ws := d.Getenv("WSX_WORKSPACE"); ws != "" {
		r.add(levelNote, "workspace", "%s (WSX_WORKSPACE)", ws)
	}
	if err := d.open(); err != nil {
		switch {
		case errors.Is(err, store.ErrNotInitialized):
			r.add(levelFail, "store", "no store in %s", d.Home)
			r.fix("create one with `wsx init`, or point WSX_HOME at an existing one")
		default:
			r.add(levelFail, "store", "%v", err)
			if h := d.Hint(err); h != "" {
				r.fix("%s", h)
			}
		}
		return nil, nil
	}
	names, err := d.st.Names()
	if err != nil {
		r.add(levelFail, "store", "%s (%s backend): cannot list secrets: %v", d.Home, d.st.Backend(), err)
		return d.st, nil
	}
	r.add(levelOK, "store", "%s (%s backend, %d secrets)", d.Home, d.st.Backend(), len(names))
	return d.st, names
}

// doctorFiles checks that the store's files are private to the user.
func (d *Doctor) checkFiles(r *report) {
	type want struct {
		path string
		dir  bool
	}
	files := []want{{d.Home, true}, {filepath.Join(d.Home, "store.json"), false}, {filepath.Join(d.Home, "audit.log"), false},
		{filepath.Join(d.Home, secrets.RemindersFile), false}, {filepath.Join(d.Home, fetch.StateFile), false}}
	items := filepath.Join(d.Home, "items")
	if d.st.Backend() == "file" {
		files = append(files, want{items, true})
		if ents, err := os.ReadDir(items); err == nil {
			for _, e := range ents {
				files = append(files, want{filepath.Join(items, e.Name()), false})
			}
		}
	}
	var bad []string
	for _, f := range files {
		fi, err := os.Lstat(f.path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			bad = append(bad, fmt.Sprintf("%s: %v", f.path, err))
			continue
		}
		st, _ := fi.Sys().(*syscall.Stat_t)
		mode := "600"
		if f.dir {
			mode = "700"
		}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			bad = append(bad, fmt.Sprintf("%s is a symbolic link (move the real directory or file here)", f.path))
		case st != nil && int(st.Uid) != d.UID:
			bad = append(bad, fmt.Sprintf("%s belongs to uid %d, not you (uid %d)", f.path, st.Uid, d.UID))
		case fi.Mode().Perm()&0o077 != 0:
			bad = append(bad, fmt.Sprintf("%s has mode %04o; `chmod %s %s`", f.path, fi.Mode().Perm(), mode, f.path))
		}
	}
	if len(bad) == 0 {
		r.add(levelOK, "files", "the store's files are private to you")
		return
	}
	for _, b := range bad {
		r.add(levelFail, "files", "%s", b)
	}
}

// doctorUnlock reports whether the store unlocks without a prompt, and
// returns the secrets' metadata when it does. It never prompts: it sees the
// store as programs started without a terminal do.
func (d *Doctor) checkUnlock(r *report) []store.Meta {
	pf := d.PassphraseFile
	switch {
	case !d.st.NeedsPassphrase():
		r.add(levelOK, "unlock", "the %s backend holds the data key; no passphrase is needed", d.st.Backend())
	case pf != "":
		if mode, bad := prompt.Exposed(pf); bad {
			r.add(levelFail, "unlock", "the passphrase file %s has mode %04o: other users may read it, so wsx refuses it", pf, mode)
			r.fix("chmod 600 %s", pf)
			return nil
		}
	default:
		if c, ok := d.Agent(); ok {
			r.add(levelOK, "unlock", "no passphrase file; the wsx agent serves the store unlocked, so commands need none")
			metas, err := c.List()
			if err != nil {
				r.add(levelFail, "secrets", "%v", err)
			}
			return metas
		}
		if d.AgentLocked() != 0 {
			r.add(levelNote, "unlock", "no passphrase file and the wsx agent (pid %d) is locked: commands ask on the terminal, programs without one find the store locked; rotation dates and hosts not checked", d.AgentLocked())
			r.fix("`wsx unlock` unlocks the agent for every command")
			return nil
		}
		r.add(levelNote, "unlock", "no passphrase file: commands ask on the terminal, and programs without one (git in the background, scripts) find the store locked; rotation dates and hosts not checked")
		r.fix("start `wsx agent` to unlock once, or set WSX_PASSPHRASE_FILE to a file only you can read; `wsx status` shows the rotation dates")
		return nil
	}
	st, err := d.Unlocked()
	switch {
	case errors.Is(err, store.ErrWrongPassphrase):
		r.add(levelFail, "unlock", "wrong passphrase (from %s)", orTerminal(pf))
		return nil
	case err != nil:
		r.add(levelNote, "unlock", "locked here (%v): rotation dates and hosts not checked", err)
		return nil
	}
	if pf != "" {
		r.add(levelOK, "unlock", "the passphrase file %s opens the store", pf)
	}
	metas, err := st.List()
	if err != nil {
		r.add(levelFail, "secrets", "%v", err)
	}
	return metas
}

func orTerminal(pf string) string {
	if pf == "" {
		return "the terminal"
	}
	return pf
}

// checkSharing lists who the workspace is shared with, and says when
// guests cannot reach the agent.
func (d *Doctor) checkSharing(r *report) {
	if d.Grants == nil {
		return
	}
	gs, err := d.Grants()
	if err != nil || len(gs) == 0 {
		return // locked: not known without the passphrase; or shared with nobody
	}
	var who []string
	for _, g := range gs {
		who = append(who, fmt.Sprintf("%s (%s)", g.Subject(), g.Role))
	}
	r.add(levelNote, "sharing", "shared with %s", strings.Join(who, ", "))
	if d.sharedDir == "" {
		r.add(levelNote, "sharing", "no agent serves a shared directory, so guests cannot reach the workspace")
		r.fix("`wsx agent --shared-dir DIR` (a directory of yours, mode 0750, whose group holds your guests)")
	}
}

// doctorDaemon reports whether a wsx agent serves this store, and returns
// its SSH agent socket when one does.
func (d *Doctor) checkDaemon(r *report) (agentSock string) {
	sock := filepath.Join(d.RunDir, daemon.APISocketName)
	if _, err := os.Lstat(sock); err != nil {
		r.add(levelNote, "daemon", "not running: each command opens the store itself")
		r.fix("`eval $(wsx agent -s)` unlocks once and serves git, ssh and exec")
		return ""
	}
	conn, err := net.DialTimeout("unix", sock, dialTimeout)
	if err != nil {
		r.add(levelWarn, "daemon", "%s exists but nothing answers on it (an agent that died)", sock)
		r.fix("start `wsx agent` again; it replaces the stale socket")
		return ""
	}
	conn.Close()
	c, st, err := daemon.Dial(sock, dialTimeout)
	if errors.Is(err, daemon.ErrUntrusted) {
		r.add(levelFail, "daemon", "%v", err)
		r.fix("%s", d.Hint(err))
		return ""
	}
	if err != nil {
		r.add(levelWarn, "daemon", "something answers on %s, but not as a wsx agent: %v", sock, err)
		return ""
	}
	c.Close()
	if filepath.Clean(st.Home) != filepath.Clean(d.Home) {
		r.add(levelWarn, "daemon", "the wsx agent (pid %d) on %s serves %s, not this store", st.PID, sock, st.Home)
		return ""
	}
	if st.Locked {
		r.add(levelNote, "daemon", "the wsx agent (pid %d) serves this store on %s, locked", st.PID, sock)
		r.fix("`wsx unlock`")
	} else {
		r.add(levelOK, "daemon", "the wsx agent (pid %d) serves this store on %s, unlocked", st.PID, sock)
	}
	if st.AgentLocked {
		r.add(levelNote, "ssh", "the SSH agent is locked (ssh-add -x)")
		r.fix("`ssh-add -X` or `wsx unlock`")
	}
	d.sharedDir = st.SharedDir
	if len(st.HiddenKeys) > 0 {
		r.add(levelWarn, "ssh", "store keys removed with ssh-add -d/-D are not served: %s", strings.Join(st.HiddenKeys, ", "))
		r.fix("`wsx agent reload` (or `wsx unlock`) serves them again")
	}
	return st.AgentSocket
}

// dialTimeout bounds each probe of the agent's socket.
const dialTimeout = 500 * time.Millisecond

// doctorGit reports whether git asks wsx for credentials, and whether it
// also gives them to git's plaintext store helper.
func (d *Doctor) checkGit(ctx context.Context, r *report, metas []store.Meta) {
	if _, err := exec.LookPath("git"); err != nil {
		r.add(levelNote, "git", "git is not installed")
		return
	}
	all, err := d.GitHelpers(ctx)
	if err != nil {
		r.add(levelWarn, "git", "cannot read credential.helper: %v", err)
		return
	}
	eff := credhelper.EffectiveHelpers(all)
	hostSecrets := slices.ContainsFunc(metas, func(m store.Meta) bool { return len(m.Hosts) > 0 && !credhelper.IsStored(m) })
	switch i := slices.IndexFunc(eff, credhelper.IsWSX); {
	case i < 0 && hostSecrets:
		r.add(levelWarn, "git", "git does not ask wsx for credentials, and secrets here have hosts for it")
		r.fix("`wsx git setup`")
	case i < 0:
		r.add(levelNote, "git", "git does not ask wsx for credentials")
		r.fix("`wsx git setup` when you want it to")
	case i > 0:
		r.add(levelWarn, "git", "git asks %s before wsx", strings.Join(eff[:i], ", "))
		r.fix("`wsx git setup`, and see `git config --show-origin --get-all credential.helper`")
	default:
		if prog := credhelper.HelperProgram(eff[0]); !canRun(prog) {
			r.add(levelWarn, "git", "credential.helper %q runs %s, which git cannot find", eff[0], prog)
			r.fix("`wsx git setup` (it writes the path of the wsx that runs it)")
		} else if !strings.HasPrefix(eff[0], "!") && !filepath.IsAbs(eff[0]) {
			r.add(levelOK, "git", "git asks wsx first for credentials, through a second git (`git %s`)", strings.TrimPrefix(prog, "git-"))
			r.fix("`wsx git setup` makes git start wsx directly")
		} else if filepath.Base(prog) == "wsx" && credhelper.HelperProgram(credhelper.HelperFor(prog)) != prog {
			r.add(levelOK, "git", "git asks wsx first for credentials, starting the whole wsx each time")
			r.fix("`wsx git setup` makes git start git-credential-wsx, the small helper beside it")
		} else {
			r.add(levelOK, "git", "git asks wsx first for credentials")
		}
	}
	for _, h := range eff {
		if credhelper.IsPlaintextStore(h) {
			r.add(levelWarn, "git", "credential.helper %q is configured too: git gives it every password that works, and it writes them to disk in clear", h)
			r.fix("git config --unset-all credential.helper '^store' (in its scope; see `git config --show-origin --get-all credential.helper`)")
		}
	}
}

// canRun reports whether prog, a path or a name looked up on PATH, is an
// executable file.
func canRun(prog string) bool {
	_, err := exec.LookPath(prog)
	return err == nil
}

// doctorSSH reports whether SSH_AUTH_SOCK points at wsx's agent: the one
// serving this store (agentSock), or the agent socket of wsx's run dir.
func (d *Doctor) checkSSH(r *report, metas []store.Meta, agentSock string) {
	sock := d.Getenv("SSH_AUTH_SOCK")
	sshKeys := slices.ContainsFunc(metas, func(m store.Meta) bool { return m.SSH != nil })
	level := levelNote
	if sshKeys {
		level = levelWarn
	}
	switch {
	case sock == "":
		r.add(level, "ssh", "SSH_AUTH_SOCK is not set, so ssh does not ask wsx's agent")
		r.fix("`eval $(wsx agent -s)`")
		return
	case (agentSock != "" && filepath.Clean(sock) == filepath.Clean(agentSock)) ||
		filepath.Clean(sock) == filepath.Join(d.RunDir, daemon.AgentSocketName):
		r.add(levelOK, "ssh", "SSH_AUTH_SOCK points at wsx's agent (%s)", sock)
		return
	}
	r.add(level, "ssh", "SSH_AUTH_SOCK points at another agent (%s); keys stored in wsx are served only by `wsx agent`", sock)
}

// doctorNames gives the naming advice for every secret.
func checkNames(r *report, names []string) {
	n := 0
	for _, name := range names {
		if strings.HasPrefix(name, credhelper.StoredPrefix) {
			continue
		}
		if store.DangerousName(name) {
			r.add(levelNote, "names", "%s changes how programs run or what they load; exec gives it to every command it runs", name)
			n++
			continue
		}
		if adv := store.NameAdvice(name); adv != "" {
			r.add(levelNote, "names", "%s", adv)
			n++
		}
	}
	if n == 0 && len(names) > 0 {
		r.add(levelOK, "names", "every name says what it is for")
	}
}

// doctorRotation lists secrets overdue for rotation and rotations left
// unfinished.
func (d *Doctor) checkRotation(r *report, metas []store.Meta) {
	if metas == nil {
		return
	}
	now := d.Now()
	n := 0
	for _, m := range metas {
		if ri := secrets.RotationAt(m, now); ri.Overdue {
			r.add(levelWarn, "rotation", "%s is %s (every %s)", m.Name, secrets.DescribeRotation(m, now), secrets.FormatPeriod(m.RotateEvery))
			r.fix("give it a new value with `wsx rotate %s`", m.Name)
			n++
		}
		if m.Previous != nil {
			r.add(levelNote, "rotation", "%s keeps its value of version %d from before the last rotation", m.Name, m.Previous.Version)
			r.fix("`wsx rotate %s --finish` once the new value works (or --undo)", m.Name)
		}
	}
	if n == 0 {
		r.add(levelOK, "rotation", "no secret is overdue")
	}
}

// doctorDBus warns that keyring's D-Bus lookup may start a session bus in
// every wsx process (see ARCHITECTURE.md): godbus runs dbus-launch when
// DBUS_SESSION_BUS_ADDRESS is "autolaunch:" and there is no
// /run/user/UID/bus. Where it is not set at all, internal/nokwallet stops
// the lookup before it starts.
func (d *Doctor) checkDBus(r *report) {
	if a := d.Getenv("DBUS_SESSION_BUS_ADDRESS"); a != "autolaunch:" {
		return
	}
	if _, err := os.Stat(fmt.Sprintf("/run/user/%d/bus", d.UID)); err == nil {
		return
	}
	if p, err := exec.LookPath("dbus-launch"); err == nil {
		r.add(levelWarn, "dbus", "DBUS_SESSION_BUS_ADDRESS is autolaunch: and %s is installed: every wsx process may start a dbus-daemon", p)
		r.fix("run wsx in a session with a D-Bus session bus, or unset DBUS_SESSION_BUS_ADDRESS to stop the lookup")
	}
}

// otherStores lists other workspaces' store homes: the default home, its
// wsx-* siblings, and those in WSX_STORES; never the current one.
func (d *Doctor) otherStores() []string {
	var cands []string
	def := ""
	if x := d.Getenv("XDG_DATA_HOME"); x != "" {
		def = filepath.Join(x, "wsx")
	} else if h := d.Getenv("HOME"); h != "" {
		def = filepath.Join(h, ".local", "share", "wsx")
	}
	if def != "" {
		cands = append(cands, def)
		if m, err := filepath.Glob(def + "-*"); err == nil {
			cands = append(cands, m...)
		}
	}
	for _, p := range filepath.SplitList(d.Getenv("WSX_STORES")) {
		if p != "" {
			cands = append(cands, p)
		}
	}
	var out []string
	for _, c := range cands {
		abs, err := filepath.Abs(c)
		if err != nil || abs == d.Home || slices.Contains(out, abs) {
			continue
		}
		if fi, err := os.Lstat(filepath.Join(abs, "store.json")); err == nil && fi.Mode().IsRegular() {
			out = append(out, abs)
		}
	}
	return out
}

// runDoctorName explains what is known about the secret called name: why
// it is not found, or whether this environment's $NAME is stale.
// Name is `wsx doctor NAME`: why the secret is not found, or whether
// this environment's $NAME is stale.
func (d *Doctor) Name(name string) error {
	out := d.Stdout
	if err := store.ValidateName(name); err != nil {
		fmt.Fprintf(out, "%s cannot be a secret name: %v\n", name, err)
		if adv := conventionalName(name); adv != "" {
			fmt.Fprintf(out, "a valid name like it: %s\n", adv)
		}
		return hint.Said{Err: store.ErrNotFound}
	}
	var names []string
	openErr := d.open()
	if openErr == nil {
		var err error
		if names, err = d.st.Names(); err != nil {
			openErr = err
		}
	}
	if openErr == nil && slices.Contains(names, name) {
		return d.checkFound(name)
	}

	switch {
	case errors.Is(openErr, store.ErrNotInitialized):
		fmt.Fprintf(out, "%s is not found: there is no store in %s.\n", name, d.Home)
	case openErr != nil:
		fmt.Fprintf(out, "%s is not found: the store in %s cannot be read: %v\n", name, d.Home, openErr)
	default:
		fmt.Fprintf(out, "%s is not in the store in %s (%s backend, %d secrets).\n", name, d.Home, d.st.Backend(), len(names))
	}
	var reasons []string
	if twin := store.CaseTwin(name, names); twin != "" {
		reasons = append(reasons, fmt.Sprintf("a case mismatch: the store has %s; names are case-sensitive, so ask for %s", twin, twin))
	}
	for _, other := range d.otherStores() {
		items := store.ItemNames(other)
		if slices.Contains(items, name) {
			reasons = append(reasons, fmt.Sprintf("it is in another workspace's store, %s: use it with WSX_HOME=%s", other, other))
		} else if twin := store.CaseTwin(name, items); twin != "" {
			reasons = append(reasons, fmt.Sprintf("another workspace's store, %s, has %s (differs in case): use it with WSX_HOME=%s", other, twin, other))
		}
	}
	var typos []string
	for _, c := range secrets.CloseNames(name, names) {
		if !strings.EqualFold(c, name) {
			typos = append(typos, c)
		}
	}
	if len(typos) > 0 {
		reasons = append(reasons, fmt.Sprintf("a typo: the closest names here are %s", strings.Join(typos, ", ")))
	}
	if openErr == nil && d.st.Locked() && d.st.NeedsPassphrase() && d.PassphraseFile == "" {
		reasons = append(reasons, "the store is locked here: programs without a terminal (git in the background, scripts, CI) read no secret at all, and may report one as missing; start `wsx agent` or set WSX_PASSPHRASE_FILE")
	}
	if errors.Is(openErr, store.ErrNotInitialized) {
		reasons = append(reasons, "WSX_HOME points at another directory than the store you use, or no store was created yet (`wsx init`)")
	}
	if len(reasons) == 0 {
		fmt.Fprintf(out, "No name like it here or in other workspaces' stores; add it with `wsx add %s`.\n", name)
	} else {
		fmt.Fprintln(out, "Most likely:")
		for i, r := range reasons {
			fmt.Fprintf(out, "  %d. %s\n", i+1, r)
		}
	}
	if d.Getenv(name) != "" {
		fmt.Fprintf(out, "$%s is set in this environment, but not from this store: your shell or another tool sets it.\n", name)
	}
	return hint.Said{Err: store.ErrNotFound}
}

// doctorFound reports on a secret that is in the store: its state and, when
// this environment has $NAME, whether it holds the current value. The two
// values are compared in constant time and neither is printed or kept.
func (d *Doctor) checkFound(name string) error {
	out := d.Stdout
	fmt.Fprintf(out, "%s is in the store in %s.\n", name, d.Home)
	st, err := d.Unlocked()
	if err != nil {
		fmt.Fprintf(out, "The store is locked here (%v), so its details and $%s cannot be checked.\n", err, name)
		if errors.Is(err, store.ErrWrongPassphrase) {
			return hint.Said{Err: store.ErrWrongPassphrase}
		}
		return nil
	}
	m, _, err := st.Stat(name)
	if err != nil {
		fmt.Fprintf(out, "It does not open: %v\n", err)
		return hint.Said{Err: ErrProblems}
	}
	now := d.Now()
	problems := 0
	fmt.Fprintf(out, "Type %s, version %d, rotation: %s.\n", m.Type, m.Version, secrets.RotationState(m, now))
	if secrets.RotationAt(m, now).Overdue {
		fmt.Fprintf(out, "It is overdue for rotation: give it a new value with `wsx rotate %s`.\n", name)
		problems++
	}
	if env := d.Getenv(name); env != "" {
		n, err := compareEnv(out, st, m, env)
		if err != nil {
			return err
		}
		problems += n
	}
	if problems > 0 {
		return hint.Said{Err: ErrProblems}
	}
	return nil
}

// compareEnv says whether the environment's value of secret m is the
// stored one, and returns 1 when it is stale. The store compares, in
// constant time; no value comes back.
func compareEnv(out io.Writer, st secrets.Store, m store.Meta, env string) (int, error) {
	name := m.Name
	if m.Type == store.TypeFile {
		fmt.Fprintf(out, "$%s is set; a file secret reaches programs as a path, so it is not compared.\n", name)
		return 0, nil
	}
	b := []byte(env)
	v := store.NewValue(b)
	clear(b)
	match, err := st.Compare(name, v)
	if err != nil {
		return 0, err
	}
	switch match {
	case store.MatchCurrent:
		fmt.Fprintf(out, "$%s in this environment holds the current value.\n", name)
		return 0, nil
	case store.MatchPrevious:
		fmt.Fprintf(out, "$%s in this environment holds the value from before the last rotation (version %d): restart the terminal, or the `wsx shell` or `wsx exec` it came from.\n", name, m.Previous.Version)
	default:
		fmt.Fprintf(out, "$%s in this environment differs from the stored value (it may be from an older version of the secret): restart the terminal, or the `wsx shell` or `wsx exec` it came from.\n", name)
	}
	return 1, nil
}

// conventionalName turns an invalid name into a valid one when that is
// easy: other punctuation becomes _, letters upper case.
func conventionalName(name string) string {
	var b strings.Builder
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_':
			b.WriteRune(r)
		case r == '-' || r == '.' || r == ' ' || r == '/':
			b.WriteByte('_')
		default:
			return ""
		}
	}
	n := strings.ToUpper(b.String())
	if store.ValidateName(n) != nil {
		return ""
	}
	return n
}
