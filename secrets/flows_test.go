package secrets

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wsxdev/wsx/audit"
	"github.com/wsxdev/wsx/internal/release"
	"github.com/wsxdev/wsx/store"
)

// flowsAt is Flows over a new store whose clock the test moves with
// *now: what `wsx add`, `wsx rotate` and `wsx status` run on.
type flowsAt struct {
	*Flows
	l        *Local
	now      time.Time
	out, err bytes.Buffer
	next     string // the value the prompt gives next
}

func newFlowsAt(t *testing.T) *flowsAt {
	t.Helper()
	home := filepath.Join(t.TempDir(), "home")
	st, err := store.Init(home, store.InitOptions{Passphrase: []byte("p"), KDF: store.KDFParams{Time: 1, MemoryKiB: 1 << 10, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	fa := &flowsAt{now: time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)}
	st.SetClock(func() time.Time { return fa.now })
	fa.l = &Local{St: st, AuditPath: filepath.Join(home, "audit.log")}
	t.Cleanup(fa.l.CloseLog)
	fa.Flows = &Flows{Store: fa.l, Prompt: fa, Stdout: &fa.out, Stderr: &fa.err, Now: func() time.Time { return fa.now }, AuditPath: fa.l.AuditPath}
	return fa
}

func (fa *flowsAt) Value(string, store.Type, string, bool) ([]byte, bool, error) {
	v := fa.next
	fa.next = ""
	return []byte(v), v != "", nil
}

func (fa *flowsAt) KeyPassphrase(string, string) ([]byte, error) {
	return nil, errors.New("no key here")
}

// add adds name of type typ with a value the test does not need to know.
func (fa *flowsAt) add(t *testing.T, name string, typ store.Type) {
	t.Helper()
	fa.next = "value-for-" + name
	if err := fa.Add(Options{Name: name, Type: string(typ), CreateOnly: true, RequireValue: true}); err != nil {
		t.Fatalf("add %s: %v", name, err)
	}
}

// status runs Status and returns what it printed; both buffers are reset.
func (fa *flowsAt) status(t *testing.T, asJSON bool) (out, errs string) {
	t.Helper()
	fa.out.Reset()
	fa.err.Reset()
	if err := fa.Status(asJSON); err != nil {
		t.Fatalf("status: %v", err)
	}
	return fa.out.String(), fa.err.String()
}

func (fa *flowsAt) statusJSON(t *testing.T) []StatusJSON {
	t.Helper()
	out, _ := fa.status(t, true)
	var rows []StatusJSON
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	return rows
}

func TestStatusWithClock(t *testing.T) {
	fa := newFlowsAt(t)
	fa.add(t, "GITHUB_TOKEN", store.TypeToken)
	fa.add(t, "DATABASE_PASSWORD", store.TypePassword)
	fa.add(t, "TLS_CERT", store.TypeFile)
	fa.now = fa.now.Add(95 * day)
	out, errs := fa.status(t, false)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "NAME") {
		t.Fatalf("status:\n%s", out)
	}
	// Most urgent first: the overdue token, the password, the file (never).
	for i, want := range []string{
		`GITHUB_TOKEN +token +95d +90d +2027-02-26 +OVERDUE 5d`,
		`DATABASE_PASSWORD +password +95d +180d +2027-05-27 +due in 85d`,
		`TLS_CERT +file +95d +never +- +-`,
	} {
		if !regexp.MustCompile(want).MatchString(lines[i+1]) {
			t.Errorf("status row %d = %q, want %q", i+1, lines[i+1], want)
		}
	}
	if !strings.Contains(errs, "1 of 3 secrets are overdue") {
		t.Errorf("status stderr: %q", errs)
	}

	rows := fa.statusJSON(t)
	if len(rows) != 3 || rows[0].Name != "GITHUB_TOKEN" || !rows[0].Overdue || rows[0].DaysLeft == nil || *rows[0].DaysLeft != -5 ||
		rows[0].AgeDays != 95 || rows[0].State != "OVERDUE 5d" || rows[2].Due != nil || rows[2].DaysLeft != nil {
		t.Errorf("status --json: %+v", rows)
	}

	// Rotating resets the age; the previous value shows as kept.
	fa.now = fa.now.Add(day)
	fa.next = "value-2"
	if err := fa.Rotate(RotateOptions{Name: "GITHUB_TOKEN"}); err != nil {
		t.Fatalf("rotate: %v", err)
	}
	fa.now = fa.now.Add(2 * day)
	var gh StatusJSON
	for _, r := range fa.statusJSON(t) {
		if r.Name == "GITHUB_TOKEN" {
			gh = r
		}
	}
	if gh.Overdue || gh.AgeDays != 2 || gh.DaysLeft == nil || *gh.DaysLeft != 88 || !gh.RotationPending || gh.PreviousVersion != 1 {
		t.Errorf("after rotate: %+v", gh)
	}
}

func TestRotateUndoFinish(t *testing.T) {
	fa := newFlowsAt(t)
	fa.next = "first-value"
	if err := fa.Add(Options{Name: "API_TOKEN", CreateOnly: true, RequireValue: true}); err != nil {
		t.Fatal(err)
	}
	usage := func(err error) bool { return isUsage(err) }
	pending := func(err error) bool { return errors.Is(err, store.ErrRotationPending) }
	noPrevious := func(err error) bool { return errors.Is(err, store.ErrNoPrevious) }
	notFound := func(err error) bool { return errors.Is(err, store.ErrNotFound) }
	steps := []struct {
		value  string
		o      RotateOptions
		errIs  func(error) bool // nil: no error
		stderr string           // in the error, or on stderr when it succeeded
	}{
		{"", RotateOptions{Name: "API_TOKEN", Undo: true}, noPrevious, "no rotation to undo"},
		{"", RotateOptions{Name: "API_TOKEN", Finish: true}, noPrevious, "no rotation to finish"},
		{"", RotateOptions{Name: "API_TOKEN", Undo: true, Finish: true}, usage, "choose one"},
		{"second-value", RotateOptions{Name: "API_TOKEN"}, nil, "old value (version 1) is kept"},
		{"third-value", RotateOptions{Name: "API_TOKEN"}, pending, "version 1 is still kept"},
		{"", RotateOptions{Name: "API_TOKEN", Undo: true}, nil, "value of version 1 back"},
		{"third-value", RotateOptions{Name: "API_TOKEN"}, nil, "rotated API_TOKEN (version 4)"},
		{"", RotateOptions{Name: "API_TOKEN", Finish: true}, nil, "deleted the old value of API_TOKEN (version 3)"},
		{"", RotateOptions{Name: "NO_TOKEN", Finish: true}, notFound, "NO_TOKEN"},
	}
	for _, st := range steps {
		fa.now = fa.now.Add(time.Hour)
		fa.next = st.value
		fa.err.Reset()
		err := fa.Rotate(st.o)
		said := fa.err.String()
		if err != nil {
			said = err.Error()
		}
		if (st.errIs == nil) != (err == nil) || (err != nil && !st.errIs(err)) || !strings.Contains(said, st.stderr) || fa.out.Len() != 0 {
			t.Errorf("%+v: err %v, stderr %q; want %q", st.o, err, fa.err.String(), st.stderr)
		}
		for _, v := range []string{"first-value", "second-value", "third-value"} {
			if strings.Contains(fa.out.String()+fa.err.String()+said, v) {
				t.Fatalf("%+v: a value appeared in the output", st.o)
			}
		}
	}
	// The audit log has one record per step that changed something.
	fa.l.CloseLog()
	recs, err := audit.ReadLog(fa.AuditPath)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs {
		got = append(got, string(r.Event)+":"+r.Detail)
	}
	want := []string{
		"created:", "rotated:previous value (version 1) kept", "updated:rotation undone: value of version 1 restored",
		"rotated:previous value (version 3) kept", "deleted:previous value",
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("audit events:\n got %q\nwant %q", got, want)
	}
	if c := recs[len(recs)-1].Context; c == nil || c.Command != "wsx rotate API_TOKEN --finish" {
		t.Errorf("finish record context: %+v", c)
	}
}

// Status shows the secrets it can read and names a damaged one on
// stderr, without failing: it needs none of them by name.
func TestStatusDamagedItem(t *testing.T) {
	fa := newFlowsAt(t)
	fa.add(t, "GITHUB_TOKEN", store.TypeToken)
	fa.add(t, "STRIPE_API_KEY", store.TypeToken)
	items := filepath.Join(filepath.Dir(fa.AuditPath), "items")
	data, err := os.ReadFile(filepath.Join(items, "GITHUB_TOKEN.wsx"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(items, "STRIPE_API_KEY.wsx"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, asJSON := range []bool{false, true} {
		out, errs := fa.status(t, asJSON)
		if !strings.Contains(out, "GITHUB_TOKEN") || strings.Contains(out, "STRIPE_API_KEY") {
			t.Errorf("json %v: stdout %q, want GITHUB_TOKEN alone", asJSON, out)
		}
		if !strings.Contains(errs, "warning: STRIPE_API_KEY cannot be read and is left out") || !strings.Contains(errs, "`wsx rm STRIPE_API_KEY`") {
			t.Errorf("json %v: stderr %q, want STRIPE_API_KEY named with the fix", asJSON, errs)
		}
	}
}

// Status names a secret that `wsx exec` gave programs for 90 days and
// none read, when reads of others were recorded; not before 90 days, and
// never one that was read.
func TestStatusNeverRead(t *testing.T) {
	fa := newFlowsAt(t)
	fa.now = time.Now() // the audit log's records carry the real time
	fa.add(t, "API_TOKEN", store.TypeToken)
	fa.add(t, "OLD_TOKEN", store.TypeToken)
	// What `wsx exec` records: both given to the command, one read.
	if _, err := fa.l.Use(context.Background(), []string{"API_TOKEN", "OLD_TOKEN"}, release.Record{Via: audit.ViaExec}); err != nil {
		t.Fatal(err)
	}
	if err := fa.l.Record(audit.Record{Event: audit.EventAccessed, Secret: "API_TOKEN", Via: audit.ViaExec, Result: audit.ResultOK}); err != nil {
		t.Fatal(err)
	}
	const note = "OLD_TOKEN was given to programs by `wsx exec` for 90 days and none read it"
	fa.now = fa.now.Add(89 * day)
	if _, errs := fa.status(t, false); strings.Contains(errs, "none read it") {
		t.Errorf("status after 89 days names a secret: %s", errs)
	}
	fa.now = fa.now.Add(2 * day)
	if _, errs := fa.status(t, false); !strings.Contains(errs, note) || strings.Contains(errs, "API_TOKEN was given") {
		t.Errorf("status after 91 days: stderr %q; want OLD_TOKEN alone named", errs)
	}
	for _, r := range fa.statusJSON(t) {
		if r.NeverRead != (r.Name == "OLD_TOKEN") {
			t.Errorf("status --json: %s never_read=%v", r.Name, r.NeverRead)
		}
	}
}
