package daemon

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/wsxdev/wsx/sshagent"
	"github.com/wsxdev/wsx/store"
)

// fullMeta has every field of store.Meta, PreviousMeta and SSHKey set, in
// a zone other than UTC.
func fullMeta() store.Meta {
	at := time.Date(2026, 3, 4, 5, 6, 7, 890123456, time.FixedZone("", 5*3600+30*60))
	key := func(bits int) *store.SSHKey {
		return &store.SSHKey{Algorithm: "ssh-rsa", Fingerprint: "SHA256:abc", PublicKey: "ssh-rsa AAAA", Bits: bits}
	}
	return store.Meta{
		Name: "DEPLOY_KEY", Type: store.TypeKey, Description: "deploy – ключ\ttab",
		Hosts: []string{"github.com", "*.example.test"}, Username: "git",
		Created: at, Updated: at.Add(time.Hour), Rotated: at.Add(2 * time.Hour).UTC(),
		RotateEvery: 90 * 24 * time.Hour, Expires: at.Add(-time.Minute), Version: 1 << 40,
		SSH: key(3072),
		Previous: &store.PreviousMeta{Version: 7, Type: store.TypePassword, Rotated: at.Add(time.Second),
			Expires: at.Add(time.Minute), SSH: key(2048)},
	}
}

// Every field of the metadata is carried: a field added to store.Meta
// must be added to the compact form (metawire.go) and to fullMeta.
func TestMetasCarryEveryField(t *testing.T) {
	m := fullMeta()
	for _, v := range []reflect.Value{reflect.ValueOf(m), reflect.ValueOf(*m.SSH), reflect.ValueOf(*m.Previous)} {
		for i := range v.NumField() {
			if v.Field(i).IsZero() {
				t.Errorf("%s.%s is not set in fullMeta: add it there and to the compact form of a list", v.Type().Name(), v.Type().Field(i).Name)
			}
		}
	}
	in := listResponse{
		Secrets:       []store.Meta{m, {Name: "API_TOKEN", Type: store.TypeToken}, m},
		Error:         &wireError{Kind: "integrity", Message: "secret BRAVO_TOKEN: damaged"},
		Damaged:       []string{"BRAVO_TOKEN"},
		DamagedErrors: []*wireError{{Kind: "integrity", Message: "damaged"}},
	}
	b, err := appendList(nil, in)
	if err != nil {
		t.Fatal(err)
	}
	var out listResponse
	if err := out.readCompact(b); err != nil {
		t.Fatal(err)
	}
	if len(out.Secrets) != 3 {
		t.Fatalf("%d secrets back, want 3", len(out.Secrets))
	}
	for i, got := range out.Secrets {
		want := in.Secrets[i]
		// Times compare as instants; their zone offset must survive too.
		if !sameMeta(got, want) {
			t.Errorf("secret %d:\n got %+v\nwant %+v", i, got, want)
		}
	}
	if out.Secrets[1].Hosts != nil || out.Secrets[1].SSH != nil || out.Secrets[1].Previous != nil || !out.Secrets[1].Created.IsZero() {
		t.Errorf("the empty fields of a bare secret came back set: %+v", out.Secrets[1])
	}
	if !reflect.DeepEqual(out.Error, in.Error) || !reflect.DeepEqual(out.Damaged, in.Damaged) || !reflect.DeepEqual(out.DamagedErrors, in.DamagedErrors) {
		t.Errorf("the errors came back as %+v %v %+v", out.Error, out.Damaged, out.DamagedErrors)
	}
}

// sameMeta compares a and b field by field, times as instants with their
// zone offset.
func sameMeta(a, b store.Meta) bool {
	norm := func(m store.Meta) string {
		ts := func(t time.Time) string {
			if t.IsZero() {
				return "zero"
			}
			_, off := t.Zone()
			return fmt.Sprintf("%d/%d", t.UnixNano(), off)
		}
		times := ts(m.Created) + " " + ts(m.Updated) + " " + ts(m.Rotated) + " " + ts(m.Expires)
		m.Created, m.Updated, m.Rotated, m.Expires = time.Time{}, time.Time{}, time.Time{}, time.Time{}
		ssh, prev := m.SSH, m.Previous
		m.SSH, m.Previous = nil, nil
		s := fmt.Sprintf("%#v %s", m, times)
		if ssh != nil {
			s += fmt.Sprintf(" ssh %#v", *ssh)
		}
		if prev != nil {
			q := *prev
			pssh := q.SSH
			s += " prev " + ts(q.Rotated) + " " + ts(q.Expires)
			q.Rotated, q.Expires, q.SSH = time.Time{}, time.Time{}, nil
			s += fmt.Sprintf(" %#v", q)
			if pssh != nil {
				s += fmt.Sprintf(" %#v", *pssh)
			}
		}
		return s
	}
	return norm(a) == norm(b)
}

// A cut or damaged answer is an error, never a panic or a short list.
func TestMetasDamagedAnswer(t *testing.T) {
	b, err := appendList(nil, listResponse{Secrets: []store.Meta{fullMeta(), fullMeta()}})
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(b) {
		var l listResponse
		if err := l.readCompact(b[:n]); !errors.Is(err, errCompact) || l.Secrets != nil {
			t.Fatalf("cut at %d of %d: %v (%d secrets)", n, len(b), err, len(l.Secrets))
		}
	}
	var l listResponse
	if err := l.readCompact(append(b, 0)); !errors.Is(err, errCompact) {
		t.Errorf("a byte after the list: %v", err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		c := append([]byte(nil), b...)
		for range 1 + r.IntN(4) {
			c[r.IntN(len(c))] = byte(r.Uint32())
		}
		var l listResponse
		_ = l.readCompact(c) // must not panic
	}
	// A count larger than the answer allocates nothing.
	huge := append(appendString(nil, "{}"), 0xff, 0xff, 0xff, 0xff, 0x0f)
	if err := l.readCompact(huge); !errors.Is(err, errCompact) {
		t.Errorf("a count of 2^32 secrets in 7 bytes: %v", err)
	}
}

// The daemon answers the compact form only to a client that asks for it.
func TestListCompactOnlyWhenAsked(t *testing.T) {
	st := newTestStore(t)
	d, c := startDaemon(t, st, nil)
	m := fullMeta()
	if _, err := st.Add(store.Secret{Meta: store.Meta{Name: "API_TOKEN", Type: store.TypeToken, Description: m.Description, Hosts: m.Hosts, Username: "u"},
		Value: store.NewValue([]byte("tok-value-0123456789"))}); err != nil {
		t.Fatal(err)
	}
	want, err := st.List()
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.List()
	if err != nil || len(got) != 1 || !sameMeta(got[0], want[0]) {
		t.Fatalf("List through the agent = %+v, %v; want %+v", got, err, want)
	}
	for accept, ctype := range map[string]string{"": "application/json", metasType: metasType, "application/json": "application/json"} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/v1/secrets", nil)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		if err := d.handleList(rec, req, sshagent.Peer{UID: os.Geteuid(), PID: os.Getpid()}); err != nil {
			t.Fatal(err)
		}
		if got := rec.Header().Get("Content-Type"); got != ctype {
			t.Errorf("Accept %q: answered %q, want %q", accept, got, ctype)
		}
	}
}
