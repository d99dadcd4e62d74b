package proxy

import (
	"io"
	"net/http"
	"testing"
)

// BenchmarkRequest times a request through the proxy on a warm
// connection, the value put into a header and the use recorded by a fake
// that costs nothing: the proxy's own share of the overhead.
func BenchmarkRequest(b *testing.B) {
	r := newRigTB(b, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") }, nil)
	req, _ := http.NewRequest("GET", r.up.URL+"/api/user", nil)
	req.Header.Set("Authorization", "Bearer "+r.ph)
	do := func(c *http.Client) {
		resp, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	do(r.client)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		do(r.client)
	}
}

// BenchmarkDownload times 64 MiB through the proxy, the value put into
// the request (so the response is masked), in MB/s.
func BenchmarkDownload(b *testing.B) {
	const size = 64 << 20
	block := make([]byte, 1<<20)
	for i := range block {
		block[i] = "abcdefghij klmnop\n"[i%18]
	}
	r := newRigTB(b, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "67108864")
		for n := 0; n < size; n += len(block) {
			w.Write(block)
		}
	}, nil)
	req, _ := http.NewRequest("GET", r.up.URL+"/big", nil)
	req.Header.Set("Authorization", "Bearer "+r.ph)
	b.SetBytes(size)
	for b.Loop() {
		resp, err := r.client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if n != size {
			b.Fatalf("got %d bytes", n)
		}
	}
}
