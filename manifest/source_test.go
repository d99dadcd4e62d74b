package manifest

import (
	"strings"
	"testing"
	"time"
)

func TestParseSources(t *testing.T) {
	m, err := Parse("wsx.toml", []byte(`
[provider.vault]
address = "https://vault.example.com:8200"
retries = 1
tls = true

[[secret]]
name = "DATABASE_URL"
source = "vault://secret/app#db_url?version=3"
ttl = "1h"
required_fresh = true

[[secret]]
name = "GITHUB_TOKEN"
source = "pass://github/token"
ttl = "7d"

[[secret]]
name = "LOCAL"
`))
	if err != nil {
		t.Fatal(err)
	}
	db := m.Secrets[0]
	if db.Source != "vault://secret/app#db_url?version=3" || db.TTL != time.Hour || !db.RequiredFresh {
		t.Errorf("%+v", db)
	}
	if m.Secrets[1].TTL != 7*24*time.Hour || m.Secrets[1].RequiredFresh {
		t.Errorf("%+v", m.Secrets[1])
	}
	if len(m.Sourced()) != 2 {
		t.Errorf("sourced %v", m.Sourced())
	}
	v := m.Providers["vault"]
	if v["address"] != "https://vault.example.com:8200" || v["retries"] != int64(1) || v["tls"] != true {
		t.Errorf("providers %v", m.Providers)
	}
}

func TestParseSourceErrors(t *testing.T) {
	for body, want := range map[string]string{
		`source = "vault://secret/app"`:                          `needs a [provider.vault] table`,
		`source = "ftp://x/y"`:                                   `unknown scheme "ftp"`,
		`source = "pass://a/../b"`:                               `".." is not allowed`,
		`ttl = "1h"`:                                             `ttl "1h": needs a source`,
		`required_fresh = true`:                                  `required_fresh needs a source`,
		"source = \"pass://a\"\nttl = \"soon\"":                  `want a duration`,
		"source = \"pass://a\"\nttl = \"0s\"":                    `from 1s to 365d`,
		"source = \"pass://a\"\nttl = \"400d\"":                  `from 1s to 365d`,
		"source = \"pass://a\"\n[provider.pass]\ndir = [\"a\"]":  `[provider.pass]: dir must be a string, a number or true/false`,
		"source = \"pass://a\"\n[provider.pass.x]\ny = 1\nz = 2": `unknown key "provider.pass.x.y"`,
		"source = \"pass://a\"\n[provider.Pass]\ndir = \"a\"":    `unknown key "provider.Pass"`,
	} {
		_, err := Parse("wsx.toml", []byte("[[secret]]\nname = \"A_TOKEN\"\n"+body+"\n"))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s:\n got %v\nwant %s", body, err, want)
		}
	}
}

func TestProviderKey(t *testing.T) {
	for k, want := range map[string]bool{
		"provider":                   false,
		"provider.vault":             true,
		"provider.aws-sm":            true,
		"provider.aws-sm.region":     true,
		"provider.vault.ca_cert":     true,
		"provider.vault.ca-cert":     false,
		"provider.aws_sm":            false,
		"provider.Vault":             false,
		"provider.1vault":            false,
		"provider.vault.":            false,
		"provider.":                  false,
		"provider.vault.x.y":         false,
		"providers.vault":            false,
		"secret.provider.vault":      false,
		"provider.azure-kv.vault_ur": true,
	} {
		if got := providerKey(k); got != want {
			t.Errorf("providerKey(%q) = %v, want %v", k, got, want)
		}
	}
}
