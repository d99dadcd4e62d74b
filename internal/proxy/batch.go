package proxy

import (
	"net"
	"sync"
)

// batchMax bounds the bytes a batchConn gathers before it writes them.
const batchMax = 256 << 10

// batchConn is the socket under an intercepted TLS connection. The TLS
// layer writes each record (16 KiB at most) to the socket on its own;
// while a write of the connection is under way, batchConn gathers the
// records and sends them together, so a large response costs a few
// system calls and the reader a few wake-ups, not one per record.
type batchConn struct {
	net.Conn
	mu  sync.Mutex
	on  bool
	buf []byte
}

func (c *batchConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.on {
		return c.Conn.Write(b)
	}
	if len(c.buf) > 0 && len(c.buf)+len(b) > batchMax {
		if err := c.flushLocked(); err != nil {
			return 0, err
		}
	}
	if len(b) >= batchMax {
		return c.Conn.Write(b)
	}
	c.buf = append(c.buf, b...)
	return len(b), nil
}

// gather starts gathering writes; send ends it, writing what was gathered.
func (c *batchConn) gather() {
	c.mu.Lock()
	c.on = true
	c.mu.Unlock()
}

func (c *batchConn) send() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.on = false
	return c.flushLocked()
}

func (c *batchConn) flushLocked() error {
	if len(c.buf) == 0 {
		return nil
	}
	_, err := c.Conn.Write(c.buf)
	c.buf = c.buf[:0]
	return err
}
