package provider

import (
	"strings"
	"testing"
)

func TestParseSource(t *testing.T) {
	for raw, want := range map[string]Source{
		"vault://secret/app#db_url":                   {Scheme: "vault", Location: "secret/app", Key: "db_url"},
		"vault://secret/app#db_url?version=3":         {Scheme: "vault", Location: "secret/app", Key: "db_url", Version: "3"},
		"vault://secret/app?version=3#db_url":         {Scheme: "vault", Location: "secret/app", Key: "db_url", Version: "3"},
		"aws-sm://prod/db#password?stage=AWSPREVIOUS": {Scheme: "aws-sm", Location: "prod/db", Key: "password", Stage: "AWSPREVIOUS"},
		"azure-kv://myvault/db-password":              {Scheme: "azure-kv", Location: "myvault/db-password"},
		"pass://github/token":                         {Scheme: "pass", Location: "github/token"},
		"sops://secrets.enc.yaml#db.password":         {Scheme: "sops", Location: "secrets.enc.yaml", Key: "db.password"},
		"sops:///etc/app/s.yaml#k":                    {Scheme: "sops", Location: "/etc/app/s.yaml", Key: "k"},
	} {
		got, err := ParseSource(raw)
		want.Raw = raw
		if err != nil || got != want {
			t.Errorf("%s: got %+v, %v; want %+v", raw, got, err, want)
		}
	}
	for raw, why := range map[string]string{
		"secret/app":                                  "SCHEME://",
		"http://x/y":                                  "unknown scheme",
		"vault://":                                    "empty location",
		"vault://secret//app":                         "empty",
		"vault://secret/../app":                       `".."`,
		"vault:///secret/app":                         "only a sops file",
		"vault://secret/app#":                         "empty key",
		"vault://secret/app#a#b":                      "twice",
		"vault://secret/app?version=1?x=2":            "twice",
		"vault://secret/app?ver=1":                    "unknown parameter",
		"vault://secret/app?version=1&version=2":      "given twice",
		"vault://secret/app?version=":                 "wants a value",
		"vault://secret/app?version=a/b":              "wants a value",
		"vault://secret/a pp":                         "no spaces",
		"vault://secret/app\n":                        "control",
		"vault://secret/" + strings.Repeat("a", 1100): "longer than",
	} {
		_, err := ParseSource(raw)
		if err == nil || !strings.Contains(err.Error(), why) {
			t.Errorf("%q: %v, want an error saying %q", raw, err, why)
		}
	}
}

func TestSettings(t *testing.T) {
	s := Settings{"address": "x", "timeout": "3s", "retries": int64(1), "bogus": true}
	if err := s.Check("vault", "address"); err == nil || !strings.Contains(err.Error(), `"bogus"`) {
		t.Errorf("check: %v", err)
	}
	if d, err := s.Timeout("vault"); err != nil || d.String() != "3s" {
		t.Errorf("timeout %v %v", d, err)
	}
	if n, err := s.Retries("vault"); err != nil || n != 1 {
		t.Errorf("retries %v %v", n, err)
	}
	if _, err := (Settings{"timeout": "forever"}).Timeout("vault"); err == nil {
		t.Error("bad timeout accepted")
	}
	if _, err := (Settings{"address": int64(3)}).String("vault", "address", ""); err == nil {
		t.Error("a number taken as a string")
	}
}

func FuzzParseSource(f *testing.F) {
	for _, s := range []string{"vault://secret/app#db_url?version=3", "sops:///a/b.yaml#x.y", "pass://a", "aws-sm://a?stage=X#k"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		src, err := ParseSource(raw)
		if err != nil {
			return
		}
		if strings.ContainsAny(src.Key, "?#") || src.Location == "" || strings.Contains(src.Location, "..") && strings.Contains("/"+src.Location+"/", "/../") {
			t.Fatalf("%q parsed as %+v", raw, src)
		}
	})
}
