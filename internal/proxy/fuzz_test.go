package proxy

import "testing"

// FuzzParseAuthority: a CONNECT target comes from the command, outside
// bytes. Whatever it is, parsing does not panic, and a target it accepts
// reads back as itself.
func FuzzParseAuthority(f *testing.F) {
	for _, s := range []string{"api.github.com:443", "127.0.0.1:8443", "[::1]:443", "API.Example.COM:80", "host", ":443", "[::ffff:127.0.0.1]:1", "a:b:c", "x:99999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tg, err := parseAuthority(s, "https")
		if err != nil {
			return
		}
		again, err := parseAuthority(tg.authority(), "https")
		if err != nil || again != tg {
			t.Fatalf("%q -> %+v -> %q -> %+v, %v", s, tg, tg.authority(), again, err)
		}
		if b, err := parseBinding(tg.String()); err != nil || b.target != tg {
			t.Fatalf("%q: binding of %q = %+v, %v", s, tg.String(), b, err)
		}
	})
}
