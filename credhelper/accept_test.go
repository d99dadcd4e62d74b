package credhelper

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wsxdev/wsx/store"
)

// TestEmptyCredential: git approves an empty user name and password for
// SSO and Kerberos (http.emptyAuth) logins; they are kept and come back
// exactly, as username= and password= lines, and a reject of them erases
// them.
func TestEmptyCredential(t *testing.T) {
	const (
		ssoGet     = "protocol=https\nhost=sso.example.com\n"
		ssoApprove = ssoGet + "username=\npassword=\n"
	)
	name := storedName("sso.example.com", "", "")
	tests := []struct {
		name   string
		steps  []step
		writes int
	}{
		{"empty user and password", []step{
			{op: "store", in: ssoApprove, audit: []string{"created " + name}},
			{op: "get", in: ssoGet, out: "username=\npassword=\n", audit: []string{"used " + name}},
			{op: "store", in: ssoApprove},
			{op: "erase", in: ssoApprove, audit: []string{"deleted " + name}},
			{op: "get", in: ssoGet},
		}, 2},
		{"empty user name, a password", []step{
			{op: "store", in: ssoGet + "username=\npassword=" + canary + "\n", audit: []string{"created " + name}},
			{op: "get", in: ssoGet, out: "username=\npassword=" + canary + "\n", audit: []string{"used " + name}},
		}, 1},
		{"a user name, empty password", []step{
			{op: "store", in: ssoGet + "username=alice\npassword=\n", audit: []string{"created " + storedName("sso.example.com", "", "alice")}},
			{op: "get", in: ssoGet, out: "username=alice\npassword=\n", audit: []string{"used " + storedName("sso.example.com", "", "alice")}},
			// A reject with a password keeps the empty one.
			{op: "erase", in: ssoGet + "username=alice\npassword=" + canary + "\n"},
			{op: "get", in: ssoGet, out: "username=alice\npassword=\n", audit: []string{"used " + storedName("sso.example.com", "", "alice")}},
		}, 1},
		{"url with empty user and password", []step{
			{op: "store", in: "url=https://:@sso.example.com\n", audit: []string{"created " + name}},
			{op: "get", in: ssoGet, out: "username=\npassword=\n", audit: []string{"used " + name}},
		}, 1},
		// Absent is not empty: nothing to keep.
		{"no password line", []step{{op: "store", in: ssoGet + "username=\n"}}, 0},
		{"no username line", []step{{op: "store", in: ssoGet + "password=\n"}}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sec := newFakeSecrets(fixedClock)
			runSteps(t, sec, &fakeAuditor{}, false, tc.steps)
			if n := sec.writeCount(); n != tc.writes {
				t.Errorf("store written %d times, want %d", n, tc.writes)
			}
		})
	}
}

// TestStoredExpiry: the expiry git reports with an approval is kept as
// Expires (not as a rotation period) and sent back as it came.
func TestStoredExpiry(t *testing.T) {
	exp := testNow.Add(48 * time.Hour)
	sec := newFakeSecrets(fixedClock)
	runSteps(t, sec, &fakeAuditor{}, false, []step{
		{op: "store", in: exStore + "password_expiry_utc=" + strconv.FormatInt(exp.Unix(), 10) + "\n", audit: []string{"created " + storedName("git.example.com", "", "alice")}},
	})
	got := sec.stored()
	if len(got) != 1 {
		t.Fatalf("%d stored credentials, want 1", len(got))
	}
	if !got[0].Expires.Equal(exp) || got[0].RotateEvery != 0 {
		t.Errorf("kept Expires %v and RotateEvery %v, want %v and none", got[0].Expires, got[0].RotateEvery, exp)
	}
}

// TestRemind: after a named secret was sent, Remind gets its metadata
// (the caller reminds of an overdue rotation once a day); stored
// credentials and unanswered requests are not passed.
func TestRemind(t *testing.T) {
	overdue := withRotation(token("GITHUB_TOKEN", canary, "github.com"), testNow.Add(-100*24*time.Hour), 90*24*time.Hour)
	sec := newFakeSecrets(fixedClock, overdue)
	var reminded []string
	sec.aud = &fakeAuditor{}
	run := func(in string) string {
		t.Helper()
		var out bytes.Buffer
		err := Run(context.Background(), OpGet, Options{
			Stdin: strings.NewReader(in), Stdout: &out, Stderr: &bytes.Buffer{},
			Secrets: sec, Now: fixedClock,
			Remind: func(m store.Meta) { reminded = append(reminded, m.Name) },
		})
		if err != nil {
			t.Fatal(err)
		}
		return out.String()
	}
	if out := run(ghGet); out != ghOut {
		t.Errorf("overdue secret: got %d bytes, want the token without an expiry", len(out))
	}
	run("protocol=https\nhost=gitlab.com\n")
	runSteps(t, sec, &fakeAuditor{}, false, []step{{op: "store", in: exStore, audit: []string{"created " + storedName("git.example.com", "", "alice")}}})
	run(exGet)
	if strings.Join(reminded, ",") != "GITHUB_TOKEN" {
		t.Errorf("Remind got %q, want GITHUB_TOKEN once", reminded)
	}
}

// TestUnlockHint: the locked note carries the caller's fix when it has one
// (an agent runs, locked), else how to start the agent.
func TestUnlockHint(t *testing.T) {
	for _, tc := range []struct{ hint, want string }{
		{"", "start the agent with `eval \"$(wsx agent -s)\"` (or set WSX_PASSPHRASE_FILE)"},
		{"unlock the agent with `wsx unlock`", "the store is locked, so git will ask for the password; unlock the agent with `wsx unlock`\n"},
	} {
		var out, errOut bytes.Buffer
		err := Run(context.Background(), OpGet, Options{
			Stdin: strings.NewReader(ghGet), Stdout: &out, Stderr: &errOut,
			Locked: true, UnlockHint: tc.hint,
		})
		if err != nil || out.Len() != 0 {
			t.Errorf("hint %q: err %v, stdout %q", tc.hint, err, out.String())
		}
		if !strings.Contains(errOut.String(), tc.want) {
			t.Errorf("hint %q: stderr %q does not hold %q", tc.hint, errOut.String(), tc.want)
		}
	}
}
