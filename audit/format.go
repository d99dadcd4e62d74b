package audit

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// TimeLayout is the layout of the time in a record's human line.
const TimeLayout = "2006-01-02 15:04:05"

var verbs = sync.OnceValue(func() map[Event]string {
	return map[Event]string{
		EventPassphrase: "Store passphrase changed",
		EventGranted:    "Access granted",
		EventRevoked:    "Access revoked",

		EventCreated:  "Secret created",
		EventUpdated:  "Secret updated",
		EventRotated:  "Secret rotated",
		EventDeleted:  "Secret deleted",
		EventUsed:     "Secret used",
		EventAccessed: "Secret accessed",
		EventDenied:   "Secret denied",
		EventLocked:   "Store locked",
		EventUnlocked: "Store unlocked",
		EventLeaked:   "Secret leaked",
		EventFetched:  "Secret fetched",
	}
})

// String returns the record's human line, in the location of r.Time
// (callers convert to local time first):
//
//	2024-06-12 14:31:01 - Secret used: GITHUB_TOKEN (app.js:12)
//
// The verb comes from the event ("Secret created", ..., "Store locked" and
// "Store unlocked", which name no secret). The part in parentheses is the
// first of: Context.File with ":line" when Line is set, Context.Command,
// Context.Host, Context.Dest. A denied record with none of those shows its
// Detail there instead, as does an accessed record whose result is an
// error (the hooks were unavailable); a fetched record always shows its
// Detail (`Secret fetched: DATABASE_URL (vault secret/app v3)`). A guest's
// record (Actor.Role set) names the guest first: `(alice: deploy.sh:3)`.
// Granted and revoked records show their Detail: `Access granted: alice
// edit`. Nothing else is shown. Control characters, invalid
// UTF-8 and other unprintable runes from the record are escaped, so a
// crafted file name cannot drive the terminal.
func (r Record) String() string {
	var b strings.Builder
	b.WriteString(r.Time.Format(TimeLayout))
	b.WriteString(" - ")
	verb, ok := verbs()[r.Event]
	if !ok {
		verb = "Event " + escape(string(r.Event))
	}
	b.WriteString(verb)
	if r.Event != EventLocked && r.Event != EventUnlocked && r.Event != EventPassphrase && r.Secret != "" {
		b.WriteString(": ")
		b.WriteString(escape(r.Secret))
	}
	if r.Event == EventGranted || r.Event == EventRevoked {
		b.WriteString(": ")
		b.WriteString(escape(r.Detail))
		if r.Actor.Role != "" {
			b.WriteString(" (" + escape(r.Actor.who()) + ")") // an admin guest's
		}
		return b.String()
	}
	ctx := r.contextText()
	switch {
	case ctx == "" && r.Event == EventDenied:
		ctx = r.Detail
	case r.Event == EventAccessed && r.Result == ResultError && r.Detail != "":
		ctx = r.Detail // where it was read is not known
	case r.Event == EventFetched && r.Detail != "":
		ctx = r.Detail // the source and version, or why the fetch failed
	}
	if r.Actor.Role != "" {
		// A guest's use: the user first, `(alice: deploy.sh:3)`.
		who := r.Actor.who()
		if ctx != "" {
			ctx = who + ": " + ctx
		} else {
			ctx = who
		}
	}
	if ctx != "" {
		b.WriteString(" (")
		b.WriteString(escape(ctx))
		b.WriteString(")")
	}
	return b.String()
}

func (r Record) contextText() string {
	c := r.Context
	if c == nil {
		return ""
	}
	switch {
	case c.File != "" && c.Line > 0:
		return c.File + ":" + strconv.Itoa(c.Line)
	case c.File != "":
		return c.File
	case c.Command != "":
		return c.Command
	case c.Host != "":
		return c.Host
	default:
		return c.Dest
	}
}

// who names the actor: its user name, else its uid.
func (a Actor) who() string {
	if a.User != "" {
		return a.User
	}
	return "uid " + strconv.Itoa(a.UID)
}

// escape replaces unprintable runes and invalid UTF-8 with Go escapes.
func escape(s string) string {
	clean := true
	for _, c := range s {
		if c == utf8.RuneError || (!unicode.IsPrint(c) && c != ' ') {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		c, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case c == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case c == ' ' || unicode.IsPrint(c):
			b.WriteString(s[i : i+size])
		case c < 0x80:
			fmt.Fprintf(&b, `\x%02x`, c)
		default:
			fmt.Fprintf(&b, `\u%04x`, c)
		}
		i += size
	}
	return b.String()
}

// Filter selects records, as `wsx audit --secret N --since D` does. Zero
// fields select everything.
type Filter struct {
	Secret string    // exact secret name
	Since  time.Time // records at or after this instant
}

// Match reports whether r passes the filter.
func (f Filter) Match(r Record) bool {
	if f.Secret != "" && r.Secret != f.Secret {
		return false
	}
	if !f.Since.IsZero() && r.Time.Before(f.Since) {
		return false
	}
	return true
}
