package credhelper

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wsxdev/wsx/store"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Request // Password compared separately
		pass string
		err  bool
	}{
		{name: "git's get", in: "protocol=https\nhost=example.com:8443\npath=org/r.git\nusername=bob\n\n",
			want: Request{Protocol: "https", Host: "example.com:8443", Path: "org/r.git", Username: "bob", HasUsername: true}},
		{name: "crlf", in: "protocol=https\r\nhost=example.com\r\n\r\nignored",
			want: Request{Protocol: "https", Host: "example.com"}},
		{name: "eof without newline", in: "protocol=https\nhost=example.com",
			want: Request{Protocol: "https", Host: "example.com"}},
		{name: "value with '='", in: "password=a=b=c\n", pass: "a=b=c", want: Request{HasPassword: true}},
		{name: "empty password", in: "password=\n", pass: "", want: Request{HasPassword: true}},
		{name: "empty user name", in: "username=\n", want: Request{HasUsername: true}},
		{name: "url with empty user and password", in: "url=https://:@example.com\n",
			want: Request{Protocol: "https", Host: "example.com", HasUsername: true, HasPassword: true}},
		{name: "url with empty user", in: "url=https://@example.com\n",
			want: Request{Protocol: "https", Host: "example.com", HasUsername: true}},
		{name: "url", in: "url=https://al%40ice:pa%3Ass@Example.com:8443//org/r.git//?x#y\n",
			want: Request{Protocol: "https", Host: "Example.com:8443", Path: "org/r.git//?x#y", Username: "al@ice", HasUsername: true, HasPassword: true}, pass: "pa:ss"},
		{name: "url query ends host", in: "url=https://example.com?x=1\n",
			want: Request{Protocol: "https", Host: "example.com", Path: "?x=1"}},
		{name: "url empty host", in: "url=cert:///etc/c.pem\n", want: Request{Protocol: "cert", Path: "etc/c.pem"}},
		{name: "url then other fields", in: "url=https://example.com\nusername=bob\n",
			want: Request{Protocol: "https", Host: "example.com", Username: "bob", HasUsername: true}},
		{name: "multi-valued", in: "capability[]=authtype\ncapability[]=state\nwwwauth[]=Basic\nwwwauth[]=\nwwwauth[]=Bearer\nstate[]=wsx:1\n",
			want: Request{Capabilities: []string{"authtype", "state"}, WWWAuth: []string{"Bearer"}, State: []string{"wsx:1"}}},
		{name: "flags", in: "ephemeral=TRUE\ncontinue=1\nquit=no\nauthtype=Bearer\nrequest_url=https://x/y?z\n",
			want: Request{Ephemeral: true, Continue: true, AuthType: "Bearer", RequestURL: "https://x/y?z"}},
		{name: "expiry", in: "password_expiry_utc=1700000000\n", want: Request{PasswordExpiry: time.Unix(1700000000, 0).UTC()}},
		{name: "expiry zero is none", in: "password_expiry_utc=0\n"},
		{name: "unknown keys", in: "x=1\nx=2\n=3\nfoo[]=a\n", want: Request{}},

		{name: "no equals", in: "protocol https\n", err: true},
		{name: "dup host", in: "host=a\nhost=a\n", err: true},
		{name: "dup protocol", in: "protocol=https\nprotocol=http\n", err: true},
		{name: "dup path", in: "path=a\npath=b\n", err: true},
		{name: "dup username", in: "username=a\nusername=b\n", err: true},
		{name: "dup password", in: "password=a\npassword=b\n", err: true},
		{name: "dup url", in: "url=https://a\nurl=https://a\n", err: true},
		{name: "host then url", in: "host=a\nurl=https://a\n", err: true},
		{name: "username then url with user", in: "username=a\nurl=https://b@a\n", err: true},
		{name: "bare CR", in: "host=a\rb\n", err: true},
		{name: "CR CR LF", in: "host=a\r\r\n", err: true},
		{name: "CR in key", in: "ho\rst=a\n", err: true},
		{name: "NUL", in: "host=a\x00\n", err: true},
		{name: "NUL in unknown", in: "zzz=\x00\n", err: true},
		{name: "control in host", in: "host=a\x1bb\n", err: true},
		{name: "control in protocol", in: "protocol=ht\ttps\n", err: true},
		{name: "url %0a host", in: "url=https://a%0ab\n", err: true},
		{name: "url %0d path", in: "url=https://a/b%0d\n", err: true},
		{name: "url %00 user", in: "url=https://u%00@a\n", err: true},
		{name: "url %0a password", in: "url=https://u:p%0a@a\n", err: true},
		{name: "url control host", in: "url=https://a%7fb\n", err: true},
		{name: "url bad escape", in: "url=https://a%zz\n", err: true},
		{name: "url short escape", in: "url=https://a%4\n", err: true},
		{name: "url no scheme", in: "url=example.com\n", err: true},
		{name: "url empty scheme", in: "url=://example.com\n", err: true},
		{name: "bad bool", in: "ephemeral=maybe\n", err: true},
		{name: "bad expiry", in: "password_expiry_utc=-5\n", err: true},
		{name: "huge expiry", in: "password_expiry_utc=99999999999999999999\n", err: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(strings.NewReader(tc.in))
			if tc.err {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("error = %v, want ErrMalformed", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !got.Password.Equal(store.NewValue([]byte(tc.pass))) {
				t.Errorf("password differs")
			}
			got.Password = store.Value{}
			if !equalRequest(got, tc.want) {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func equalRequest(a, b Request) bool {
	return a.Protocol == b.Protocol && a.Host == b.Host && a.Path == b.Path && a.Username == b.Username &&
		a.HasUsername == b.HasUsername && a.HasPassword == b.HasPassword &&
		a.Password.Equal(b.Password) && a.PasswordExpiry.Equal(b.PasswordExpiry) &&
		a.OAuthRefreshToken.Equal(b.OAuthRefreshToken) && a.AuthType == b.AuthType &&
		a.Credential.Equal(b.Credential) && a.Ephemeral == b.Ephemeral && a.Continue == b.Continue &&
		a.Quit == b.Quit && a.RequestURL == b.RequestURL && slices.Equal(a.Capabilities, b.Capabilities) &&
		slices.Equal(a.WWWAuth, b.WWWAuth) && slices.Equal(a.State, b.State)
}

// countingReader counts the bytes Parse pulled from it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// endless yields 'a' forever: no newline ever comes.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'a'
	}
	return len(p), nil
}

// TestParseBounded covers SECURITY.md 17: a line longer than 65535 bytes is
// refused after reading about one line, and many lines stop at
// MaxRequestLen.
func TestParseBounded(t *testing.T) {
	cr := &countingReader{r: endless{}}
	if _, err := Parse(cr); !errors.Is(err, ErrMalformed) {
		t.Fatalf("endless line: error = %v", err)
	}
	if cr.n > 2*(MaxLineLen+1) {
		t.Errorf("read %d bytes for an endless line", cr.n)
	}
	exact := "wwwauth[]=" + strings.Repeat("b", MaxLineLen-len("wwwauth[]=")-1)
	if _, err := Parse(strings.NewReader(exact + "\n")); err != nil {
		t.Errorf("line of exactly %d bytes: %v", MaxLineLen, err)
	}
	if _, err := Parse(strings.NewReader(exact)); err != nil {
		t.Errorf("last line of %d bytes without LF: %v", MaxLineLen-1, err)
	}
	for _, in := range []string{exact + "b\n", exact + "b", exact + "\r\n"} {
		if _, err := Parse(strings.NewReader(in)); !errors.Is(err, ErrMalformed) {
			t.Errorf("line of %d bytes: error = %v", len(in), err)
		}
	}
	many := strings.Repeat("wwwauth[]="+strings.Repeat("c", 1000)+"\n", MaxRequestLen/1000+1)
	cr = &countingReader{r: strings.NewReader(many)}
	if _, err := Parse(cr); !errors.Is(err, ErrMalformed) {
		t.Errorf("request over %d bytes: error = %v", MaxRequestLen, err)
	}
	if cr.n > MaxRequestLen+2*(MaxLineLen+1) {
		t.Errorf("read %d bytes of an oversized request", cr.n)
	}
}

// TestParseErrorsQuoteNoValue: errors name lines and attributes, never the
// value, even when a password sits where a host belongs.
func TestParseErrorsQuoteNoValue(t *testing.T) {
	for _, in := range []string{
		"password=" + canary + "\npassword=" + canary + "\n",
		"password=" + canary + "\rx\n",
		"password=" + canary + "\x00\n",
		"url=https://u:" + canary + "@host%0a/x\n",
		"url=https://u:" + canary + "%zz@host/x\n",
		"url=https://" + canary + "%1b/x\n",
		"host=" + canary + "\x1b\n",
		"ephemeral=" + canary + "\n",
		"password_expiry_utc=" + canary + "\n",
		canary + "\n",
	} {
		_, err := Parse(strings.NewReader(in))
		if err == nil {
			t.Errorf("input %d accepted", len(in))
			continue
		}
		if strings.Contains(err.Error(), canary) {
			t.Errorf("error holds the value: input of %d bytes", len(in))
		}
	}
}

// oneWrite counts Write calls.
type oneWrite struct {
	bytes.Buffer
	writes int
}

func (w *oneWrite) Write(p []byte) (int, error) {
	w.writes++
	return w.Buffer.Write(p)
}

func TestFormat(t *testing.T) {
	var w oneWrite
	err := Format(&w, Response{Username: "bob", Password: store.NewValue([]byte("s3cr=t")), PasswordExpiry: time.Unix(1700000000, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := w.String(), "username=bob\npassword=s3cr=t\npassword_expiry_utc=1700000000\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if w.writes != 1 {
		t.Errorf("%d writes, want 1", w.writes)
	}
	for _, bad := range []Response{
		{Username: "bob", Password: store.NewValue([]byte(canary + "\nhost=evil"))},
		{Username: "bob", Password: store.NewValue([]byte(canary + "\r"))},
		{Username: "bob", Password: store.NewValue([]byte(canary + "\x00"))},
		{Username: "bob\nquit=1", Password: store.NewValue([]byte(canary))},
		{Host: "a\rb", Password: store.NewValue([]byte(canary))},
		{Password: store.NewValue([]byte(strings.Repeat("x", MaxLineLen)))},
	} {
		var w oneWrite
		err := Format(&w, bad)
		if !errors.Is(err, ErrUnsafeValue) {
			t.Errorf("error = %v, want ErrUnsafeValue", err)
		}
		if w.Len() != 0 {
			t.Errorf("wrote %d bytes of a refused response", w.Len())
		}
		if err != nil && strings.Contains(err.Error(), canary) {
			t.Error("error holds the value")
		}
	}
	w = oneWrite{}
	if err := Format(&w, Response{Password: store.NewValue([]byte("p")), PasswordExpiry: time.Unix(-5, 0)}); err != nil || w.String() != "password=p\npassword_expiry_utc=1\n" {
		t.Errorf("pre-1970 expiry: %q, %v", w.String(), err)
	}
	// Empty user name and password are sent only when asked for.
	for _, tc := range []struct {
		resp Response
		want string
	}{
		{Response{HasUsername: true, HasPassword: true}, "username=\npassword=\n"},
		{Response{HasPassword: true}, "password=\n"},
		{Response{Username: "bob", HasPassword: true}, "username=bob\npassword=\n"},
		{Response{}, ""},
	} {
		w = oneWrite{}
		if err := Format(&w, tc.resp); err != nil || w.String() != tc.want {
			t.Errorf("Format(%+v) = %q, %v; want %q", tc.resp, w.String(), err, tc.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"protocol=https\nhost=github.com\n\n",
		"protocol=https\r\nhost=example.com:8443\r\npath=org/r.git\r\nusername=bob\r\npassword=x\r\n\r\n",
		"url=https://al%40ice:pa%3Ass@Example.com:8443//org/r.git//?x#y\n",
		"url=https://a%0ab\n",
		"host=a\rb\n",
		"host=a\nhost=b\n",
		"capability[]=authtype\nwwwauth[]=Basic realm=\"x\"\nwwwauth[]=\nstate[]=a\nephemeral=yes\n",
		"password_expiry_utc=1700000000\noauth_refresh_token=r\ncredential=c\nauthtype=Bearer\n",
		"url=cert:///etc/c.pem\n",
		"url=https://[fe80::1%25eth0]:8443/x\n",
		"protocol=https\nhost=sso.example.com\nusername=\npassword=\n\n",
		"url=https://:@sso.example.com\n",
		"\x00",
		"=\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		req, err := Parse(bytes.NewReader(in))
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		resp := Response{
			Protocol: req.Protocol, Host: req.Host, Path: req.Path, Username: req.Username,
			Password: req.Password, HasUsername: req.HasUsername, HasPassword: req.HasPassword,
			PasswordExpiry: req.PasswordExpiry,
		}
		var out bytes.Buffer
		if err := Format(&out, resp); err != nil {
			t.Fatalf("accepted request does not format: %v", err)
		}
		again, err := Parse(bytes.NewReader(out.Bytes()))
		if err != nil {
			t.Fatalf("formatted request does not parse: %v", err)
		}
		if again.Protocol != req.Protocol || again.Host != req.Host || again.Path != req.Path ||
			again.Username != req.Username || !again.Password.Equal(req.Password) ||
			again.HasUsername != req.HasUsername || again.HasPassword != req.HasPassword ||
			!again.PasswordExpiry.Equal(req.PasswordExpiry) {
			t.Fatalf("round trip changed the request")
		}
		// Matching must not panic on anything Parse accepts.
		if tg, ok := newTarget(req); ok {
			_ = keyOf(tg).name()
			if _, ok := storedKeyOf(store.Meta{Name: keyOf(tg).name(), Type: store.TypePassword, Hosts: []string{keyOf(tg).url()}}); !ok && validScheme(tg.protocol) && tg.username != "" {
				t.Fatalf("stored key does not round trip")
			}
		}
	})
}
