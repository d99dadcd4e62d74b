package proxy

import (
	"bufio"
	"context"
	"net"
	"time"
)

// upstreamReadSize is the most one read from a host's socket takes. The
// TLS layer reads a record or two at a time (some 30 KiB); a download
// read in larger pieces costs fewer system calls, and fewer window
// updates sent back to the host.
const upstreamReadSize = 256 << 10

// dialUpstream dials a host for the transport: a TCP connection read
// through a large buffer.
func dialUpstream(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &readBufConn{Conn: c, r: bufio.NewReaderSize(c, upstreamReadSize)}, nil
}

// readBufConn is a connection read through a buffer.
type readBufConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *readBufConn) Read(b []byte) (int, error) { return c.r.Read(b) }
