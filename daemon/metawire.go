package daemon

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/wsxdev/wsx/store"
)

// metasType is the media type of the compact form of a list answer, which
// a client asks for with Accept and a daemon that knows it answers with:
// the listResponse without its secrets as JSON, then the secrets in a
// binary form that takes no reflection to read. Decoding 10 000 secrets of
// JSON took most of the time `wsx list` spent; this takes a few ms. A
// daemon that does not know it answers JSON, which the client still reads.
//
// The form, with every length and count an unsigned varint:
//
//	len, header JSON (listResponse, secrets left out)
//	count, count times a meta
//
// and a meta its fields in the order of store.Meta: strings as len,
// bytes; hosts as count, strings; times as len, time.MarshalBinary (len 0:
// the zero time); RotateEvery as a signed varint; Version as varint; SSH
// and Previous as 0 (nil) or 1 and their fields in order.
const metasType = "application/vnd.wsx.metas.v1"

// compactAnswer is an answer the client may ask for in the compact form.
type compactAnswer interface {
	readCompact(body []byte) error
}

// writeMetas answers a list request in the compact form.
func writeMetas(w http.ResponseWriter, resp listResponse) error {
	b, err := appendList(nil, resp)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", metasType)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	_, err = w.Write(b)
	return err
}

// appendList appends resp in the compact form to b.
func appendList(b []byte, resp listResponse) ([]byte, error) {
	head := resp
	head.Secrets = nil
	hj, err := json.Marshal(head)
	if err != nil {
		return nil, err
	}
	// About 60 bytes a secret with no description or hosts.
	b = slices.Grow(b, len(hj)+16+len(resp.Secrets)*96)
	b = appendBytes(b, hj)
	b = binary.AppendUvarint(b, uint64(len(resp.Secrets)))
	for i := range resp.Secrets {
		b = appendMeta(b, &resp.Secrets[i])
	}
	return b, nil
}

func appendBytes(b, s []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, 0)
	}
	tb, err := t.MarshalBinary()
	if err != nil { // an offset that is not whole minutes: keep the instant
		tb, _ = t.UTC().MarshalBinary()
	}
	return appendBytes(b, tb)
}

func appendSSH(b []byte, k *store.SSHKey) []byte {
	if k == nil {
		return append(b, 0)
	}
	b = append(b, 1)
	b = appendString(b, k.Algorithm)
	b = appendString(b, k.Fingerprint)
	b = appendString(b, k.PublicKey)
	return binary.AppendVarint(b, int64(k.Bits))
}

func appendMeta(b []byte, m *store.Meta) []byte {
	b = appendString(b, m.Name)
	b = appendString(b, string(m.Type))
	b = appendString(b, m.Description)
	b = binary.AppendUvarint(b, uint64(len(m.Hosts)))
	for _, h := range m.Hosts {
		b = appendString(b, h)
	}
	b = appendString(b, m.Username)
	b = appendTime(b, m.Created)
	b = appendTime(b, m.Updated)
	b = appendTime(b, m.Rotated)
	b = binary.AppendVarint(b, int64(m.RotateEvery))
	b = appendTime(b, m.Expires)
	b = binary.AppendUvarint(b, m.Version)
	b = appendSSH(b, m.SSH)
	if p := m.Previous; p == nil {
		b = append(b, 0)
	} else {
		b = append(b, 1)
		b = binary.AppendUvarint(b, p.Version)
		b = appendString(b, string(p.Type))
		b = appendTime(b, p.Rotated)
		b = appendTime(b, p.Expires)
		b = appendSSH(b, p.SSH)
	}
	return b
}

// errCompact: a compact answer that does not parse.
var errCompact = errors.New("a list answer that does not parse")

// metaReader reads the compact form. Strings share the memory of one
// string of the whole body: a list of 10 000 secrets costs a few
// allocations, not one per field.
type metaReader struct {
	s   string
	off int
	err error
}

func (r *metaReader) fail() {
	if r.err == nil {
		r.err = fmt.Errorf("%w at byte %d", errCompact, r.off)
	}
}

func (r *metaReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	var v uint64
	for shift := uint(0); shift < 64; shift += 7 {
		if r.off >= len(r.s) {
			break
		}
		c := r.s[r.off]
		r.off++
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return v
		}
	}
	r.fail()
	return 0
}

func (r *metaReader) varint() int64 {
	u := r.uvarint()
	v := int64(u >> 1)
	if u&1 != 0 {
		v = ^v
	}
	return v
}

// count reads a count of items of at least one byte each.
func (r *metaReader) count() int {
	n := r.uvarint()
	if n > uint64(len(r.s)-r.off) {
		r.fail()
		return 0
	}
	return int(n)
}

func (r *metaReader) string() string {
	n := r.count()
	if r.err != nil {
		return ""
	}
	s := r.s[r.off : r.off+n]
	r.off += n
	return s
}

func (r *metaReader) byte() byte {
	if r.err != nil {
		return 0
	}
	if r.off >= len(r.s) {
		r.fail()
		return 0
	}
	c := r.s[r.off]
	r.off++
	return c
}

func (r *metaReader) time() time.Time {
	s := r.string()
	if s == "" || r.err != nil {
		return time.Time{}
	}
	var t time.Time
	if err := t.UnmarshalBinary([]byte(s)); err != nil {
		r.fail()
	}
	return t
}

// present reads the 0 or 1 before an optional part.
func (r *metaReader) present() bool {
	switch r.byte() {
	case 0:
		return false
	case 1:
		return true
	}
	r.fail()
	return false
}

func (r *metaReader) ssh() *store.SSHKey {
	if !r.present() {
		return nil
	}
	k := &store.SSHKey{Algorithm: r.string(), Fingerprint: r.string(), PublicKey: r.string()}
	k.Bits = int(r.varint())
	return k
}

func (r *metaReader) meta(m *store.Meta) {
	m.Name = r.string()
	m.Type = store.Type(r.string())
	m.Description = r.string()
	if n := r.count(); n > 0 {
		m.Hosts = make([]string, n)
		for i := range m.Hosts {
			m.Hosts[i] = r.string()
		}
	}
	m.Username = r.string()
	m.Created = r.time()
	m.Updated = r.time()
	m.Rotated = r.time()
	m.RotateEvery = time.Duration(r.varint())
	m.Expires = r.time()
	m.Version = r.uvarint()
	m.SSH = r.ssh()
	if r.present() {
		p := &store.PreviousMeta{Version: r.uvarint(), Type: store.Type(r.string())}
		p.Rotated = r.time()
		p.Expires = r.time()
		p.SSH = r.ssh()
		m.Previous = p
	}
}

func (l *listResponse) readCompact(body []byte) error {
	r := &metaReader{s: string(body)}
	head := r.string()
	if r.err != nil {
		return r.err
	}
	*l = listResponse{}
	if err := json.Unmarshal([]byte(head), l); err != nil {
		return fmt.Errorf("%w: %v", errCompact, err)
	}
	n := r.count()
	l.Secrets = make([]store.Meta, n)
	for i := range l.Secrets {
		r.meta(&l.Secrets[i])
	}
	if r.err == nil && r.off != len(r.s) {
		r.fail()
	}
	if r.err != nil {
		l.Secrets = nil
		return r.err
	}
	return nil
}
