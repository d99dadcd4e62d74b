package sops

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"filippo.io/age"
	"filippo.io/age/armor"
	"gopkg.in/yaml.v3"
)

// encrypt makes a sops file of the YAML document plain, as sops does for
// the given age recipients: every scalar encrypted under a new data key
// (type str), the MAC over their plaintexts, the data key wrapped for each
// recipient. It writes JSON when asJSON is set. The fixtures under
// testdata were made with it (go test -run TestFixtures -update).
func encrypt(plain string, lastModified string, asJSON bool, recipients ...age.Recipient) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(plain), &doc); err != nil {
		return nil, err
	}
	root := doc.Content[0]
	key := make([]byte, 32)
	rand.Read(key)
	h := sha512.New()
	err := walk(root, nil, func(path []string, n *yaml.Node) error {
		h.Write([]byte(n.Value))
		enc, err := encryptValue(key, []byte(n.Value), strings.Join(path, ":")+":", "str")
		n.Value, n.Tag, n.Style = enc, "!!str", 0
		return err
	})
	if err != nil {
		return nil, err
	}
	mac, err := encryptValue(key, []byte(fmt.Sprintf("%X", h.Sum(nil))), lastModified, "str")
	if err != nil {
		return nil, err
	}
	var ages []any
	for _, r := range recipients {
		var buf bytes.Buffer
		aw := armor.NewWriter(&buf)
		w, err := age.Encrypt(aw, r)
		if err != nil {
			return nil, err
		}
		w.Write(key)
		w.Close()
		aw.Close()
		ages = append(ages, map[string]any{"recipient": fmt.Sprint(r), "enc": buf.String()})
	}
	meta := map[string]any{"age": ages, "lastmodified": lastModified, "mac": mac, "unencrypted_suffix": "_unencrypted", "version": "3.9.4"}
	var mn yaml.Node
	if err := mn.Encode(meta); err != nil {
		return nil, err
	}
	root.Content = append(root.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "sops"}, &mn)
	if asJSON {
		var buf bytes.Buffer
		toJSON(&buf, root, "")
		buf.WriteString("\n")
		return buf.Bytes(), nil
	}
	return yaml.Marshal(&doc)
}

func encryptValue(key, plain []byte, ad, typ string) (string, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return "", err
	}
	gcm, err := cipher.NewGCMWithNonceSize(block, 32)
	if err != nil {
		return "", err
	}
	iv := make([]byte, 32)
	if _, err := io.ReadFull(rand.Reader, iv); err != nil {
		return "", err
	}
	out := gcm.Seal(nil, iv, plain, []byte(ad))
	data, tag := out[:len(out)-16], out[len(out)-16:]
	b64 := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("ENC[AES256_GCM,data:%s,iv:%s,tag:%s,type:%s]", b64(data), b64(iv), b64(tag), typ), nil
}

// toJSON writes n as indented JSON, keeping the order of its keys.
func toJSON(w *bytes.Buffer, n *yaml.Node, indent string) {
	in := indent + "\t"
	switch n.Kind {
	case yaml.MappingNode:
		w.WriteString("{")
		for i := 0; i+1 < len(n.Content); i += 2 {
			if i > 0 {
				w.WriteString(",")
			}
			k, _ := json.Marshal(n.Content[i].Value)
			fmt.Fprintf(w, "\n%s%s: ", in, k)
			toJSON(w, n.Content[i+1], in)
		}
		fmt.Fprintf(w, "\n%s}", indent)
	case yaml.SequenceNode:
		w.WriteString("[")
		for i, c := range n.Content {
			if i > 0 {
				w.WriteString(",")
			}
			fmt.Fprintf(w, "\n%s", in)
			toJSON(w, c, in)
		}
		fmt.Fprintf(w, "\n%s]", indent)
	default:
		v, _ := json.Marshal(n.Value)
		w.Write(v)
	}
}
