package daemon

import (
	"context"
	"fmt"
	"net/http"

	"github.com/wsxdev/wsx/scan"
)

// Scan request sizes: a request carries at most scanRequestBytes of
// content (base64 in JSON, under MaxRequestBody); a longer buffer is sent
// in pieces that overlap by scanOverlap bytes, more than the longest form
// of a value the masker looks for in whole (8 KiB, JSON-escaped).
const (
	scanRequestBytes = 2 << 20
	scanOverlap      = 64 << 10
)

// ScanMatcher returns a scan.Matcher that asks the daemon where the
// store's values are in the bytes it is given: the values stay in the
// daemon.
func (c *Client) ScanMatcher() scan.Matcher { return scanMatcher{c} }

type scanMatcher struct{ c *Client }

// piece is part of a caller's buffer as sent.
type piece struct {
	buf, off int
}

func (s scanMatcher) Find(bufs [][]byte) ([][]scan.Match, error) {
	out := make([][]scan.Match, len(bufs))
	var (
		req    scanRequest
		pieces []piece
		size   int
	)
	flush := func() error {
		if len(req.Buffers) == 0 {
			return nil
		}
		var resp scanResponse
		if err := s.c.do(context.Background(), http.MethodPost, "/v1/scan", req, &resp); err != nil {
			return err
		}
		if len(resp.Matches) != len(req.Buffers) {
			return fmt.Errorf("wsx agent at %s: %d answers for %d buffers", s.c.socket, len(resp.Matches), len(req.Buffers))
		}
		for i, ms := range resp.Matches {
			p := pieces[i]
			for _, m := range ms {
				m.Start += p.off
				m.End += p.off
				if !containsMatch(out[p.buf], m) {
					out[p.buf] = append(out[p.buf], m)
				}
			}
		}
		req.Buffers, pieces, size = req.Buffers[:0], pieces[:0], 0
		return nil
	}
	for i, b := range bufs {
		for off := 0; ; {
			end := min(len(b), off+scanRequestBytes)
			if size+(end-off) > scanRequestBytes || len(req.Buffers) == MaxScanBuffers {
				if err := flush(); err != nil {
					return nil, err
				}
			}
			req.Buffers = append(req.Buffers, b[off:end])
			pieces = append(pieces, piece{i, off})
			size += end - off
			if end == len(b) {
				break
			}
			off = end - scanOverlap
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return out, nil
}

// containsMatch reports whether ms has m already (found in two
// overlapping pieces).
func containsMatch(ms []scan.Match, m scan.Match) bool {
	for _, x := range ms {
		if x == m {
			return true
		}
	}
	return false
}
