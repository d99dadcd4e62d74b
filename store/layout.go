package store

import (
	"bytes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/json"
	"sync/atomic"
)

// keptItem is an item's envelope as the store keeps it (sealCache), with
// what the first opening of it learnt of its plaintext's layout.
type keptItem struct {
	e      *envelope
	layout atomic.Pointer[plainLayout]
	// learn: the item may be kept, so its layout is worth learning; a
	// read that keeps nothing (a command's) skips that.
	learn bool
}

// plainLayout is where the values sit in the plaintext of one envelope,
// as opened with one key, and the metadata sealed with them: no value,
// and nothing a value could be learnt from but its length, which the
// ciphertext's length tells anyway.
//
// The same key opens the same ciphertext to the same bytes, so once an
// envelope was opened and strictly decoded, the next openings find the
// values where the first found them, and the metadata as it was: they
// decrypt and decode the values, not the JSON around them. The opening
// still authenticates; the bytes around the values are compared with
// the first opening's.
type plainLayout struct {
	keyGen uint64 // of the key it was found with (Store.keyGen)
	head   []byte // the plaintext before the value: the metadata
	meta   Meta
	value  [2]int // the value's base64 in the plaintext
	prev   [2]int // the previous value's; zero when none
	size   int    // of the plaintext
}

const (
	layoutMeta  = `{"meta":`
	layoutValue = `,"value":"`
	layoutPrev  = `","previous":"`
	layoutEnd   = `"}`
)

// layoutOf finds the layout of plain, which decodes strictly to sec: the
// encoding sealItem writes, json.Marshal of an itemPlain. It reports
// false for any other form, which then is decoded at each opening.
func layoutOf(keyGen uint64, plain []byte, sec Secret) (*plainLayout, bool) {
	meta, err := json.Marshal(sec.Meta)
	if err != nil {
		return nil, false
	}
	enc := base64.StdEncoding
	hasPrev := sec.Meta.Previous != nil && !sec.PreviousValue.IsZero()
	if !hasPrev && (sec.Meta.Previous != nil || !sec.PreviousValue.IsZero() || sec.Value.IsZero()) {
		return nil, false
	}
	// The whole length first: want never grows, so no copy of a value's
	// encoding is left behind in a buffer it outgrew.
	size := len(layoutMeta) + len(meta) + len(layoutValue) + enc.EncodedLen(sec.Value.Len()) + len(layoutEnd)
	if hasPrev {
		size += len(layoutPrev) + enc.EncodedLen(sec.PreviousValue.Len())
	}
	if size != len(plain) {
		return nil, false
	}
	l := &plainLayout{keyGen: keyGen, meta: cloneMeta(sec.Meta), size: len(plain)}
	want := make([]byte, 0, size)
	want = append(want, layoutMeta...)
	want = append(want, meta...)
	want = append(want, layoutValue...)
	l.head = bytes.Clone(want)
	l.value[0] = len(want)
	l.value[1] = l.value[0] + enc.EncodedLen(sec.Value.Len())
	want = enc.AppendEncode(want, sec.Value.Bytes())
	if hasPrev {
		want = append(want, layoutPrev...)
		l.prev[0] = len(want)
		l.prev[1] = l.prev[0] + enc.EncodedLen(sec.PreviousValue.Len())
		want = enc.AppendEncode(want, sec.PreviousValue.Bytes())
	}
	want = append(want, layoutEnd...)
	same := bytes.Equal(want, plain)
	clear(want)
	if !same {
		return nil, false
	}
	return l, true
}

// open returns the secret sealed in plain, the plaintext of the envelope
// l was found for; false when plain is not laid out as l says.
func (l *plainLayout) open(plain []byte) (Secret, bool) {
	if len(plain) != l.size || !bytes.Equal(plain[:len(l.head)], l.head) ||
		string(plain[l.value[1]:l.value[1]+1]) != `"` || string(plain[len(plain)-len(layoutEnd):]) != layoutEnd {
		return Secret{}, false
	}
	if l.prev[0] > 0 && string(plain[l.value[1]:l.prev[0]]) != layoutPrev {
		return Secret{}, false
	}
	val, ok := decodeB64(plain[l.value[0]:l.value[1]])
	if !ok {
		return Secret{}, false
	}
	sec := Secret{Meta: cloneMeta(l.meta), Value: Value{b: val}}
	if l.prev[0] > 0 {
		prev, ok := decodeB64(plain[l.prev[0]:l.prev[1]])
		if !ok {
			clear(val)
			return Secret{}, false
		}
		sec.PreviousValue = Value{b: prev}
	}
	return sec, true
}

func decodeB64(s []byte) ([]byte, bool) {
	b := make([]byte, base64.StdEncoding.DecodedLen(len(s)))
	n, err := base64.StdEncoding.Decode(b, s)
	if err != nil {
		clear(b)
		return nil, false
	}
	return b[:n], true
}

// openKept is openEnvelope of a kept item with g, the AEAD of key
// generation keyGen: by its layout when one was found with that key,
// else in full, learning the layout for the next time (not when keyGen
// is 0, unknown).
func openKept(g cipher.AEAD, keyGen uint64, storeID, name string, k *keptItem) (Secret, error) {
	if l := k.layout.Load(); l != nil && keyGen != 0 && l.keyGen == keyGen && k.e.Name == name {
		e := k.e
		plain, err := g.Open(nil, e.Nonce, e.CT, itemAD(storeID, name, e.Version))
		if err == nil {
			sec, ok := l.open(plain)
			clear(plain)
			if ok {
				return sec, nil
			}
		}
		// Not as it was: the full opening says why, or learns anew.
	}
	sec, plain, err := openEnvelopePlain(g, storeID, name, k.e)
	if err != nil {
		return Secret{}, err
	}
	if k.learn && keyGen != 0 {
		if l, ok := layoutOf(keyGen, plain, sec); ok {
			k.layout.Store(l)
		}
	}
	clear(plain)
	return sec, nil
}
