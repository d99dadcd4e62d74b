package cmd

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wsxdev/wsx/audit"
	"github.com/wsxdev/wsx/secrets"
)

// lcClock is a clock tests move by hand.
type lcClock struct{ t time.Time }

func (c *lcClock) now() time.Time          { return c.t }
func (c *lcClock) advance(d time.Duration) { c.t = c.t.Add(d) }

// day is a day, as rotation periods count it.
const day = 24 * time.Hour

func newLCClock() *lcClock {
	return &lcClock{t: time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)}
}

// runLC runs wsx with args on env and returns the exit code, stdout and
// stderr; stdin is in.
func runLC(t *testing.T, env Env, in string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	env.Args = append([]string{"wsx"}, args...)
	env.Stdin = strings.NewReader(in)
	env.Stdout, env.Stderr = &out, &errb
	code := Main(context.Background(), env)
	return code, out.String(), errb.String()
}

// lcStore is an initialised store under a test Env whose clock the
// test moves.
func lcStore(t *testing.T) (Env, *lcClock) {
	t.Helper()
	env, _, _ := testEnv(t)
	clock := newLCClock()
	env.Now = clock.now
	if code, _, errs := runLC(t, env, "", "init", "--kdf-memory", "8", "--kdf-time", "1"); code != 0 {
		t.Fatalf("init: exit %d: %s", code, errs)
	}
	return env, clock
}

func TestStatusWithClock(t *testing.T) {
	env, clock := lcStore(t)
	for _, a := range [][]string{
		{"add", "GITHUB_TOKEN"},
		{"add", "DATABASE_PASSWORD", "--type", "password"},
		{"add", "TLS_CERT", "--type", "file"},
	} {
		if code, _, errs := runLC(t, env, "value-for-"+a[1]+"\n", a...); code != 0 {
			t.Fatalf("%v: exit %d: %s", a, code, errs)
		}
	}
	clock.advance(95 * day)
	code, out, errs := runLC(t, env, "", "status")
	if code != 0 {
		t.Fatalf("status: exit %d: %s", code, errs)
	}
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

	code, out, errs = runLC(t, env, "", "status", "--json")
	if code != 0 {
		t.Fatalf("status --json: exit %d: %s", code, errs)
	}
	var rows []secrets.StatusJSON
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || rows[0].Name != "GITHUB_TOKEN" || !rows[0].Overdue || rows[0].DaysLeft == nil || *rows[0].DaysLeft != -5 ||
		rows[0].AgeDays != 95 || rows[0].State != "OVERDUE 5d" || rows[2].Due != nil || rows[2].DaysLeft != nil {
		t.Errorf("status --json: %s", out)
	}

	// Rotating resets the age; the previous value shows as kept.
	clock.advance(day)
	if code, _, errs := runLC(t, env, "value-2\n", "rotate", "GITHUB_TOKEN"); code != 0 {
		t.Fatalf("rotate: exit %d: %s", code, errs)
	}
	clock.advance(2 * day)
	_, out, _ = runLC(t, env, "", "status", "--json")
	rows = nil
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatal(err)
	}
	var gh secrets.StatusJSON
	for _, r := range rows {
		if r.Name == "GITHUB_TOKEN" {
			gh = r
		}
	}
	if gh.Overdue || gh.AgeDays != 2 || *gh.DaysLeft != 88 || !gh.RotationPending || gh.PreviousVersion != 1 {
		t.Errorf("after rotate: %+v", gh)
	}
}

func TestRotateUndoFinish(t *testing.T) {
	env, clock := lcStore(t)
	if code, _, errs := runLC(t, env, "first-value\n", "add", "API_TOKEN"); code != 0 {
		t.Fatalf("add: %s", errs)
	}
	steps := []struct {
		in   string
		args []string
		code int
		errs string
	}{
		{"", []string{"rotate", "API_TOKEN", "--undo"}, ExitError, "no rotation to undo"},
		{"", []string{"rotate", "API_TOKEN", "--finish"}, ExitError, "no rotation to finish"},
		{"", []string{"rotate", "API_TOKEN", "--undo", "--finish"}, ExitUsage, "choose one"},
		{"second-value\n", []string{"rotate", "API_TOKEN"}, 0, "old value (version 1) is kept"},
		{"third-value\n", []string{"rotate", "API_TOKEN"}, ExitError, "--finish"},
		{"", []string{"rotate", "API_TOKEN", "--undo"}, 0, "value of version 1 back"},
		{"third-value\n", []string{"rotate", "API_TOKEN"}, 0, "rotated API_TOKEN (version 4)"},
		{"", []string{"rotate", "API_TOKEN", "--finish"}, 0, "deleted the old value of API_TOKEN (version 3)"},
		{"", []string{"rotate", "NO_TOKEN", "--finish"}, ExitNotFound, "NO_TOKEN"},
	}
	for _, st := range steps {
		clock.advance(time.Hour)
		code, out, errs := runLC(t, env, st.in, st.args...)
		if code != st.code || !strings.Contains(errs, st.errs) || out != "" {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", st.args, code, errs, st.code, st.errs)
		}
		for _, v := range []string{"first-value", "second-value", "third-value"} {
			if strings.Contains(out+errs, v) {
				t.Fatalf("%v: a value appeared in the output", st.args)
			}
		}
	}
	// The audit log has one record per step that changed something.
	recs := readAuditLog(t, env)
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

// readAuditLog parses the audit log of env's store.
func readAuditLog(t *testing.T, env Env) []audit.Record {
	t.Helper()
	f, err := os.Open(auditPath(env.Getenv("WSX_HOME")))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var recs []audit.Record
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r audit.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	return recs
}
