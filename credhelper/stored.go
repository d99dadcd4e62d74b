package credhelper

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/wsxdev/wsx/store"
)

// StoredPrefix starts the name of every credential the helper keeps for
// git (see IsStored).
const StoredPrefix = "GIT_CREDENTIAL_"

// maxStoredURL bounds the Hosts entry of a stored credential; a longer
// target is not kept. It is the store's limit on a Hosts entry.
const maxStoredURL = store.MaxHostLen

// storedKey identifies a stored credential, as git's store helper does.
type storedKey struct {
	protocol string // lower case
	host     string // lower case "host[:port]"
	path     string // without leading or trailing '/'
	username string
}

// keyOf is the key under which git's approval of t is stored.
func keyOf(t target) storedKey {
	return storedKey{protocol: t.protocol, host: t.hostPort(), path: t.path, username: t.username}
}

// name is the secret name for k: StoredPrefix and 32 hex digits of a
// SHA-256 over the key's parts (none of them a value).
func (k storedKey) name() string {
	h := sha256.New()
	for _, s := range []string{k.protocol, k.host, k.path, k.username} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return StoredPrefix + strings.ToUpper(hex.EncodeToString(h.Sum(nil)[:16]))
}

// url is the Hosts entry recording k: protocol://user@host[:port][/path].
func (k storedKey) url() string {
	var b strings.Builder
	b.WriteString(k.protocol)
	b.WriteString("://")
	b.WriteString(escape(k.username, "!$&'()*+,;="))
	b.WriteByte('@')
	b.WriteString(escape(k.host, ":[]"))
	if k.path != "" {
		b.WriteByte('/')
		b.WriteString(escape(k.path, "/!$&'()*+,;=:@"))
	}
	return b.String()
}

// description is the human note on a stored credential.
func (k storedKey) description() string {
	return "password git stored for " + k.url()
}

// storedKeyOf reports whether m is a credential the helper stored: its
// name is the hash of the key its single Hosts entry records.
func storedKeyOf(m store.Meta) (storedKey, bool) {
	if !strings.HasPrefix(m.Name, StoredPrefix) || len(m.Hosts) != 1 || m.Type != store.TypePassword {
		return storedKey{}, false
	}
	u, err := parseURL(m.Hosts[0])
	if err != nil || !u.hasUser || u.hasPassword {
		return storedKey{}, false
	}
	host, port, err := splitHost(u.host)
	if err != nil {
		return storedKey{}, false
	}
	k := storedKey{
		protocol: strings.ToLower(u.protocol),
		host:     hostPort(host, port),
		path:     u.path,
		username: u.username,
	}
	if k.name() != m.Name {
		return storedKey{}, false
	}
	return k, true
}

// IsStored reports whether m is a credential the helper keeps on git's
// behalf rather than a secret the user named. Callers listing secrets or
// building a program's environment may use it to leave these out.
func IsStored(m store.Meta) bool {
	_, ok := storedKeyOf(m)
	return ok
}
