package credhelper

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsxdev/wsx/audit"
	"github.com/wsxdev/wsx/store"
)

var testNow = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func fixedClock() time.Time { return testNow }

func secret(name string, typ store.Type, value string, hosts ...string) store.Secret {
	return store.Secret{
		Meta:  store.Meta{Name: name, Type: typ, Hosts: hosts},
		Value: store.NewValue([]byte(value)),
	}
}

func token(name, value string, hosts ...string) store.Secret {
	return secret(name, store.TypeToken, value, hosts...)
}

func withUser(s store.Secret, user string) store.Secret {
	s.Username = user
	return s
}

func withExpiry(s store.Secret, at time.Time) store.Secret {
	s.Expires = at
	return s
}

func withRotation(s store.Secret, created time.Time, every time.Duration) store.Secret {
	s.Created = created
	s.RotateEvery = every
	return s
}

// runHelper runs one operation and checks that the canary appears neither
// on stderr nor in the error.
func runHelper(t *testing.T, op, in string, sec *fakeSecrets, aud *fakeAuditor, locked bool) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	sec.aud = aud
	err = Run(context.Background(), op, Options{
		Stdin:   strings.NewReader(in),
		Stdout:  &out,
		Stderr:  &errOut,
		Secrets: sec,
		Now:     fixedClock,
		Locked:  locked,
	})
	if strings.Contains(errOut.String(), canary) {
		t.Errorf("%s: stderr holds the canary value", op)
	}
	if err != nil && strings.Contains(err.Error(), canary) {
		t.Errorf("%s: error holds the canary value", op)
	}
	return out.String(), errOut.String(), err
}

type step struct {
	op     string
	in     string
	out    string   // exact stdout
	err    error    // errors.Is target; nil: Run must return nil
	stderr string   // substring stderr must hold; "" means stderr must be empty
	audit  []string // "event NAME" records this step adds, in order
}

func recs(rs []record) []string {
	var out []string
	for _, r := range rs {
		out = append(out, string(r.event)+" "+r.name)
	}
	return out
}

func runSteps(t *testing.T, sec *fakeSecrets, aud *fakeAuditor, locked bool, steps []step) {
	t.Helper()
	for i, st := range steps {
		before := len(aud.records())
		out, errOut, err := runHelper(t, st.op, st.in, sec, aud, locked)
		switch {
		case st.err == nil && err != nil:
			t.Errorf("step %d (%s): unexpected error: %v", i, st.op, err)
		case st.err != nil && !errors.Is(err, st.err):
			t.Errorf("step %d (%s): error = %v, want %v", i, st.op, err, st.err)
		}
		if out != st.out {
			// stdout may hold the canary: report only whether it was there.
			t.Errorf("step %d (%s): stdout differs: got %d bytes (canary present: %v), want %d bytes",
				i, st.op, len(out), strings.Contains(out, canary), len(st.out))
			if !strings.Contains(out, canary) && !strings.Contains(st.out, canary) {
				t.Logf("got %q, want %q", out, st.out)
			}
		}
		if st.stderr == "" && errOut != "" {
			t.Errorf("step %d (%s): unexpected stderr %q", i, st.op, errOut)
		}
		if st.stderr != "" && !strings.Contains(errOut, st.stderr) {
			t.Errorf("step %d (%s): stderr %q does not hold %q", i, st.op, errOut, st.stderr)
		}
		if n := strings.Count(errOut, "\n"); n > 1 {
			t.Errorf("step %d (%s): stderr has %d lines, want at most one", i, st.op, n)
		}
		got := recs(aud.records()[before:])
		if strings.Join(got, ",") != strings.Join(st.audit, ",") {
			t.Errorf("step %d (%s): audit records %v, want %v", i, st.op, got, st.audit)
		}
	}
}

const (
	ghGet = "protocol=https\nhost=github.com\n\n"
	ghOut = "username=x-access-token\npassword=" + canary + "\n"
)

func TestGet(t *testing.T) {
	long := strings.Repeat("a", MaxLineLen-len("wwwauth[]=")-1)
	due := testNow.Add(24 * time.Hour)
	tests := []struct {
		name    string
		secrets []store.Secret
		steps   []step
	}{
		{"github token", []store.Secret{token("GITHUB_TOKEN", canary, "github.com")},
			[]step{{op: "get", in: ghGet, out: ghOut, audit: []string{"used GITHUB_TOKEN"}}}},
		{"gitlab convention", []store.Secret{token("GITLAB_TOKEN", canary, "gitlab.com")},
			[]step{{op: "get", in: "protocol=https\nhost=gitlab.com\n", out: "username=oauth2\npassword=" + canary + "\n", audit: []string{"used GITLAB_TOKEN"}}}},
		{"other host fallback user", []store.Secret{token("GITEA_TOKEN", canary, "git.example.com")},
			[]step{{op: "get", in: "protocol=https\nhost=git.example.com\n", out: "username=x-access-token\npassword=" + canary + "\n", audit: []string{"used GITEA_TOKEN"}}}},
		{"secret's username wins", []store.Secret{withUser(token("GITHUB_TOKEN", canary, "github.com"), "bob")},
			[]step{{op: "get", in: ghGet, out: "username=bob\npassword=" + canary + "\n", audit: []string{"used GITHUB_TOKEN"}}}},
		{"git's username kept", []store.Secret{token("GITHUB_TOKEN", canary, "github.com")},
			[]step{{op: "get", in: "protocol=https\nhost=github.com\nusername=alice\n", out: "username=alice\npassword=" + canary + "\n", audit: []string{"used GITHUB_TOKEN"}}}},
		{"other user's secret not sent", []store.Secret{withUser(token("GITHUB_TOKEN", canary, "github.com"), "bob")},
			[]step{{op: "get", in: "protocol=https\nhost=github.com\nusername=alice\n"}}},
		{"password without user name", []store.Secret{secret("NAS_PASSWORD", store.TypePassword, canary, "nas.lan:8443")},
			[]step{{op: "get", in: "protocol=https\nhost=nas.lan:8443\n", out: "password=" + canary + "\n", audit: []string{"used NAS_PASSWORD"}}}},
		{"url attribute", []store.Secret{token("GITHUB_TOKEN", canary, "github.com/org")},
			[]step{{op: "get", in: "url=https://github.com/org/private.git\n", out: ghOut, audit: []string{"used GITHUB_TOKEN"}}}},
		{"host case folded", []store.Secret{token("GITHUB_TOKEN", canary, "GitHub.com")},
			[]step{{op: "get", in: "protocol=HTTPS\nhost=GITHUB.COM\n", out: ghOut, audit: []string{"used GITHUB_TOKEN"}}}},
		{"crlf accepted (14)", []store.Secret{token("GITHUB_TOKEN", canary, "github.com")},
			[]step{{op: "get", in: "protocol=https\r\nhost=github.com\r\n\r\n", out: ghOut, audit: []string{"used GITHUB_TOKEN"}}}},
		{"unknown attributes and capabilities ignored (18)", []store.Secret{token("GITHUB_TOKEN", canary, "github.com")},
			[]step{{op: "get", in: "capability[]=authtype\ncapability[]=frobnicate\nprotocol=https\nhost=github.com\nwwwauth[]=Basic realm=\"x\"\nfuture_thing=1\nfuture_thing=2\n", out: ghOut, audit: []string{"used GITHUB_TOKEN"}}}},
		{"longest line accepted", []store.Secret{token("GITHUB_TOKEN", canary, "github.com")},
			[]step{{op: "get", in: ghGet[:len(ghGet)-1] + "wwwauth[]=" + long + "\n", out: ghOut, audit: []string{"used GITHUB_TOKEN"}}}},
		{"input after blank line ignored", []store.Secret{token("GITHUB_TOKEN", canary, "github.com")},
			[]step{{op: "get", in: ghGet + "host=evil.test\n\x00", out: ghOut, audit: []string{"used GITHUB_TOKEN"}}}},

		// 13, 14, 17: malformed requests: nothing printed, error explains.
		{"two host lines (13)", []store.Secret{token("GITHUB_TOKEN", canary, "github.com")},
			[]step{{op: "get", in: "protocol=https\nhost=github.com\nhost=evil.test\n", err: ErrMalformed}}},
		{"url and host (13)", []store.Secret{token("GITHUB_TOKEN", canary, "github.com")},
			[]step{{op: "get", in: "url=https://github.com/x\nhost=github.com\n", err: ErrMalformed}}},
		{"url host with %0a (13)", []store.Secret{token("GITHUB_TOKEN", canary, "github.com")},
			[]step{{op: "get", in: "url=https://evil.test%0ahost=github.com/x\n", err: ErrMalformed}}},
		{"url host with %1b (13)", []store.Secret{token("GITHUB_TOKEN", canary, "github.com")},
			[]step{{op: "get", in: "url=https://github.com%1b/x\n", err: ErrMalformed}}},
		{"bare CR in value (14)", []store.Secret{token("GITHUB_TOKEN", canary, "github.com")},
			[]step{{op: "get", in: "protocol=https\nhost=github.com\rhost=evil.test\n", err: ErrMalformed}}},
		{"NUL in value (14)", []store.Secret{token("GITHUB_TOKEN", canary, "github.com")},
			[]step{{op: "get", in: "protocol=https\nhost=github.com\x00.evil.test\n", err: ErrMalformed}}},
		{"NUL in unknown key (14)", []store.Secret{token("GITHUB_TOKEN", canary, "github.com")},
			[]step{{op: "get", in: "protocol=https\nhost=github.com\nx\x00=1\n", err: ErrMalformed}}},
		{"line over 65535 bytes (17)", []store.Secret{token("GITHUB_TOKEN", canary, "github.com")},
			[]step{{op: "get", in: ghGet[:len(ghGet)-1] + "wwwauth[]=" + long + "a\n", err: ErrMalformed}}},

		// 15: no protocol or host, no answer.
		{"missing host (15)", []store.Secret{token("GITHUB_TOKEN", canary, "github.com")},
			[]step{{op: "get", in: "protocol=https\n"}}},
		{"empty host (15)", []store.Secret{token("GITHUB_TOKEN", canary, "github.com")},
			[]step{{op: "get", in: "protocol=https\nhost=\n"}}},
		{"missing protocol (15)", []store.Secret{token("GITHUB_TOKEN", canary, "github.com")},
			[]step{{op: "get", in: "host=github.com\n"}}},
		{"empty protocol (15)", []store.Secret{token("GITHUB_TOKEN", canary, "github.com")},
			[]step{{op: "get", in: "protocol=\nhost=github.com\n"}}},
		{"empty input (15)", []store.Secret{token("GITHUB_TOKEN", canary, "github.com")},
			[]step{{op: "get", in: ""}}},
		{"cert url without host (15)", []store.Secret{token("GITHUB_TOKEN", canary, "github.com")},
			[]step{{op: "get", in: "url=cert:///etc/cert.pem\n"}}},

		// 16: look-alikes.
		{"suffix look-alike (16)", []store.Secret{token("T", canary, "git.example.com")},
			[]step{{op: "get", in: "protocol=https\nhost=git.example.com.evil.test\n"}}},
		{"prefix look-alike (16)", []store.Secret{token("T", canary, "git.example.com")},
			[]step{{op: "get", in: "protocol=https\nhost=evil-git.example.com\n"}}},
		{"subdomain (16)", []store.Secret{token("T", canary, "example.com")},
			[]step{{op: "get", in: "protocol=https\nhost=git.example.com\n"}}},
		{"other port (16)", []store.Secret{token("T", canary, "git.example.com:8443")},
			[]step{{op: "get", in: "protocol=https\nhost=git.example.com:9443\n"}}},
		{"port on request only (16)", []store.Secret{token("T", canary, "git.example.com")},
			[]step{{op: "get", in: "protocol=https\nhost=git.example.com:443\n"}}},
		{"port on secret only (16)", []store.Secret{token("T", canary, "git.example.com:443")},
			[]step{{op: "get", in: "protocol=https\nhost=git.example.com\n"}}},
		{"trailing dot on request (16)", []store.Secret{token("T", canary, "git.example.com")},
			[]step{{op: "get", in: "protocol=https\nhost=git.example.com.\n"}}},
		{"trailing dot on secret (16)", []store.Secret{token("T", canary, "git.example.com.")},
			[]step{{op: "get", in: "protocol=https\nhost=git.example.com\n"}}},
		{"userinfo look-alike (16)", []store.Secret{token("T", canary, "git.example.com")},
			[]step{{op: "get", in: "url=https://git.example.com@evil.test/x\n"}}},
		{"plain http needs an explicit entry", []store.Secret{token("T", canary, "git.example.com")},
			[]step{{op: "get", in: "protocol=http\nhost=git.example.com\n",
				stderr: "T is for https://git.example.com only (a --host without a scheme means https), so it was not sent over http; to allow http, run `wsx set T --host http://git.example.com`"}}},
		{"explicit http entry", []store.Secret{token("T", canary, "http://127.0.0.1:8080")},
			[]step{{op: "get", in: "protocol=http\nhost=127.0.0.1:8080\n", out: "username=x-access-token\npassword=" + canary + "\n", audit: []string{"used T"}}}},
		{"other protocol", []store.Secret{token("T", canary, "https://git.example.com")},
			[]step{{op: "get", in: "protocol=smtp\nhost=git.example.com\n"}}},
		{"port normalised", []store.Secret{token("T", canary, "git.example.com:08443")},
			[]step{{op: "get", in: "protocol=https\nhost=git.example.com:8443\n", out: "username=x-access-token\npassword=" + canary + "\n", audit: []string{"used T"}}}},
		{"ipv6", []store.Secret{token("T", canary, "[::1]:8443")},
			[]step{{op: "get", in: "protocol=https\nhost=[::1]:8443\n", out: "username=x-access-token\npassword=" + canary + "\n", audit: []string{"used T"}}}},

		// Paths.
		{"path prefix", []store.Secret{token("GITHUB_TOKEN", canary, "github.com/org")},
			[]step{{op: "get", in: ghGet[:len(ghGet)-1] + "path=org/private.git\n", out: ghOut, audit: []string{"used GITHUB_TOKEN"}}}},
		{"path prefix on segments", []store.Secret{token("GITHUB_TOKEN", canary, "github.com/org")},
			[]step{{op: "get", in: ghGet[:len(ghGet)-1] + "path=organisation/private.git\n"}}},
		{"path repo covers .git", []store.Secret{token("GITHUB_TOKEN", canary, "https://github.com/org/repo")},
			[]step{{op: "get", in: ghGet[:len(ghGet)-1] + "path=org/repo.git\n", out: ghOut, audit: []string{"used GITHUB_TOKEN"}}}},
		{"dot-dot path", []store.Secret{token("GITHUB_TOKEN", canary, "github.com/org")},
			[]step{{op: "get", in: ghGet[:len(ghGet)-1] + "path=org/../other/private.git\n"}}},
		{"path-limited secret without path", []store.Secret{token("GITHUB_TOKEN", canary, "github.com/org")},
			[]step{{op: "get", in: ghGet, stderr: "useHttpPath"}}},
		{"most specific wins", []store.Secret{
			token("A_GITHUB_TOKEN", "other", "github.com"),
			token("B_ORG_TOKEN", canary, "github.com/org"),
		}, []step{
			{op: "get", in: ghGet[:len(ghGet)-1] + "path=org/x.git\n", out: ghOut, audit: []string{"used B_ORG_TOKEN"}},
			{op: "get", in: ghGet[:len(ghGet)-1] + "path=else/x.git\n", out: "username=x-access-token\npassword=other\n", audit: []string{"used A_GITHUB_TOKEN"}},
			{op: "get", in: ghGet, out: "username=x-access-token\npassword=other\n", audit: []string{"used A_GITHUB_TOKEN"}},
		}},
		{"port entries tie by name", []store.Secret{
			token("A_TOKEN", "other", "https://git.example.com:8443"),
			token("B_TOKEN", canary, "git.example.com:8443"),
			token("C_TOKEN", "third", "git.example.com"),
		}, []step{
			{op: "get", in: "protocol=https\nhost=git.example.com:8443\n", out: "username=x-access-token\npassword=other\n", audit: []string{"used A_TOKEN"}},
		}},
		{"key and file secrets never answer", []store.Secret{
			secret("DEPLOY_KEY", store.TypeKey, canary, "github.com"),
			secret("CONFIG_FILE", store.TypeFile, canary, "github.com"),
		}, []step{{op: "get", in: ghGet}}},

		// 19: unusable values.
		{"value with LF (19)", []store.Secret{token("GITHUB_TOKEN", canary+"\npassword=x", "github.com")},
			[]step{{op: "get", in: ghGet, err: ErrUnsafeValue, audit: []string{"used GITHUB_TOKEN"}}}},
		{"value with CR (19)", []store.Secret{token("GITHUB_TOKEN", canary+"\r", "github.com")},
			[]step{{op: "get", in: ghGet, err: ErrUnsafeValue, audit: []string{"used GITHUB_TOKEN"}}}},
		{"value with NUL (19)", []store.Secret{token("GITHUB_TOKEN", canary+"\x00", "github.com")},
			[]step{{op: "get", in: ghGet, err: ErrUnsafeValue, audit: []string{"used GITHUB_TOKEN"}}}},
		{"empty value", []store.Secret{token("GITHUB_TOKEN", "", "github.com")},
			[]step{{op: "get", in: ghGet, err: ErrUnsafeValue, audit: []string{"used GITHUB_TOKEN"}}}},
		{"username with LF (19)", []store.Secret{withUser(token("GITHUB_TOKEN", canary, "github.com"), "bob\nhost=evil")},
			[]step{{op: "get", in: ghGet, err: ErrUnsafeValue, audit: []string{"used GITHUB_TOKEN"}}}},

		// A value that cannot travel is refused after it was read: its
		// use is on record, as for every value that left the store.

		// Only a real expiry is sent; a rotation due date never is.
		{"rotation due date not sent", []store.Secret{withRotation(token("GITHUB_TOKEN", canary, "github.com"), due.Add(-90*24*time.Hour), 90*24*time.Hour)},
			[]step{{op: "get", in: ghGet, out: ghOut, audit: []string{"used GITHUB_TOKEN"}}}},
		{"overdue rotation not sent", []store.Secret{withRotation(token("GITHUB_TOKEN", canary, "github.com"), testNow.Add(-91*24*time.Hour), 90*24*time.Hour)},
			[]step{{op: "get", in: ghGet, out: ghOut, audit: []string{"used GITHUB_TOKEN"}}}},
		{"--expires sent", []store.Secret{withExpiry(token("GITHUB_TOKEN", canary, "github.com"), due)},
			[]step{{op: "get", in: ghGet, out: ghOut + "password_expiry_utc=" + strconv.FormatInt(due.Unix(), 10) + "\n", audit: []string{"used GITHUB_TOKEN"}}}},
		{"--expires past noted", []store.Secret{withExpiry(token("GITHUB_TOKEN", canary, "github.com"), testNow.Add(-24*time.Hour))},
			[]step{{op: "get", in: ghGet, out: ghOut + "password_expiry_utc=" + strconv.FormatInt(testNow.Add(-24*time.Hour).Unix(), 10) + "\n",
				stderr: "GITHUB_TOKEN expired at 2025-02-28 12:00 UTC (its --expires), so git 2.41 and newer will not use it; give it a new value with `wsx rotate GITHUB_TOKEN`, or if it still works, `wsx set GITHUB_TOKEN --expires never`",
				audit:  []string{"used GITHUB_TOKEN"}}}},

		// An empty password is sent as password=.
		{"empty password secret", []store.Secret{withUser(secret("SSO_PASSWORD", store.TypePassword, "", "sso.example.com"), "alice")},
			[]step{{op: "get", in: "protocol=https\nhost=sso.example.com\n", out: "username=alice\npassword=\n", audit: []string{"used SSO_PASSWORD"}}}},

		// A secret that misses only by its scheme is named, with the fix.
		{"scheme miss keeps other hosts", []store.Secret{token("LOCAL_TOKEN", canary, "git.example.com", "127.0.0.1:8088")},
			[]step{{op: "get", in: "protocol=http\nhost=127.0.0.1:8088\n",
				stderr: "LOCAL_TOKEN is for https://127.0.0.1:8088 only (a --host without a scheme means https), so it was not sent over http; to allow http, run `wsx set LOCAL_TOKEN --host git.example.com --host http://127.0.0.1:8088`"}}},
		{"scheme miss of an http entry", []store.Secret{token("LOCAL_TOKEN", canary, "http://bob@127.0.0.1:8088/org")},
			[]step{{op: "get", in: "protocol=https\nhost=127.0.0.1:8088\npath=org/r.git\n",
				stderr: "LOCAL_TOKEN is for http://bob@127.0.0.1:8088/org only, so it was not sent over https; to allow https, run `wsx set LOCAL_TOKEN --host https://bob@127.0.0.1:8088/org`"}}},
		{"no scheme note for another port", []store.Secret{token("LOCAL_TOKEN", canary, "127.0.0.1:8088")},
			[]step{{op: "get", in: "protocol=http\nhost=127.0.0.1:8089\n"}}},
		{"no scheme note for another user", []store.Secret{withUser(token("LOCAL_TOKEN", canary, "127.0.0.1:8088"), "bob")},
			[]step{{op: "get", in: "protocol=http\nhost=127.0.0.1:8088\nusername=alice\n"}}},
		{"no scheme note for other protocols", []store.Secret{token("LOCAL_TOKEN", canary, "127.0.0.1:8088")},
			[]step{{op: "get", in: "protocol=ftp\nhost=127.0.0.1:8088\n"}}},
		{"no scheme note when another secret answers", []store.Secret{
			token("A_TOKEN", canary, "127.0.0.1:8088"),
			token("B_TOKEN", "other", "http://127.0.0.1:8088"),
		}, []step{{op: "get", in: "protocol=http\nhost=127.0.0.1:8088\n", out: "username=x-access-token\npassword=other\n", audit: []string{"used B_TOKEN"}}}},

		// 18: unknown operation.
		{"unknown operation (18)", []store.Secret{token("GITHUB_TOKEN", canary, "github.com")},
			[]step{{op: "frobnicate", in: ghGet}, {op: "", in: ghGet}, {op: "GET", in: ghGet}}},
		{"capability", nil, []step{{op: "capability", out: "version 0\n"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sec := newFakeSecrets(fixedClock, tc.secrets...)
			aud := &fakeAuditor{}
			runSteps(t, sec, aud, false, tc.steps)
			if n := sec.writeCount(); n != 0 {
				t.Errorf("get wrote %d times", n)
			}
		})
	}
}

func TestGetAuditContext(t *testing.T) {
	sec := newFakeSecrets(fixedClock, token("GITHUB_TOKEN", canary, "github.com"))
	aud := &fakeAuditor{}
	_, _, err := runHelper(t, "get", ghGet[:len(ghGet)-1]+"path=org/private.git\n", sec, aud, false)
	if err != nil {
		t.Fatal(err)
	}
	rs := aud.records()
	if len(rs) != 1 {
		t.Fatalf("got %d records, want 1", len(rs))
	}
	want := audit.Context{Protocol: "https", Host: "github.com", Path: "org/private.git"}
	if !reflect.DeepEqual(rs[0].ctx, want) {
		t.Errorf("context = %+v, want %+v", rs[0].ctx, want)
	}
}

// TestFailClosed: if the use cannot be recorded, nothing is released.
func TestFailClosed(t *testing.T) {
	sec := newFakeSecrets(fixedClock, token("GITHUB_TOKEN", canary, "github.com"))
	aud := &fakeAuditor{fail: true}
	out, _, err := runHelper(t, "get", ghGet, sec, aud, false)
	if !errors.Is(err, errAuditDown) {
		t.Errorf("error = %v, want the audit failure", err)
	}
	if out != "" {
		t.Errorf("stdout has %d bytes, want none", len(out))
	}
}

// TestLocked covers SECURITY.md 22: nothing on stdout, nil error, one
// stderr line saying how to unlock.
func TestLocked(t *testing.T) {
	for _, op := range []string{"get", "store", "erase"} {
		in := ghGet[:len(ghGet)-1] + "username=alice\npassword=" + canary + "\n"
		t.Run(op+"/option", func(t *testing.T) {
			sec := newFakeSecrets(fixedClock, token("GITHUB_TOKEN", canary, "github.com"))
			runSteps(t, sec, &fakeAuditor{}, true, []step{{op: op, in: in, stderr: "start the agent with `eval \"$(wsx agent -s)\"`"}})
			if sec.writeCount() != 0 {
				t.Error("locked store written")
			}
		})
		t.Run(op+"/ErrLocked", func(t *testing.T) {
			sec := newFakeSecrets(fixedClock, token("GITHUB_TOKEN", canary, "github.com"))
			sec.locked = true
			runSteps(t, sec, &fakeAuditor{}, false, []step{{op: op, in: in, stderr: "WSX_PASSPHRASE_FILE"}})
		})
	}
}

func TestStoreError(t *testing.T) {
	sec := newFakeSecrets(fixedClock)
	sec.listErr = store.ErrIntegrity
	_, _, err := runHelper(t, "get", ghGet, sec, &fakeAuditor{}, false)
	if !errors.Is(err, store.ErrIntegrity) {
		t.Errorf("error = %v, want ErrIntegrity", err)
	}
}

const (
	exStore = "protocol=https\nhost=git.example.com\nusername=alice\npassword=" + canary + "\n"
	exGet   = "protocol=https\nhost=git.example.com\n"
	exOut   = "username=alice\npassword=" + canary + "\n"
)

func TestStoreAndErase(t *testing.T) {
	future := testNow.Add(time.Hour).Unix()
	past := testNow.Add(-time.Second).Unix()
	exp := func(s int64) string { return "password_expiry_utc=" + strconv.FormatInt(s, 10) + "\n" }
	tests := []struct {
		name    string
		secrets []store.Secret
		steps   []step
		writes  int // total store writes expected
		kept    []string
	}{
		{"store then get", nil, []step{
			{op: "store", in: exStore, audit: []string{"created " + storedName("git.example.com", "", "alice")}},
			{op: "get", in: exGet, out: exOut, audit: []string{"used " + storedName("git.example.com", "", "alice")}},
			{op: "get", in: exGet + "username=alice\n", out: exOut, audit: []string{"used " + storedName("git.example.com", "", "alice")}},
			{op: "get", in: exGet + "username=bob\n"},
			{op: "get", in: "protocol=http\nhost=git.example.com\n"},
			{op: "get", in: "protocol=https\nhost=git.example.com:8443\n"},
		}, 1, nil},
		{"store twice is one write (20)", nil, []step{
			{op: "store", in: exStore, audit: []string{"created " + storedName("git.example.com", "", "alice")}},
			{op: "get", in: exGet, out: exOut, audit: []string{"used " + storedName("git.example.com", "", "alice")}},
			{op: "store", in: exStore},
		}, 1, nil},
		{"store overwrites", nil, []step{
			{op: "store", in: exGet + "username=alice\npassword=old-one\n", audit: []string{"created " + storedName("git.example.com", "", "alice")}},
			{op: "store", in: exStore, audit: []string{"updated " + storedName("git.example.com", "", "alice")}},
			{op: "get", in: exGet, out: exOut, audit: []string{"used " + storedName("git.example.com", "", "alice")}},
		}, 2, nil},
		{"stored paths match as git's store helper", nil, []step{
			{op: "store", in: exStore + "path=org/a.git\n", audit: []string{"created " + storedName("git.example.com", "org/a.git", "alice")}},
			{op: "get", in: exGet + "path=org/a.git\n", out: exOut, audit: []string{"used " + storedName("git.example.com", "org/a.git", "alice")}},
			{op: "get", in: exGet + "path=org/b.git\n"},
			{op: "get", in: exGet + "path=org\n"},
			{op: "get", in: exGet, out: exOut, audit: []string{"used " + storedName("git.example.com", "org/a.git", "alice")}},
		}, 1, nil},
		{"store without password (20)", nil, []step{{op: "store", in: exGet + "username=alice\n"}}, 0, nil},
		{"store without user name", nil, []step{{op: "store", in: exGet + "password=" + canary + "\n"}}, 0, nil},
		{"store ephemeral (20)", nil, []step{{op: "store", in: exStore + "ephemeral=1\n"}}, 0, nil},
		{"store ephemeral=true (20)", nil, []step{{op: "store", in: "capability[]=authtype\n" + exStore + "ephemeral=true\n"}}, 0, nil},
		{"store expired (20)", nil, []step{{op: "store", in: exStore + exp(past)}}, 0, nil},
		{"store expiring later", nil, []step{
			{op: "store", in: exStore + exp(future), audit: []string{"created " + storedName("git.example.com", "", "alice")}},
			{op: "get", in: exGet, out: exOut + exp(future), audit: []string{"used " + storedName("git.example.com", "", "alice")}},
			{op: "store", in: exStore + exp(future)},
		}, 1, nil},
		{"store without host (15)", nil, []step{{op: "store", in: "protocol=https\nusername=alice\npassword=" + canary + "\n"}}, 0, nil},
		{"store malformed (13)", nil, []step{{op: "store", in: exStore + "host=evil.test\n", err: ErrMalformed}}, 0, nil},
		{"store what the named secret holds (20)", []store.Secret{token("GITHUB_TOKEN", canary, "github.com")}, []step{
			{op: "get", in: ghGet, out: ghOut, audit: []string{"used GITHUB_TOKEN"}},
			{op: "store", in: ghGet[:len(ghGet)-1] + "username=x-access-token\npassword=" + canary + "\n"},
		}, 0, []string{"GITHUB_TOKEN"}},
		{"store other value where a named secret answers", []store.Secret{token("GITHUB_TOKEN", "old-token", "github.com")}, []step{
			{op: "store", in: ghGet[:len(ghGet)-1] + "username=alice\npassword=" + canary + "\n", stderr: "wsx rotate GITHUB_TOKEN"},
		}, 0, []string{"GITHUB_TOKEN"}},
		{"store for another user of a user-bound secret", []store.Secret{withUser(token("GITHUB_TOKEN", "bobs-token", "github.com"), "bob")}, []step{
			{op: "store", in: ghGet[:len(ghGet)-1] + "username=alice\npassword=" + canary + "\n", audit: []string{"created " + storedName("github.com", "", "alice")}},
			{op: "get", in: ghGet[:len(ghGet)-1] + "username=alice\n", out: "username=alice\npassword=" + canary + "\n", audit: []string{"used " + storedName("github.com", "", "alice")}},
			{op: "get", in: ghGet, out: "username=bob\npassword=bobs-token\n", audit: []string{"used GITHUB_TOKEN"}},
		}, 1, nil},

		// erase of stored credentials, as git's store helper.
		{"erase with other password keeps ours (21)", nil, []step{
			{op: "store", in: exStore, audit: []string{"created " + storedName("git.example.com", "", "alice")}},
			{op: "erase", in: exGet + "username=alice\npassword=something-else\n"},
			{op: "get", in: exGet, out: exOut, audit: []string{"used " + storedName("git.example.com", "", "alice")}},
		}, 1, []string{storedName("git.example.com", "", "alice")}},
		{"erase with our password", nil, []step{
			{op: "store", in: exStore, audit: []string{"created " + storedName("git.example.com", "", "alice")}},
			{op: "erase", in: exStore, audit: []string{"deleted " + storedName("git.example.com", "", "alice")}},
			{op: "get", in: exGet},
		}, 2, nil},
		{"erase without password", nil, []step{
			{op: "store", in: exStore, audit: []string{"created " + storedName("git.example.com", "", "alice")}},
			{op: "erase", in: exGet + "username=alice\n", audit: []string{"deleted " + storedName("git.example.com", "", "alice")}},
		}, 2, nil},
		{"erase other user keeps ours", nil, []step{
			{op: "store", in: exStore, audit: []string{"created " + storedName("git.example.com", "", "alice")}},
			{op: "erase", in: exGet + "username=bob\n"},
		}, 1, []string{storedName("git.example.com", "", "alice")}},
		{"erase without host erases nothing (15)", nil, []step{
			{op: "store", in: exStore, audit: []string{"created " + storedName("git.example.com", "", "alice")}},
			{op: "erase", in: "protocol=https\nusername=alice\n"},
			{op: "erase", in: ""},
		}, 1, []string{storedName("git.example.com", "", "alice")}},

		// erase never deletes a named secret.
		{"erase named secret is denied, kept", []store.Secret{token("GITHUB_TOKEN", canary, "github.com")}, []step{
			{op: "erase", in: ghGet[:len(ghGet)-1] + "username=x-access-token\npassword=" + canary + "\n",
				stderr: "github.com rejected GITHUB_TOKEN; it was kept: rotate it with `wsx rotate GITHUB_TOKEN`", audit: []string{"denied GITHUB_TOKEN"}},
			{op: "get", in: ghGet, out: ghOut, audit: []string{"used GITHUB_TOKEN"}},
		}, 0, []string{"GITHUB_TOKEN"}},
		{"erase with another password says nothing", []store.Secret{token("GITHUB_TOKEN", canary, "github.com")}, []step{
			{op: "erase", in: ghGet[:len(ghGet)-1] + "username=x-access-token\npassword=typed-by-hand\n"},
		}, 0, []string{"GITHUB_TOKEN"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sec := newFakeSecrets(fixedClock, tc.secrets...)
			aud := &fakeAuditor{}
			runSteps(t, sec, aud, false, tc.steps)
			if n := sec.writeCount(); n != tc.writes {
				t.Errorf("store written %d times, want %d", n, tc.writes)
			}
			for _, name := range tc.kept {
				if !sec.has(name) {
					t.Errorf("%s was removed", name)
				}
			}
		})
	}
}

func storedName(host, path, user string) string {
	return storedKey{protocol: "https", host: host, path: path, username: user}.name()
}

func TestDeniedDetail(t *testing.T) {
	sec := newFakeSecrets(fixedClock, token("GITHUB_TOKEN", canary, "github.com"))
	aud := &fakeAuditor{}
	if _, _, err := runHelper(t, "erase", ghGet[:len(ghGet)-1]+"password="+canary+"\n", sec, aud, false); err != nil {
		t.Fatal(err)
	}
	rs := aud.records()
	if len(rs) != 1 || rs[0].detail != "github.com rejected GITHUB_TOKEN" || rs[0].ctx.Host != "github.com" {
		t.Errorf("records = %+v", rs)
	}
}

// TestEscapedOutput covers SECURITY.md 24: control characters from a
// request never reach stderr or an error raw.
func TestEscapedOutput(t *testing.T) {
	raw := func(s string) bool { return strings.ContainsAny(s, "\x1b\x07\r") }
	for _, in := range []string{
		"protocol=https\nhost=git\x1b[31m.example.com\x07\n",
		"url=https://git%1b%5b31m.example.com/x\n",
		"url=https://git.example.com%0d/x\n",
		"url=https://al%1bice@git.example.com/x\n",
		"protocol=https\x1b\nhost=github.com\n",
	} {
		for _, op := range []string{"get", "store", "erase"} {
			sec := newFakeSecrets(fixedClock, token("GITHUB_TOKEN", canary, "github.com"))
			out, errOut, err := runHelper(t, op, in+"password="+canary+"\n", sec, &fakeAuditor{}, false)
			if out != "" {
				t.Errorf("%s %q: stdout not empty", op, in)
			}
			if raw(errOut) || (err != nil && raw(err.Error())) {
				t.Errorf("%s %q: raw control character in stderr %q or error %v", op, in, errOut, err)
			}
		}
	}
	// A user name with control characters is accepted, and shown quoted.
	for in, want := range map[string]string{
		"a\x1b[2Jb":   `"a\x1b[2Jb"`,
		"bell\a":      `"bell\a"`,
		"cr\r":        `"cr\r"`,
		"plain.host":  "plain.host",
		"rtl\u202eok": `"rtl\u202eok"`,
	} {
		if got := display(in); got != want {
			t.Errorf("display(%q) = %s, want %s", in, got, want)
		}
	}
}

// TestParallel covers SECURITY.md 23: 32 helpers at once (git fetch
// --jobs) storing and getting against one store. The store's own locking is
// tested with the store; here every update must land and every get must
// answer with its own user's credential.
func TestParallel(t *testing.T) {
	sec := newFakeSecrets(fixedClock, token("GITHUB_TOKEN", canary, "github.com"))
	aud := &fakeAuditor{}
	sec.aud = aud
	const n = 32
	var wg sync.WaitGroup
	errs := make(chan error, 4*n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			user := fmt.Sprintf("user%d", i%16)
			pass := fmt.Sprintf("pass-%d", i%16)
			in := exGet + "username=" + user + "\npassword=" + pass + "\n"
			var out, errOut bytes.Buffer
			opts := Options{Stdin: strings.NewReader(in), Stdout: &out, Stderr: &errOut, Secrets: sec, Now: fixedClock}
			if err := Run(context.Background(), "store", opts); err != nil {
				errs <- fmt.Errorf("store %s: %w", user, err)
				return
			}
			opts.Stdin = strings.NewReader(exGet + "username=" + user + "\n")
			if err := Run(context.Background(), "get", opts); err != nil {
				errs <- fmt.Errorf("get %s: %w", user, err)
				return
			}
			if want := "username=" + user + "\npassword=" + pass + "\n"; out.String() != want {
				errs <- fmt.Errorf("get %s answered %q", user, out.String())
			}
			out.Reset()
			opts.Stdin = strings.NewReader(ghGet)
			if err := Run(context.Background(), "get", opts); err != nil {
				errs <- fmt.Errorf("get github: %w", err)
				return
			}
			if out.String() != ghOut {
				errs <- fmt.Errorf("get github answered %d bytes", out.Len())
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	got := sec.stored()
	if len(got) != 16 {
		t.Fatalf("%d stored credentials, want 16", len(got))
	}
	for _, s := range got {
		var i int
		if _, err := fmt.Sscanf(s.Username, "user%d", &i); err != nil {
			t.Fatalf("stored user name %q", s.Username)
		}
		if want := store.NewValue([]byte(fmt.Sprintf("pass-%d", i))); !s.Value.Equal(want) {
			t.Errorf("%s holds another user's password", s.Name)
		}
	}
	if n := sec.writeCount(); n != 16 {
		t.Errorf("%d writes, want 16 (equal stores are not rewritten)", n)
	}
}

// TestGetSkipsExpiredUnread: a stored credential past its expiry is
// passed over on its metadata; its value is never read.
func TestGetSkipsExpiredUnread(t *testing.T) {
	stored := func(user, value string, created, expires time.Time) store.Secret {
		k := storedKey{protocol: "https", host: "git.example.com", username: user}
		s := withExpiry(withUser(secret(k.name(), store.TypePassword, value, k.url()), user), expires)
		s.Created, s.Updated = created, created
		return s
	}
	old := stored("bob", "bobs-expired-password", testNow.Add(-2*time.Hour), testNow.Add(-time.Hour)) // newer, expired
	cur := stored("alice", canary, testNow.Add(-3*time.Hour), time.Time{})
	sec := newFakeSecrets(fixedClock, old, cur)
	aud := &fakeAuditor{}
	out, _, err := runHelper(t, "get", exGet, sec, aud, false)
	if err != nil {
		t.Fatal(err)
	}
	if out != exOut {
		t.Errorf("get answered %d bytes, want alice's credential", len(out))
	}
	if n := sec.gets[old.Name]; n != 0 {
		t.Errorf("the expired credential's value was read %d times", n)
	}
	if n := sec.gets[cur.Name]; n != 1 {
		t.Errorf("the answering credential was read %d times, want 1", n)
	}
}
