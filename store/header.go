package store

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"
)

// KDFParams are the Argon2id parameters that turn a passphrase into the key
// that wraps the data key.
type KDFParams struct {
	Time      uint32 // passes
	MemoryKiB uint32
	Threads   uint8
}

// DefaultKDF is used when InitOptions.KDF is zero: Argon2id t=3, m=64 MiB,
// p=4, the second recommended option of RFC 9106 (section 4).
var DefaultKDF = KDFParams{Time: 3, MemoryKiB: 64 << 10, Threads: 4}

// Bounds on KDF parameters, checked before any Argon2 run, whether they
// come from InitOptions or from a store header on disk. The upper bounds
// are what `wsx init` may set; they keep a planted header from making
// Unlock hang or exhaust memory. Memory is also capped at a quarter of the
// machine's (MemTotal in /proc/meminfo), see KDFParams.Check.
const (
	MinKDFMemoryKiB = 1 << 10 // 1 MiB
	MaxKDFMemoryKiB = 1 << 20 // 1 GiB
	MaxKDFTime      = 16      // passes
	MaxKDFThreads   = 64      // lanes
	maxKDFWork      = 2 << 20 // Time * MemoryKiB: 2 GiB of passes in all, about 10x DefaultKDF
)

// machineMemKiB returns the machine's memory in KiB, 0 when unknown. Tests
// replace it.
var machineMemKiB = sync.OnceValue(readMemTotal)

// readMemTotal reads MemTotal from /proc/meminfo; 0 when it cannot.
func readMemTotal() uint64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		rest, ok := strings.CutPrefix(line, "MemTotal:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0
		}
		n, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return 0
		}
		return n
	}
	return 0
}

// Check reports whether p is within the bounds wsx accepts: the constants
// above, and memory at most a quarter of this machine's.
func (p KDFParams) Check() error {
	switch {
	case p.Time < 1 || p.Time > MaxKDFTime:
		return fmt.Errorf("kdf time %d is outside 1..%d", p.Time, MaxKDFTime)
	case p.Threads < 1 || p.Threads > MaxKDFThreads:
		return fmt.Errorf("kdf threads %d is outside 1..%d", p.Threads, MaxKDFThreads)
	case p.MemoryKiB < MinKDFMemoryKiB || p.MemoryKiB > MaxKDFMemoryKiB:
		return fmt.Errorf("kdf memory %d KiB is outside %d..%d KiB", p.MemoryKiB, MinKDFMemoryKiB, MaxKDFMemoryKiB)
	case uint64(p.Time)*uint64(p.MemoryKiB) > maxKDFWork:
		return fmt.Errorf("kdf time %d x memory %d KiB is more work than %d KiB passes", p.Time, p.MemoryKiB, maxKDFWork)
	}
	if total := machineMemKiB(); total > 0 && uint64(p.MemoryKiB) > total/4 {
		return fmt.Errorf("kdf memory %d KiB is more than a quarter of this machine's %d KiB", p.MemoryKiB, total)
	}
	return nil
}

// Header format constants.
const (
	headerVersion = 1
	headerFile    = "store.json"
	maxHeaderSize = 16 << 10
	kdfArgon2id   = "argon2id"
	saltLen       = 16
	keyLen        = 32 // AES-256
	idLen         = 16 // 128-bit store id

	keyByPassphrase = "passphrase" // data key wrapped by a passphrase-derived key
	keyByBackend    = "backend"    // data key held by the OS keyring backend
)

// header is <home>/store.json. It holds no secret: the data key is either
// wrapped (AES-256-GCM under the Argon2id key of the passphrase) or kept in
// the backend, in which case KeyCheck lets Unlock tell a wrong key from
// damaged items.
type header struct {
	Version    int        `json:"version"`
	ID         string     `json:"id"`
	Backend    string     `json:"backend"`
	Created    time.Time  `json:"created"`
	Key        string     `json:"key"`
	KDF        *kdfHeader `json:"kdf,omitempty"`
	WrappedKey *sealed    `json:"wrapped_key,omitempty"`
	KeyCheck   []byte     `json:"key_check,omitempty"`
}

type kdfHeader struct {
	Alg       string `json:"alg"`
	Time      uint32 `json:"time"`
	MemoryKiB uint32 `json:"memory_kib"`
	Threads   uint8  `json:"threads"`
	Salt      []byte `json:"salt"`
}

func (k *kdfHeader) params() KDFParams {
	return KDFParams{Time: k.Time, MemoryKiB: k.MemoryKiB, Threads: k.Threads}
}

// sealed is an AES-256-GCM nonce and ciphertext (with tag).
type sealed struct {
	Nonce []byte `json:"nonce"`
	CT    []byte `json:"ct"`
}

// parseHeader decodes and validates a store header. It is strict: unknown,
// duplicate or mis-cased fields, trailing data, an oversized input and
// out-of-bounds KDF parameters are refused, all before any key derivation.
// Errors wrap ErrHeader and ErrIntegrity.
func parseHeader(data []byte) (*header, error) {
	var h header
	if err := strictUnmarshal(data, maxHeaderSize, &h); err != nil {
		return nil, headerErr(err)
	}
	if err := h.check(); err != nil {
		return nil, headerErr(err)
	}
	return &h, nil
}

// headerErr is a damaged or forged header: it wraps ErrIntegrity, and
// ErrHeader so that a caller can tell it from a damaged item.
func headerErr(err error) error {
	return alsoIs{fmt.Errorf("store header: %v: %w", err, ErrIntegrity), ErrHeader}
}

func (h *header) check() error {
	if h.Version != headerVersion {
		return fmt.Errorf("version %d is not %d", h.Version, headerVersion)
	}
	if b, err := hex.DecodeString(h.ID); err != nil || len(b) != idLen || hex.EncodeToString(b) != h.ID {
		return errors.New("store id is not 32 lower-case hex digits")
	}
	if !knownBackend(h.Backend) {
		return fmt.Errorf("backend %q is unknown", h.Backend)
	}
	if h.Created.IsZero() {
		return errors.New("creation time missing")
	}
	switch h.Key {
	case keyByPassphrase:
		if h.KDF == nil || h.WrappedKey == nil || h.KeyCheck != nil {
			return errors.New("a passphrase store needs kdf and wrapped_key and no key_check")
		}
		if h.KDF.Alg != kdfArgon2id {
			return fmt.Errorf("kdf %q is not %s", h.KDF.Alg, kdfArgon2id)
		}
		if err := h.KDF.params().Check(); err != nil {
			return err
		}
		if len(h.KDF.Salt) != saltLen {
			return fmt.Errorf("kdf salt is %d bytes, not %d", len(h.KDF.Salt), saltLen)
		}
		if len(h.WrappedKey.Nonce) != nonceLen || len(h.WrappedKey.CT) != keyLen+tagLen {
			return errors.New("wrapped key has the wrong size")
		}
	case keyByBackend:
		if h.Backend == backendFile {
			return errors.New("the file backend cannot hold the data key")
		}
		if h.KDF != nil || h.WrappedKey != nil || len(h.KeyCheck) != sha256.Size {
			return errors.New("a backend-keyed store needs a key_check and no kdf or wrapped_key")
		}
	default:
		return fmt.Errorf("key holder %q is not %s or %s", h.Key, keyByPassphrase, keyByBackend)
	}
	return nil
}

func (h *header) marshal() []byte {
	b, err := json.MarshalIndent(h, "", "  ")
	if err != nil {
		panic(err) // only plain fields: cannot fail
	}
	return append(b, '\n')
}

// wrapAD is the additional data of the wrapped data key: it binds the
// header version, store id, backend and every KDF parameter, so a header
// edited to other parameters fails to unwrap instead of deriving a
// different key.
func (h *header) wrapAD() []byte {
	var b bytes.Buffer
	b.WriteString("wsx data key v1\x00")
	b.WriteString(strconv.Itoa(h.Version) + "\x00")
	b.WriteString(h.ID + "\x00")
	b.WriteString(h.Backend + "\x00")
	k := h.KDF
	fmt.Fprintf(&b, "%s\x00%d\x00%d\x00%d\x00%x", k.Alg, k.Time, k.MemoryKiB, k.Threads, k.Salt)
	return b.Bytes()
}

// passphraseKey derives the wrapping key from pass with the header's KDF.
func (h *header) passphraseKey(pass []byte) []byte {
	k := h.KDF
	return argon2.IDKey(pass, k.Salt, k.Time, k.MemoryKiB, k.Threads, keyLen)
}

// wrap seals dataKey under pass with fresh salt, setting KDF and
// WrappedKey.
func (h *header) wrap(dataKey, pass []byte, p KDFParams) error {
	salt := make([]byte, saltLen)
	rand.Read(salt)
	h.Key = keyByPassphrase
	h.KeyCheck = nil
	h.KDF = &kdfHeader{Alg: kdfArgon2id, Time: p.Time, MemoryKiB: p.MemoryKiB, Threads: p.Threads, Salt: salt}
	kek := h.passphraseKey(pass)
	defer clear(kek)
	s, err := seal(kek, dataKey, h.wrapAD())
	if err != nil {
		return err
	}
	h.WrappedKey = &s
	return nil
}

// unwrap returns the data key, or ErrWrongPassphrase.
func (h *header) unwrap(pass []byte) ([]byte, error) {
	if len(pass) == 0 {
		return nil, ErrWrongPassphrase
	}
	kek := h.passphraseKey(pass)
	defer clear(kek)
	key, err := open(kek, *h.WrappedKey, h.wrapAD())
	if err != nil || len(key) != keyLen {
		return nil, ErrWrongPassphrase
	}
	return key, nil
}

// keyCheck is the value a backend-held data key must reproduce.
func (h *header) keyCheck(dataKey []byte) []byte {
	m := hmac.New(sha256.New, dataKey)
	m.Write([]byte("wsx key check v1\x00" + h.ID))
	return m.Sum(nil)
}

// AES-256-GCM sizes.
const (
	nonceLen = 12
	tagLen   = 16
)

func newGCM(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

func seal(key, plain, ad []byte) (sealed, error) {
	g, err := newGCM(key)
	if err != nil {
		return sealed{}, err
	}
	return sealWith(g, plain, ad), nil
}

func sealWith(g cipher.AEAD, plain, ad []byte) sealed {
	nonce := make([]byte, nonceLen)
	rand.Read(nonce)
	return sealed{Nonce: nonce, CT: g.Seal(nil, nonce, plain, ad)}
}

func open(key []byte, s sealed, ad []byte) ([]byte, error) {
	g, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	return g.Open(nil, s.Nonce, s.CT, ad)
}

// strictUnmarshal decodes one JSON object of at most limit bytes into v,
// refusing unknown fields, duplicate keys, keys that are not lower case
// (encoding/json would match them case-insensitively) and trailing data.
func strictUnmarshal(data []byte, limit int, v any) error {
	if len(data) > limit {
		return fmt.Errorf("%d bytes is more than the %d allowed", len(data), limit)
	}
	if err := checkKeys(data); err != nil {
		return err
	}
	return decodeStrict(data, v)
}

// decodeStrict decodes one JSON value into v, refusing unknown fields and
// trailing data.
func decodeStrict(data []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if _, err := d.Token(); err != io.EOF {
		return errors.New("trailing data after the object")
	}
	return nil
}

// checkKeys walks a JSON document and refuses objects with a duplicate key
// or a key outside [a-z0-9_], and a top level that is not an object.
func checkKeys(data []byte) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	t, err := d.Token()
	if err != nil {
		return err
	}
	if t != json.Delim('{') {
		return errors.New("not a JSON object")
	}
	return walkObject(d, 1)
}

const maxJSONDepth = 8

func walkObject(d *json.Decoder, depth int) error {
	if depth > maxJSONDepth {
		return errors.New("nested too deep")
	}
	seen := map[string]bool{}
	for d.More() {
		t, err := d.Token()
		if err != nil {
			return err
		}
		k, ok := t.(string)
		if !ok {
			return errors.New("object key is not a string")
		}
		for i := 0; i < len(k); i++ {
			if c := k[i]; !(c == '_' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9') {
				return fmt.Errorf("field %q is not lower case", k)
			}
		}
		if seen[k] {
			return fmt.Errorf("field %q appears twice", k)
		}
		seen[k] = true
		if err := walkValue(d, depth); err != nil {
			return err
		}
	}
	_, err := d.Token() // '}'
	return err
}

func walkValue(d *json.Decoder, depth int) error {
	t, err := d.Token()
	if err != nil {
		return err
	}
	switch t {
	case json.Delim('{'):
		return walkObject(d, depth+1)
	case json.Delim('['):
		if depth+1 > maxJSONDepth {
			return errors.New("nested too deep")
		}
		for d.More() {
			if err := walkValue(d, depth+1); err != nil {
				return err
			}
		}
		_, err := d.Token() // ']'
		return err
	}
	return nil
}
