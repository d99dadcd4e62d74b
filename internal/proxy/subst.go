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
	rep := strings.NewReplacer(pairs...)
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
		u.RawPath = strings.NewReplacer(pathPairs...).Replace(u.RawPath)
		if dp, err := url.PathUnescape(u.RawPath); err == nil {
			u.Path = dp
		}
	} else if np := rep.Replace(u.Path); np != u.Path {
		u.Path = np
		u.RawPath = strings.NewReplacer(pathPairs...).Replace(r.URL.EscapedPath())
	}
	u.RawQuery = strings.NewReplacer(queryPairs...).Replace(u.RawQuery)
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

// maskResponse masks in resp's headers and body every value the run has
// used. A masked body loses its length: it goes chunked.
func (p *Proxy) maskResponse(resp *http.Response) error {
	m := p.masks.get()
	if m == nil {
		return nil
	}
	maskHeader(m, resp.Header)
	if resp.Body == nil || resp.Body == http.NoBody {
		return nil
	}
	size := 32 << 10
	if resp.ContentLength > int64(size) {
		size = 256 << 10 // a download: large reads and writes
	}
	mb := &maskedBody{src: resp.Body, buf: make([]byte, size), m: m, trailer: resp.Trailer, whole: resp.ContentLength > 0}
	mb.mw = m.Writer(&mb.ready)
	resp.Body = mb
	resp.ContentLength = -1
	resp.Header.Del("Content-Length")
	return nil
}

// maskHeader masks every value of h in place.
func maskHeader(m *mask.Masker, h http.Header) {
	for k, vs := range h {
		for i, v := range vs {
			vs[i] = string(m.Mask([]byte(v)))
		}
		h[k] = vs
	}
}

// maskingWriter masks the header of every response it writes, the
// informational ones (103 Early Hints) included, which the reverse proxy
// passes on before ModifyResponse sees the final one.
type maskingWriter struct {
	http.ResponseWriter
	p *Proxy
}

func (w *maskingWriter) WriteHeader(code int) {
	if m := w.p.masks.get(); m != nil {
		maskHeader(m, w.ResponseWriter.Header())
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *maskingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// maskedBody is a response body read through a masking writer, in the
// reader's goroutine: what the writer lets through waits in ready.
type maskedBody struct {
	src     io.ReadCloser
	m       *mask.Masker
	trailer http.Header // filled in by the transport at the body's end
	whole   bool        // the host said how long the body is: not a stream
	mw      *mask.Writer
	ready   lockedBuffer
	buf     []byte
	err     error // of src, once it ended
}

func (b *maskedBody) Read(p []byte) (int, error) {
	for {
		if n, _ := b.ready.Read(p); n > 0 {
			return n, nil
		}
		if b.err != nil {
			return 0, b.err
		}
		n, err := b.fill()
		if n > 0 {
			if _, werr := b.mw.Write(b.buf[:n]); werr != nil {
				b.err = werr
			}
		}
		if err != nil && b.err == nil {
			// The bytes held back as a possible start of a value go out.
			b.mw.Close()
			b.err = err
			maskHeader(b.m, b.trailer)
		}
	}
}

// tlsRecord is the most a TLS record carries: a read that returns this
// much probably left more behind, already received.
const tlsRecord = 16 << 10

// fill reads what src has into buf. For a body of known length it reads
// on while each read comes back full, so a download goes out in large
// writes; a stream goes out as it comes.
func (b *maskedBody) fill() (int, error) {
	n := 0
	for {
		m, err := b.src.Read(b.buf[n:])
		n += m
		if err != nil || !b.whole || m < tlsRecord || len(b.buf)-n < tlsRecord {
			return n, err
		}
	}
}

func (b *maskedBody) Close() error {
	b.mw.Close()
	return b.src.Close()
}

// lockedBuffer is a bytes.Buffer the masking writer's timer may write to
// while the body is read.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) Read(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() == 0 {
		return 0, nil
	}
	return l.b.Read(p)
}

// bufferPool lends the reverse proxy its copy buffers.
type bufferPool struct{ p sync.Pool }

func (bp *bufferPool) Get() []byte {
	if b, ok := bp.p.Get().(*[]byte); ok {
		return *b
	}
	return make([]byte, 256<<10)
}

func (bp *bufferPool) Put(b []byte) { bp.p.Put(&b) }

// quietLog drops the servers' own complaints (a client that hung up):
// nothing of a request is logged.
func quietLog() *log.Logger { return log.New(io.Discard, "", 0) }
