package fetch

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestWriteResults(t *testing.T) {
	rs := []Result{
		{Name: "DATABASE_URL", Source: "vault://secret/app#db_url", Status: StatusFetched, Version: "3", Detail: "vault secret/app v3"},
		{Name: "MISSING", Source: "vault://secret/nope#x", Status: StatusFailed, Error: "fetch MISSING: not found"},
	}
	var text, js bytes.Buffer
	if err := WriteResults(&text, rs, false); err != nil {
		t.Fatal(err)
	}
	want := "DATABASE_URL             fetched   vault secret/app v3\nMISSING                  failed    vault://secret/nope#x\n"
	if text.String() != want {
		t.Errorf("text:\n%s\nwant:\n%s", text.String(), want)
	}
	if err := WriteResults(&js, rs, true); err != nil {
		t.Fatal(err)
	}
	var got struct{ Secrets []map[string]string }
	if err := json.Unmarshal(js.Bytes(), &got); err != nil || len(got.Secrets) != 2 || got.Secrets[0]["version"] != "3" || got.Secrets[1]["error"] == "" || got.Secrets[1]["status"] != "failed" {
		t.Errorf("json %s: %v", js.String(), err)
	}
}

// Credentials names the secrets the providers read their credentials
// from (left out of `wsx exec` unless named, exec.Choose's Exclude).
func TestCredentials(t *testing.T) {
	home := t.TempDir()
	if got := Credentials(home); len(got) != 0 {
		t.Fatalf("credentials without a state file: %v", got)
	}
	os.WriteFile(filepath.Join(home, StateFile), []byte(`{"secrets":{},"credentials":["VAULT_TOKEN","SOPS_AGE_KEY"]}`), 0o600)
	if got := Credentials(home); !slices.Equal(got, []string{"VAULT_TOKEN", "SOPS_AGE_KEY"}) {
		t.Errorf("Credentials = %v", got)
	}
}
