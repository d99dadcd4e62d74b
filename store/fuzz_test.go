package store

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// seedHeader returns a valid passphrase header and a valid backend-keyed one.
func seedHeaders(t testing.TB) [][]byte {
	h := &header{Version: headerVersion, ID: strings.Repeat("0f", 16), Backend: backendFile,
		Created: time.Date(2024, 6, 12, 14, 31, 1, 0, time.UTC)}
	if err := h.wrap(make([]byte, keyLen), []byte("pass"), testKDF); err != nil {
		t.Fatal(err)
	}
	k := &header{Version: headerVersion, ID: strings.Repeat("a1", 16), Backend: backendKeyctl,
		Created: h.Created, Key: keyByBackend}
	k.KeyCheck = k.keyCheck(make([]byte, keyLen))
	return [][]byte{h.marshal(), k.marshal()}
}

func FuzzParseHeader(f *testing.F) {
	for _, s := range seedHeaders(f) {
		f.Add(s)
		f.Add(bytes.Replace(s, []byte(`"version": 1`), []byte(`"version": 1, "version": 2`), 1))
		f.Add(bytes.Replace(s, []byte(`"memory_kib": 1024`), []byte(`"memory_kib": 4294967295`), 1))
		f.Add(s[:len(s)/2])
	}
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"kdf":{"kdf":{"kdf":{"kdf":{"kdf":{"kdf":{"kdf":{"kdf":{}}}}}}}}}`))
	f.Add([]byte(`[[[[[[[[[[[[[[[[[[[[[[[[[[[[`))
	f.Add([]byte("{\"version\":1}\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		start := time.Now()
		h, err := parseHeader(data)
		if d := time.Since(start); d > time.Second {
			t.Errorf("parse took %v", d)
		}
		if err != nil {
			return
		}
		// Whatever parses is within bounds and survives a round trip.
		if h.Key == keyByPassphrase {
			if err := h.KDF.params().Check(); err != nil {
				t.Fatalf("accepted out-of-bounds kdf: %v", err)
			}
		}
		h2, err := parseHeader(h.marshal())
		if err != nil {
			t.Fatalf("re-marshalled header does not parse: %v", err)
		}
		if !h2.Created.Equal(h.Created) {
			t.Fatal("created time changed in a round trip")
		}
		h2.Created = h.Created
		if !reflect.DeepEqual(h, h2) {
			t.Fatalf("round trip changed the header:\n%+v\n%+v", h, h2)
		}
	})
}

func FuzzParseEnvelope(f *testing.F) {
	key := bytes.Repeat([]byte{7}, keyLen)
	g, err := newGCM(key)
	if err != nil {
		f.Fatal(err)
	}
	const id = "0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f"
	sec := Secret{Meta: Meta{Name: "API_TOKEN", Type: TypeToken, Version: 3, Hosts: []string{"github.com"},
		SSH: &SSHKey{Algorithm: "ssh-ed25519"}}, Value: NewValue([]byte("fuzz seed value"))}
	good, err := sealItem(g, id, sec)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(bytes.Replace(good, []byte(`"v":1`), []byte(`"v":1,"kdf":{"memory_kib":4294967295}`), 1))
	f.Add(bytes.Replace(good, []byte(`"name":"API_TOKEN"`), []byte(`"name":"OTHER"`), 1))
	f.Add(bytes.Replace(good, []byte(`"version":3`), []byte(`"version":4`), 1))
	f.Add(bytes.Replace(good, []byte(`"v":1`), []byte(`"V":1`), 1))
	f.Add(good[:len(good)-2])
	f.Add([]byte(`{"v":1,"name":"A","version":1,"nonce":"AAAAAAAAAAAAAAAA","ct":"AAAAAAAAAAAAAAAAAAAAAA=="}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := parseEnvelope(data)
		if err == nil {
			b, err := json.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			e2, err := parseEnvelope(b)
			if err != nil || !reflect.DeepEqual(e, e2) {
				t.Fatalf("envelope round trip: %v", err)
			}
		}
		got, err := openItem(g, id, "API_TOKEN", data)
		if err != nil {
			return
		}
		// Only an authentic item of API_TOKEN opens.
		if got.Name != "API_TOKEN" || !got.Value.Equal(sec.Value) {
			t.Fatalf("opened something else than the sealed secret: %s", got.Name)
		}
	})
}

func FuzzParseKey(f *testing.F) {
	for _, k := range testKeys(f) {
		f.Add(k.pem)
	}
	f.Add([]byte("-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n"))
	f.Add([]byte("raw"))
	f.Add([]byte("00112233445566778899aabbccddeeff\n"))
	f.Add([]byte("q83vASNFZ4mrze8BI0VniavN7wEjRWeJq83vASNFZ4k="))
	f.Add([]byte("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBm/RAlphM3+hUG6wWfcO5bIUIaqMLa2ywxcOK1wMWbh c\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		canon, info, err := ParseKey(data, func() ([]byte, error) { return []byte("x"), nil })
		if err == nil && info == nil && IsPublicKey(data) {
			t.Fatal("a public key accepted as raw key material")
		}
		if err != nil || info == nil {
			return
		}
		if _, info2, err := ParseKey(canon, nil); err != nil || info2.Fingerprint != info.Fingerprint {
			t.Fatalf("canonical form does not parse to the same key: %v", err)
		}
	})
}
