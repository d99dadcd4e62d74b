package proxy

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"log"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/wsxdev/wsx/internal/mask"
	"github.com/wsxdev/wsx/store"
)

// found is what find saw in a request: the secrets whose placeholders it
// carries, and its body when it was read to look in it.
type found struct {
	secrets []bound
	body    []byte
	read    bool
}

var errBodyRead = errors.New("cannot read the request body")

// find looks for placeholders in r: every header (Basic credentials
// decoded), the URL path and query, and the body when its media type is
// declared and it is at most maxBody bytes (a longer body passes as it is).
func (p *Proxy) find(r *http.Request) (found, error) {
	var f found
	var hay []string
	for _, vs := range r.Header {
		for _, v := range vs {
			hay = append(hay, v)
			if user, ok := basicCredentials(v); ok {
				hay = append(hay, user)
			}
		}
	}
	hay = append(hay, r.URL.Path, r.URL.RawPath, r.URL.RawQuery)
	if p.declared(r) {
		b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
		if err != nil {
			return f, errBodyRead
		}
		if len(b) > maxBody {
			r.Body = struct {
				io.Reader
				io.Closer
			}{io.MultiReader(bytes.NewReader(b), r.Body), r.Body}
		} else {
			r.Body.Close()
			r.Body = io.NopCloser(bytes.NewReader(b))
			f.body, f.read = b, true
			hay = append(hay, string(b))
		}
	}
	for _, s := range p.secrets {
		for _, h := range hay {
			if strings.Contains(h, s.ph) {
				f.secrets = append(f.secrets, s)
				break
			}
		}
	}
	return f, nil
}

// declared says whether r's body is of a media type the placeholders are
// replaced in.
func (p *Proxy) declared(r *http.Request) bool {
	if len(p.bodies) == 0 || r.Body == nil || r.Body == http.NoBody {
		return false
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && p.bodies[mt]
}

// basicCredentials decodes "Basic BASE64".
func basicCredentials(v string) (string, bool) {
	scheme, enc, ok := strings.Cut(v, " ")
	if !ok || !strings.EqualFold(scheme, "basic") {
		return "", false
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(enc))
	if err != nil {
		return "", false
	}
	return string(b), true
}

// substitute returns a copy of r with the placeholder of each secret of
// use replaced by its value from secs.
func (p *Proxy) substitute(r *http.Request, f found, use []bound, secs []store.Secret) (*http.Request, error) {
	vals := make(map[string][]byte, len(secs))
	for _, s := range secs {
		vals[s.Name] = s.Value.Bytes()
	}
	var pairs, pathPairs, queryPairs []string
	for _, s := range use {
		v, ok := vals[s.name]
		if !ok {
			return nil, errors.New("secret " + s.name + " was not released")
		}
		pairs = append(pairs, s.ph, string(v))
		pathPairs = append(pathPairs, s.ph, url.PathEscape(string(v)))
		queryPairs = append(queryPairs, s.ph, url.QueryEscape(string(v)))
		p.masks.add(v)
	}
	rep := newReplacer(pairs)
	out := r.Clone(r.Context())
	for k, vs := range out.Header {
		for i, v := range vs {
			if user, ok := basicCredentials(v); ok {
				if nu := rep.Replace(user); nu != user {
					scheme, _, _ := strings.Cut(v, " ")
					vs[i] = scheme + " " + base64.StdEncoding.EncodeToString([]byte(nu))
					continue
				}
			}
			vs[i] = rep.Replace(v)
		}
		out.Header[k] = vs
	}
	u := *r.URL
	if u.RawPath != "" {
		u.RawPath = newReplacer(pathPairs).Replace(u.RawPath)
		if dp, err := url.PathUnescape(u.RawPath); err == nil {
			u.Path = dp
		}
	} else if np := rep.Replace(u.Path); np != u.Path {
		u.Path = np
		u.RawPath = newReplacer(pathPairs).Replace(r.URL.EscapedPath())
	}
	u.RawQuery = newReplacer(queryPairs).Replace(u.RawQuery)
	out.URL = &u
	if f.read {
		nb := []byte(rep.Replace(string(f.body)))
		out.Body = io.NopCloser(bytes.NewReader(nb))
		out.ContentLength = int64(len(nb))
		out.Header.Set("Content-Length", strconv.Itoa(len(nb)))
		out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(nb)), nil }
	}
	return out, nil
}

// replacer replaces placeholders with values.
type replacer interface{ Replace(string) string }

// oneReplacer replaces one placeholder: what a request carries most
// often, which then costs no table built for it.
type oneReplacer struct{ old, new string }

func (o oneReplacer) Replace(s string) string { return strings.ReplaceAll(s, o.old, o.new) }

// newReplacer replaces each pairs[2i] with pairs[2i+1], in one pass.
func newReplacer(pairs []string) replacer {
	if len(pairs) == 2 {
		return oneReplacer{pairs[0], pairs[1]}
	}
	return strings.NewReplacer(pairs...)
}

// masks are the values this run has put into requests: what a response
// must not carry back.
type masks struct {
	mu     sync.Mutex
	values [][]byte
	m      *mask.Masker
}

func (ms *masks) add(v []byte) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	for _, have := range ms.values {
		if bytes.Equal(have, v) {
			return
		}
	}
	ms.values = append(ms.values, bytes.Clone(v))
	ms.m = mask.New(ms.values)
}

func (ms *masks) get() *mask.Masker {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return ms.m
}

// quietLog drops the servers' own complaints (a client that hung up):
// nothing of a request is logged.
func quietLog() *log.Logger { return log.New(io.Discard, "", 0) }
