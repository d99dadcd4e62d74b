package doctor

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wsxdev/wsx/secrets"
	"github.com/wsxdev/wsx/store"
)

// The daemon check connects to the API socket: none, one where something
// else answers, and a stale one nobody listens on.
func TestDoctorDaemon(t *testing.T) {
	home := t.TempDir()
	run := filepath.Join(home, "run")
	if err := os.Mkdir(run, 0o700); err != nil {
		t.Fatal(err)
	}
	d := &Doctor{Home: home, RunDir: run}
	check := func() string {
		var b bytes.Buffer
		d.checkDaemon(&report{w: &b})
		return b.String()
	}
	if got := check(); !strings.HasPrefix(got, "note  daemon: not running") {
		t.Errorf("no socket: %q", got)
	}
	sock := filepath.Join(run, "api.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		// Accept and hang up: not a wsx agent.
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	if got := check(); !strings.HasPrefix(got, "WARN  daemon: something answers on "+sock+", but not as a wsx agent") {
		t.Errorf("foreign socket: %q", got)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	if got := check(); !strings.HasPrefix(got, "WARN  daemon: "+sock+" exists but nothing answers") {
		t.Errorf("stale socket: %q", got)
	}
}

// compareEnv tells the current value from the previous one and from any
// other, and never prints either.
func TestCompareEnv(t *testing.T) {
	sec := store.Secret{
		Meta:          store.Meta{Name: "API_TOKEN", Type: store.TypeToken, Version: 2, Previous: &store.PreviousMeta{Version: 1, Type: store.TypeToken}},
		Value:         store.NewValue([]byte("current-value-123")),
		PreviousValue: store.NewValue([]byte("previous-value-456")),
	}
	tests := []struct {
		env, want string
		stale     int
	}{
		{"current-value-123", "holds the current value", 0},
		{"previous-value-456", "from before the last rotation (version 1): restart the terminal", 1},
		{"older-value-789", "differs from the stored value", 1},
		{"current-value-12", "differs from the stored value", 1},
	}
	st := comparer{sec: sec}
	for _, tt := range tests {
		var b bytes.Buffer
		if got, err := compareEnv(&b, st, sec.Meta, tt.env); err != nil || got != tt.stale || !strings.Contains(b.String(), tt.want) {
			t.Errorf("env of %d bytes: %d %q, want %d %q", len(tt.env), got, b.String(), tt.stale, tt.want)
		}
		for _, v := range []string{"current-value", "previous-value", "older-value"} {
			if strings.Contains(b.String(), v) {
				t.Fatal("a value was printed")
			}
		}
	}
	file := store.Secret{Meta: store.Meta{Name: "CERT", Type: store.TypeFile}, Value: store.NewValue([]byte("x"))}
	var b bytes.Buffer
	if n, _ := compareEnv(&b, st, file.Meta, "/dev/fd/3"); n != 0 || !strings.Contains(b.String(), "not compared") {
		t.Errorf("file secret: %q", b.String())
	}
}

// comparer is a secrets.Store that only compares, as the store does.
type comparer struct {
	secrets.Store
	sec store.Secret
}

func (c comparer) Compare(name string, v store.Value) (store.Match, error) {
	switch {
	case name != c.sec.Name:
		return store.MatchNone, store.ErrNotFound
	case c.sec.Value.Equal(v):
		return store.MatchCurrent, nil
	case c.sec.Previous != nil && c.sec.PreviousValue.Equal(v):
		return store.MatchPrevious, nil
	}
	return store.MatchNone, nil
}

// Other workspaces' stores: the default home and its wsx-* siblings, and
// WSX_STORES; names come from item file names only.
func TestOtherStores(t *testing.T) {
	data := t.TempDir()
	mk := func(dir string, items ...string) string {
		if err := os.MkdirAll(filepath.Join(dir, "items"), 0o700); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, "store.json"), []byte("{}"), 0o600)
		for _, it := range items {
			os.WriteFile(filepath.Join(dir, "items", it), nil, 0o600)
		}
		return dir
	}
	cur := mk(filepath.Join(data, "wsx"), "A_TOKEN.wsx")
	work := mk(filepath.Join(data, "wsx-work"), "B_TOKEN.wsx", "README", "bad-name.wsx", ".tmp-x")
	listed := mk(filepath.Join(t.TempDir(), "s"), "C_TOKEN.wsx")
	os.MkdirAll(filepath.Join(data, "wsx-empty"), 0o700) // no store.json: not a store
	vars := map[string]string{"XDG_DATA_HOME": data, "WSX_STORES": listed + ":" + work + "::"}
	d := &Doctor{Getenv: func(k string) string { return vars[k] }, Home: cur}
	got := d.otherStores()
	if len(got) != 2 || got[0] != work || got[1] != listed {
		t.Errorf("otherStores = %v", got)
	}
	if names := store.ItemNames(work); len(names) != 1 || names[0] != "B_TOKEN" {
		t.Errorf("itemNames = %v", names)
	}
}

// A wsx.toml sourcing from a service wsx-provider serves: doctor finds
// wsx-provider on PATH, or fails naming the sources and the fix.
func TestDoctorProviders(t *testing.T) {
	dir := t.TempDir()
	toml := "[provider.vault]\naddress = \"https://vault.example.test\"\n\n" +
		"[[secret]]\nname = \"DB_URL\"\nsource = \"vault://secret/app#url\"\n\n" +
		"[[secret]]\nname = \"TOKEN\"\nsource = \"pass://github/token\"\n\n" +
		"[[secret]]\nname = \"DB_PASSWORD\"\nsource = \"sops://s.enc.yaml#db.password\"\n"
	if err := os.WriteFile(filepath.Join(dir, "wsx.toml"), []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	d := &Doctor{Dir: dir}
	check := func() string {
		var b bytes.Buffer
		d.checkProviders(&report{w: &b})
		return b.String()
	}
	bin := t.TempDir()
	t.Setenv("PATH", bin)
	got := check()
	if !strings.HasPrefix(got, "FAIL  providers: "+filepath.Join(dir, "wsx.toml")+" sources secrets from vault, sops, which wsx-provider fetches: wsx-provider is not installed") ||
		!strings.Contains(got, "fix: `make install` installs wsx-provider beside wsx") {
		t.Errorf("without wsx-provider: %q", got)
	}
	if err := os.WriteFile(filepath.Join(bin, "wsx-provider"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got := check(); got != "ok    providers: "+filepath.Join(bin, "wsx-provider")+" fetches the vault, sops sources of "+filepath.Join(dir, "wsx.toml")+"\n" {
		t.Errorf("with wsx-provider: %q", got)
	}
	d.Dir = t.TempDir() // no wsx.toml: nothing to say
	if got := check(); got != "" {
		t.Errorf("no wsx.toml: %q", got)
	}
}
