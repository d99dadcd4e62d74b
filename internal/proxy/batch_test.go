package proxy

import (
	"bytes"
	"net"
	"testing"
)

// countConn is a net.Conn that keeps what is written to it, write by
// write.
type countConn struct {
	net.Conn
	writes [][]byte
}

func (c *countConn) Write(b []byte) (int, error) {
	c.writes = append(c.writes, bytes.Clone(b))
	return len(b), nil
}

func TestBatchConnGathers(t *testing.T) {
	cc := &countConn{}
	c := &batchConn{Conn: cc}
	var want []byte
	record := func(i int) []byte { return bytes.Repeat([]byte{byte('a' + i%26)}, tlsRecord+29) }

	c.Write([]byte("hello"))
	want = append(want, "hello"...)
	if len(cc.writes) != 1 {
		t.Fatalf("a write outside a gathering waited: %d writes", len(cc.writes))
	}
	c.gather()
	for i := range 20 {
		b := record(i)
		c.Write(b)
		want = append(want, b...)
	}
	if err := c.send(); err != nil {
		t.Fatal(err)
	}
	// 20 records of 16 KiB in at most two writes of batchMax.
	if n := len(cc.writes); n > 3 {
		t.Errorf("%d writes to the socket for 20 records", n)
	}
	c.Write([]byte("bye"))
	want = append(want, "bye"...)
	if got := bytes.Join(cc.writes, nil); !bytes.Equal(got, want) {
		t.Errorf("the bytes changed on the way: %d bytes, want %d", len(got), len(want))
	}
	for _, w := range cc.writes {
		if len(w) > batchMax {
			t.Errorf("a write of %d bytes, over %d", len(w), batchMax)
		}
	}
}
