package proxy

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/wsxdev/wsx/internal/mask"
)

// The response path. A response's header is masked whole; its body is
// masked as the reverse proxy writes it to the command, by a mask.Writer
// between the proxy and the connection: the bytes that can hold no value
// go out from the proxy's own buffer, uncopied, and only the longest tail
// that may begin a value (shorter than the longest form of a value) waits
// for the next bytes.

type writerKey struct{}

// maskResponse masks in resp's header every value the run has used, and
// has its body masked on its way to the command. A small body of known
// length is read whole and masked at once, and keeps a length: the
// command gets the response in one write. Any other masked body loses
// its length: it goes chunked.
func (p *Proxy) maskResponse(resp *http.Response) error {
	m := p.masks.get()
	if m == nil {
		return nil
	}
	maskHeader(m, resp.Header)
	if resp.Body == nil || resp.Body == http.NoBody {
		return nil
	}
	if resp.ContentLength >= 0 && resp.ContentLength <= smallBody && len(resp.Trailer) == 0 {
		return maskWhole(m, resp)
	}
	w, _ := resp.Request.Context().Value(writerKey{}).(*maskingWriter)
	if w == nil {
		return errNoWriter
	}
	w.start(m)
	resp.Body = &maskedBody{src: resp.Body, w: w, m: m, trailer: resp.Trailer, whole: resp.ContentLength > 0}
	resp.ContentLength = -1
	resp.Header.Del("Content-Length")
	return nil
}

var errNoWriter = errors.New("response without its masking writer")

// smallBody bounds a body maskResponse reads whole.
const smallBody = 64 << 10

// maskWhole reads resp's body, of known length, and replaces it with the
// body masked. A body cut short is an error: nothing of it is sent.
func maskWhole(m *mask.Masker, resp *http.Response) error {
	b := make([]byte, resp.ContentLength)
	_, err := io.ReadFull(resp.Body, b)
	resp.Body.Close()
	if err != nil {
		return err
	}
	b = m.Mask(b)
	resp.Body = io.NopCloser(bytes.NewReader(b))
	resp.ContentLength = int64(len(b))
	resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
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

// maskingWriter is the reverse proxy's ResponseWriter. It masks the
// header of every response it writes, the informational ones (103 Early
// Hints) included, which the reverse proxy passes on before
// ModifyResponse sees the final one; and once maskResponse started it,
// the body.
type maskingWriter struct {
	http.ResponseWriter
	p *Proxy

	body *mask.Writer // of the response body, once started

	// mu guards the ResponseWriter once body's timer may write to it:
	// bytes held back as the possible beginning of a value go out when
	// the host pauses.
	mu      sync.Mutex
	writing atomic.Bool // a Write is under way; the reverse proxy flushes after it
	drop    bool        // the body broke off: what is held back is not sent
}

func (w *maskingWriter) WriteHeader(code int) {
	if m := w.p.masks.get(); m != nil {
		maskHeader(m, w.ResponseWriter.Header())
	}
	w.ResponseWriter.WriteHeader(code)
}

// start masks the body from now on, with m.
func (w *maskingWriter) start(m *mask.Masker) {
	w.body = m.Writer((*bodySink)(w))
}

func (w *maskingWriter) Write(b []byte) (int, error) {
	if w.body == nil {
		return w.ResponseWriter.Write(b)
	}
	w.writing.Store(true)
	defer w.writing.Store(false)
	return w.body.Write(b)
}

// FlushError flushes what was written; what the body's masking holds back
// stays until the bytes that decide it.
func (w *maskingWriter) FlushError() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *maskingWriter) Flush() { _ = w.FlushError() }

// end closes the body's masking; when the body broke off, the bytes held
// back are dropped, so no beginning of a value goes out on a cut response.
func (w *maskingWriter) end(broke bool) error {
	if w.body == nil {
		return nil
	}
	if broke {
		w.mu.Lock()
		w.drop = true
		w.mu.Unlock()
	}
	return w.body.Close()
}

func (w *maskingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// bodySink is where a maskingWriter's body masking writes: the
// ResponseWriter, under the lock, flushed when the write comes from the
// masking's timer rather than from a Write the reverse proxy will flush.
type bodySink maskingWriter

func (s *bodySink) Write(b []byte) (int, error) {
	w := (*maskingWriter)(s)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.drop {
		return len(b), nil
	}
	n, err := w.ResponseWriter.Write(b)
	if err == nil && !w.writing.Load() {
		err = http.NewResponseController(w.ResponseWriter).Flush()
	}
	return n, err
}

// maskedBody is a response body on its way through a maskingWriter: it
// reads a download in large pieces, and at its end closes the masking and
// masks the trailer.
type maskedBody struct {
	src     io.ReadCloser
	w       *maskingWriter
	m       *mask.Masker
	trailer http.Header // filled in by the transport at the body's end
	whole   bool        // the host said how long the body is: not a stream
	ended   bool        // src said io.EOF
	closed  bool
}

// tlsRecord is the most a TLS record carries: a read that returns this
// much probably left more behind, already received.
const tlsRecord = 16 << 10

// Read reads what src has into p. For a body of known length it reads on
// while each read comes back full, so a download goes out in large
// writes; a stream goes out as it comes.
func (b *maskedBody) Read(p []byte) (int, error) {
	n := 0
	for {
		m, err := b.src.Read(p[n:])
		n += m
		if err == io.EOF {
			b.ended = true
		}
		if err != nil || !b.whole || m < tlsRecord || len(p)-n < tlsRecord {
			return n, err
		}
	}
}

// Close passes on the bytes held back (masked where they complete a
// value) when the body ended, drops them when it broke off, and masks the
// trailer, which the reverse proxy copies after it.
func (b *maskedBody) Close() error {
	if b.closed {
		return nil
	}
	b.closed = true
	err := b.src.Close()
	if werr := b.w.end(!b.ended); err == nil {
		err = werr
	}
	maskHeader(b.m, b.trailer)
	return err
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
