package audit

import (
	"testing"
	"time"
)

func TestRecordString(t *testing.T) {
	at := time.Date(2024, 6, 12, 14, 31, 1, 0, time.UTC)
	rec := func(ev Event, name string, c *Context, detail string) Record {
		return Record{Time: at, Event: ev, Secret: name, Context: c, Detail: detail, Via: ViaExec, Result: ResultOK}
	}
	for _, tc := range []struct {
		name string
		r    Record
		want string
	}{
		{"seed example", rec(EventUsed, "GITHUB_TOKEN", &Context{File: "app.js", Line: 12, Command: "node app.js"}, ""),
			"2024-06-12 14:31:01 - Secret used: GITHUB_TOKEN (app.js:12)"},
		{"file without line", rec(EventUsed, "T", &Context{File: "deploy.sh", Command: "sh deploy.sh"}, ""),
			"2024-06-12 14:31:01 - Secret used: T (deploy.sh)"},
		{"command", rec(EventUsed, "T", &Context{Command: "git clone https://h/o/r.git", Host: "h"}, ""),
			"2024-06-12 14:31:01 - Secret used: T (git clone https://h/o/r.git)"},
		{"host", rec(EventAccessed, "T", &Context{Host: "github.com", Dest: "x"}, ""),
			"2024-06-12 14:31:01 - Secret accessed: T (github.com)"},
		{"dest", rec(EventUsed, "DEPLOY_KEY", &Context{Dest: "deploy@server"}, ""),
			"2024-06-12 14:31:01 - Secret used: DEPLOY_KEY (deploy@server)"},
		{"empty context", rec(EventUsed, "T", &Context{Repo: "/src"}, ""),
			"2024-06-12 14:31:01 - Secret used: T"},
		{"no context", rec(EventUsed, "T", nil, "ignored"),
			"2024-06-12 14:31:01 - Secret used: T"},
		{"created", rec(EventCreated, "T", nil, ""), "2024-06-12 14:31:01 - Secret created: T"},
		{"guest", func() Record {
			r := rec(EventUsed, "GITHUB_TOKEN", &Context{File: "deploy.sh", Line: 3}, "")
			r.Actor = Actor{UID: 1001, User: "alice", Role: "edit"}
			return r
		}(), "2024-06-12 14:31:01 - Secret used: GITHUB_TOKEN (alice: deploy.sh:3)"},
		{"guest without name or context", func() Record {
			r := rec(EventUsed, "K", nil, "")
			r.Actor = Actor{UID: 1001, Role: "edit"}
			return r
		}(), "2024-06-12 14:31:01 - Secret used: K (uid 1001)"},
		{"granted", rec(EventGranted, "", nil, "alice edit"), "2024-06-12 14:31:01 - Access granted: alice edit"},
		{"granted by an admin guest", func() Record {
			r := rec(EventGranted, "", nil, "bob view")
			r.Actor = Actor{UID: 1001, User: "alice", Role: "admin"}
			return r
		}(), "2024-06-12 14:31:01 - Access granted: bob view (alice)"},
		{"revoked", rec(EventRevoked, "", nil, "@dev\x1b view"), "2024-06-12 14:31:01 - Access revoked: @dev\\x1b view"},
		{"updated", rec(EventUpdated, "T", nil, ""), "2024-06-12 14:31:01 - Secret updated: T"},
		{"rotated", rec(EventRotated, "T", nil, ""), "2024-06-12 14:31:01 - Secret rotated: T"},
		{"deleted", rec(EventDeleted, "T", nil, ""), "2024-06-12 14:31:01 - Secret deleted: T"},
		{"denied with detail", rec(EventDenied, "T", nil, "role view"),
			"2024-06-12 14:31:01 - Secret denied: T (role view)"},
		{"denied with context", rec(EventDenied, "T", &Context{Host: "h"}, "role view"),
			"2024-06-12 14:31:01 - Secret denied: T (h)"},
		{"denied, no secret", rec(EventDenied, "", nil, "uid 1001 refused"),
			"2024-06-12 14:31:01 - Secret denied (uid 1001 refused)"},
		{"accessed at a line", rec(EventAccessed, "DATABASE_URL", &Context{File: "lib/db.js", Line: 7, Command: "node app.js"}, ""),
			"2024-06-12 14:31:01 - Secret accessed: DATABASE_URL (lib/db.js:7)"},
		{"accessed unavailable", Record{Time: at, Event: EventAccessed, Secret: "T", Via: ViaExec, Result: ResultError,
			Context: &Context{Command: "python3 -E app.py"}, Detail: "unavailable: the python hook did not load"},
			"2024-06-12 14:31:01 - Secret accessed: T (unavailable: the python hook did not load)"},
		{"locked", rec(EventLocked, "IGNORED", nil, "idle"), "2024-06-12 14:31:01 - Store locked"},
		{"unlocked", rec(EventUnlocked, "", nil, ""), "2024-06-12 14:31:01 - Store unlocked"},
		{"unknown event", rec("exploded", "T", nil, ""), "2024-06-12 14:31:01 - Event exploded: T"},
		{"escapes", rec(EventUsed, "T", &Context{File: "a\x1b[31m\u202e\xff.js", Line: 3}, ""),
			`2024-06-12 14:31:01 - Secret used: T (a\x1b[31m\u202e\xff.js:3)`},
		{"keeps printable unicode", rec(EventUsed, "T", &Context{File: "répertoire/日本.js"}, ""),
			"2024-06-12 14:31:01 - Secret used: T (répertoire/日本.js)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.r.String(); got != tc.want {
				t.Errorf("String() = %q\n            want %q", got, tc.want)
			}
		})
	}
}

func TestRecordStringLocation(t *testing.T) {
	r := Record{Time: time.Date(2024, 6, 12, 14, 31, 1, 0, time.UTC), Event: EventUnlocked}
	r.Time = r.Time.In(time.FixedZone("CEST", 2*3600))
	if got, want := r.String(), "2024-06-12 16:31:01 - Store unlocked"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestFilterMatch(t *testing.T) {
	at := time.Date(2024, 6, 12, 14, 31, 1, 0, time.UTC)
	r := Record{Time: at, Secret: "GITHUB_TOKEN"}
	for _, tc := range []struct {
		name string
		f    Filter
		want bool
	}{
		{"zero", Filter{}, true},
		{"same secret", Filter{Secret: "GITHUB_TOKEN"}, true},
		{"other secret", Filter{Secret: "NPM_TOKEN"}, false},
		{"secret differs in case", Filter{Secret: "github_token"}, false},
		{"since before", Filter{Since: at.Add(-time.Second)}, true},
		{"since equal", Filter{Since: at}, true},
		{"since after", Filter{Since: at.Add(time.Nanosecond)}, false},
		{"since other zone", Filter{Since: at.In(time.FixedZone("X", -5*3600))}, true},
		{"both", Filter{Secret: "GITHUB_TOKEN", Since: at.Add(-time.Hour)}, true},
		{"both, late", Filter{Secret: "GITHUB_TOKEN", Since: at.Add(time.Hour)}, false},
	} {
		if got := tc.f.Match(r); got != tc.want {
			t.Errorf("%s: Match = %v, want %v", tc.name, got, tc.want)
		}
	}
}
