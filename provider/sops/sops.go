// Package sops reads values from files encrypted by sops
// (https://github.com/getsops/sops) for age recipients. The file is
// decrypted by this package from sops's documented format; the sops
// program is not used.
//
// The format: a YAML or JSON document whose leaf values are
// "ENC[AES256_GCM,data:B64,iv:B64,tag:B64,type:T]" (AES-256-GCM with a
// 32-byte nonce under the file's data key, the additional data being the
// path of keys to the value joined and ended by ':', e.g. "db:password:"),
// with a top-level "sops" map holding the data key encrypted to each age
// recipient (sops.age[].enc, an armored age file), lastmodified, and mac:
// the upper-case hex SHA-512 of every leaf value's plaintext in document
// order, encrypted like a value with lastmodified as additional data. The
// MAC is checked before any value is returned, so a value removed,
// reordered or put back from an older file is refused.
//
// A source "sops://secrets.enc.yaml#db.password" reads the value at
// db → password; a relative path is taken from the manifest's directory
// (setting dir). Without a key the file must hold exactly one value.
// Settings ([provider.sops], optional): identity_secret (the wsx secret
// holding the age identity, "AGE-SECRET-KEY-1..."; default SOPS_AGE_KEY),
// dir. Not read: encrypted comments, key groups and Shamir thresholds,
// other key services (KMS, PGP, Vault transit), the dotenv/ini/binary
// formats.
package sops

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"filippo.io/age"
	"filippo.io/age/armor"
	"github.com/wsxdev/wsx/provider"
	"gopkg.in/yaml.v3"
)

const table = "sops"

// maxFile bounds the file read.
const maxFile = 4 << 20

// Sops reads sops files.
type Sops struct {
	dir, identitySecret string
	creds               provider.Creds
}

// Open checks s and returns a provider of sops files.
func Open(s provider.Settings, creds provider.Creds) (provider.Provider, error) {
	if err := s.Check(table, "identity_secret", "dir"); err != nil {
		return nil, err
	}
	p := &Sops{creds: creds}
	var err error
	if p.identitySecret, err = s.String(table, "identity_secret", "SOPS_AGE_KEY"); err != nil {
		return nil, err
	}
	if p.dir, err = s.String(table, "dir", ""); err != nil {
		return nil, err
	}
	return p, nil
}

// Fetch decrypts the file src names and returns the value at its key.
func (p *Sops) Fetch(ctx context.Context, src provider.Source) (provider.Result, error) {
	name := src.Name()
	if src.Version != "" || src.Stage != "" {
		return provider.Result{}, fmt.Errorf("%s: a sops file has no versions; remove ?version", src.Raw)
	}
	path := src.Location
	if !filepath.IsAbs(path) {
		path = filepath.Join(p.dir, path)
	}
	data, err := readFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return provider.Result{}, fmt.Errorf("%s: %s is not there: %w", name, path, provider.ErrUnavailable)
	}
	if err != nil {
		return provider.Result{}, fmt.Errorf("%s: %w", name, err)
	}
	f, err := Parse(data)
	if err != nil {
		return provider.Result{}, fmt.Errorf("%s: %w", name, err)
	}
	idText, err := p.creds.Secret(ctx, p.identitySecret)
	if err != nil {
		return provider.Result{}, err
	}
	ids, err := age.ParseIdentities(bytes.NewReader(idText))
	if err != nil {
		return provider.Result{}, fmt.Errorf("%s: the secret %s is not an age identity (AGE-SECRET-KEY-1...): %w", name, p.identitySecret, provider.ErrAuth)
	}
	key, err := f.DataKey(ids...)
	if err != nil {
		return provider.Result{}, fmt.Errorf("%s: %w", name, err)
	}
	v, err := f.Value(key, src.Key)
	if err != nil {
		return provider.Result{}, fmt.Errorf("%s: %w", name, err)
	}
	return provider.Result{Value: v, Detail: name}, nil
}

func readFile(path string) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	if fi, err := fh.Stat(); err != nil || !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	b, err := io.ReadAll(io.LimitReader(fh, maxFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxFile {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxFile)
	}
	return b, nil
}

// File is a parsed sops file.
type File struct {
	root   *yaml.Node // the document's mapping
	keys   []string   // sops.age[].enc
	lastMo string     // sops.lastmodified
	mac    string     // sops.mac
}

// Parse reads a sops file, YAML or JSON (JSON is read as YAML).
func Parse(data []byte) (*File, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("not a sops file: %v", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("not a sops file: the document is not a map")
	}
	f := &File{root: doc.Content[0]}
	meta := lookup(f.root, "sops")
	if meta == nil || meta.Kind != yaml.MappingNode {
		return nil, errors.New("not a sops file: no sops metadata")
	}
	if n := lookup(meta, "lastmodified"); n != nil {
		f.lastMo = n.Value
	}
	if n := lookup(meta, "mac"); n != nil {
		f.mac = n.Value
	}
	if ages := lookup(meta, "age"); ages != nil && ages.Kind == yaml.SequenceNode {
		for _, a := range ages.Content {
			if enc := lookup(a, "enc"); enc != nil {
				f.keys = append(f.keys, enc.Value)
			}
		}
	}
	if len(f.keys) == 0 {
		return nil, errors.New("the file has no age recipient (sops.age); only age keys are read")
	}
	if f.mac == "" || f.lastMo == "" {
		return nil, errors.New("the file has no sops.mac or sops.lastmodified")
	}
	return f, nil
}

// lookup returns the value of key in mapping m.
func lookup(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// DataKey decrypts the file's data key with one of ids.
func (f *File) DataKey(ids ...age.Identity) ([]byte, error) {
	var last error
	for _, enc := range f.keys {
		r, err := age.Decrypt(armor.NewReader(strings.NewReader(enc)), ids...)
		if err != nil {
			last = err
			continue
		}
		key, err := io.ReadAll(io.LimitReader(r, 64))
		if err != nil {
			last = err
			continue
		}
		if len(key) != 32 {
			return nil, errors.New("the data key is not 32 bytes")
		}
		return key, nil
	}
	var nm *age.NoIdentityMatchError
	if errors.As(last, &nm) {
		return nil, fmt.Errorf("the age identity is none of the file's recipients: %w", provider.ErrAuth)
	}
	return nil, fmt.Errorf("decrypt the data key: %v: %w", last, provider.ErrAuth)
}

// Value checks the file's MAC and returns the value at the dotted path
// key ("" for the one value of the file).
func (f *File) Value(dataKey []byte, key string) ([]byte, error) {
	h := sha512.New()
	var found [][]byte
	var paths []string
	err := walk(f.root, nil, func(path []string, n *yaml.Node) error {
		v, err := leaf(dataKey, path, n)
		if err != nil {
			return err
		}
		h.Write(v)
		p := strings.Join(path, ".")
		if key == "" || p == key {
			found = append(found, v)
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	mac, err := decryptValue(dataKey, f.mac, f.lastMo)
	if err != nil {
		return nil, fmt.Errorf("the file's MAC: %w", err)
	}
	if !hmac.Equal(mac, []byte(fmt.Sprintf("%X", h.Sum(nil)))) {
		return nil, errors.New("the file's MAC does not match its values: it was changed after sops wrote it")
	}
	switch {
	case len(found) == 0:
		return nil, fmt.Errorf("no value at %q: %w", key, provider.ErrNotFound)
	case len(found) > 1 && key == "":
		return nil, fmt.Errorf("the file holds %d values (%s): name one with #KEY", len(found), strings.Join(paths, ", "))
	case len(found) > 1:
		return nil, fmt.Errorf("%q is a list: name a single value", key)
	}
	return found[0], nil
}

// walk calls fn for every scalar under n but the top-level sops map, in
// document order, with the path of map keys leading to it (list items
// share their list's path, as sops has it).
func walk(n *yaml.Node, path []string, fn func([]string, *yaml.Node) error) error {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			if len(path) == 0 && k == "sops" {
				continue
			}
			if err := walk(n.Content[i+1], append(path[:len(path):len(path)], k), fn); err != nil {
				return err
			}
		}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			if err := walk(c, path, fn); err != nil {
				return err
			}
		}
	case yaml.ScalarNode:
		return fn(path, n)
	case yaml.AliasNode:
		return errors.New("YAML aliases are not read in a sops file")
	}
	return nil
}

// leaf returns the plaintext of a value: decrypted, or as written when
// sops left it in clear (a key with the unencrypted suffix).
func leaf(dataKey []byte, path []string, n *yaml.Node) ([]byte, error) {
	if !strings.HasPrefix(n.Value, "ENC[") {
		if n.Tag == "!!bool" {
			return []byte(strings.ToUpper(n.Value[:1]) + strings.ToLower(n.Value[1:])), nil
		}
		return []byte(n.Value), nil
	}
	v, err := decryptValue(dataKey, n.Value, strings.Join(path, ":")+":")
	if err != nil {
		return nil, fmt.Errorf("value at %s: %w", strings.Join(path, "."), err)
	}
	return v, nil
}

// decryptValue opens one ENC[AES256_GCM,...] value.
func decryptValue(dataKey []byte, enc, ad string) ([]byte, error) {
	body, ok := strings.CutPrefix(enc, "ENC[AES256_GCM,")
	if !ok || !strings.HasSuffix(body, "]") {
		return nil, errors.New("not an ENC[AES256_GCM,...] value")
	}
	parts := map[string]string{}
	for kv := range strings.SplitSeq(strings.TrimSuffix(body, "]"), ",") {
		k, v, ok := strings.Cut(kv, ":")
		if !ok {
			return nil, errors.New("malformed ENC[...] value")
		}
		parts[k] = v
	}
	data, err1 := base64.StdEncoding.DecodeString(parts["data"])
	iv, err2 := base64.StdEncoding.DecodeString(parts["iv"])
	tag, err3 := base64.StdEncoding.DecodeString(parts["tag"])
	if err := errors.Join(err1, err2, err3); err != nil || len(iv) != 32 || len(tag) != 16 {
		return nil, errors.New("malformed ENC[...] value")
	}
	block, err := aes.NewCipher(dataKey)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCMWithNonceSize(block, 32)
	if err != nil {
		return nil, err
	}
	out, err := gcm.Open(nil, iv, append(data, tag...), []byte(ad))
	if err != nil {
		return nil, errors.New("does not decrypt (moved, changed, or another file's)")
	}
	return out, nil
}
