package daemon

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/wsxdev/wsx/scan"
	"github.com/wsxdev/wsx/sshagent"
	"github.com/wsxdev/wsx/store"
)

// scanRequest is the body of POST /v1/scan: bytes to look for stored
// values in (a batch of files, or pieces of one).
type scanRequest struct {
	Buffers [][]byte `json:"buffers"`
}

// scanResponse answers it: for each buffer, where a stored value is and
// which; never a value.
type scanResponse struct {
	Matches [][]scan.Match `json:"matches"`
}

// MaxScanBuffers bounds the buffers of one POST /v1/scan.
const MaxScanBuffers = 4096

// handleScan finds the store's values, current and previous, in the bytes
// sent. The values never leave the daemon; the answer is offsets and
// names. Nothing is recorded: no value is released, and the client records
// each leak it reports (`leaked`) with the file and line only it knows.
// The permission is PermUse's: whoever may use a value may learn where it
// is written.
func (d *Daemon) handleScan(w http.ResponseWriter, r *http.Request, _ sshagent.Peer) error {
	var req scanRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if len(req.Buffers) > MaxScanBuffers {
		return fmt.Errorf("%w: a scan request holds at most %d buffers, not %d", errBadRequest, MaxScanBuffers, len(req.Buffers))
	}
	m, err := d.scanMatcher()
	if err != nil {
		return err
	}
	matches, err := m.Find(req.Buffers)
	if err != nil {
		return err
	}
	for i := range matches {
		if matches[i] == nil {
			matches[i] = []scan.Match{}
		}
	}
	return writeJSON(w, http.StatusOK, scanResponse{Matches: matches})
}

// scanMatcher returns the matcher of every value in the store, current
// and previous. It is built once per unlock and after each change, as the
// masks of recorded argv are, and dropped with them, so a lock leaves no
// value behind.
func (d *Daemon) scanMatcher() (*scan.ValueMatcher, error) {
	d.mu.RLock()
	m, gen := d.scanM, d.scanGen
	d.mu.RUnlock()
	if m != nil {
		return m, nil
	}
	metas, err := d.st.List()
	if err != nil && metas == nil {
		return nil, err
	}
	var vals []scan.Value
	for _, meta := range metas {
		sec, err := d.st.Get(meta.Name)
		if errors.Is(err, store.ErrNotFound) {
			continue // removed meanwhile
		}
		if err != nil {
			return nil, err
		}
		vals = append(vals, scan.Value{Secret: sec.Name, Bytes: sec.Value.Bytes()})
		if !sec.PreviousValue.IsZero() {
			vals = append(vals, scan.Value{Secret: sec.Name, Previous: true, Bytes: sec.PreviousValue.Bytes()})
		}
	}
	m, _ = scan.NewValueMatcher(vals)
	d.mu.Lock()
	// Kept only when no lock, unlock or change came meanwhile.
	if d.rel != nil && d.scanGen == gen {
		d.scanM = m
	}
	d.mu.Unlock()
	return m, nil
}
