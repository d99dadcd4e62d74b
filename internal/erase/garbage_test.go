package erase

import (
	"bytes"
	"os"
	"runtime"
	"testing"
	"time"
	"unsafe"
)

// TestGarbageZeroesFreedObjects drops buffers holding a pattern between
// live objects of the same size, so their span stays in use: a plain
// collection leaves the pattern in memory, Garbage does not.
func TestGarbageZeroesFreedObjects(t *testing.T) {
	mem, err := os.Open("/proc/self/mem")
	if err != nil {
		t.Skip("no /proc/self/mem:", err)
	}
	defer mem.Close()
	pattern := bytes.Repeat([]byte("erase-me-"), 8)[:64]
	for _, size := range []int{64, 96, 1024, 1280, 1408, 4096, 9472} {
		var live [][]byte
		var freed []uintptr
		for i := range 256 {
			b := make([]byte, size)
			if i%2 == 0 {
				live = append(live, b)
				continue
			}
			copy(b, pattern)
			freed = append(freed, uintptr(unsafe.Pointer(unsafe.SliceData(b))))
		}
		found := func() int {
			n := 0
			buf := make([]byte, len(pattern))
			for _, p := range freed {
				if _, err := mem.ReadAt(buf, int64(p)); err == nil && bytes.Equal(buf, pattern) {
					n++
				}
			}
			return n
		}
		runtime.GC()
		if found() == 0 {
			t.Fatalf("size %d: a collection alone erased the pattern: the test cannot fail", size)
		}
		Garbage()
		if n := found(); n > 0 {
			t.Errorf("size %d: %d of %d freed buffers still hold the pattern after Garbage", size, n, len(freed))
		}
		runtime.KeepAlive(live)
	}
}

// TestSizeClasses checks the size class table against the allocator, which
// rounds a slice's capacity up to its class.
func TestSizeClasses(t *testing.T) {
	prev := 0
	for _, c := range sizeClasses {
		if got := cap(append([]byte(nil), make([]byte, prev+1)...)); got != c.size {
			t.Errorf("a slice of %d bytes gets %d, the table says class %d", prev+1, got, c.size)
		}
		if c.pages*pageSize < c.size {
			t.Errorf("class %d: %d pages cannot hold one object", c.size, c.pages)
		}
		prev = c.size
	}
}

// TestDoClearsStack leaves a pattern in a frame below Do's: once Do
// returns, it is gone from the stack.
func TestDoClearsStack(t *testing.T) {
	mem, err := os.Open("/proc/self/mem")
	if err != nil {
		t.Skip("no /proc/self/mem:", err)
	}
	defer mem.Close()
	pattern := []byte("stack-pattern-0123456789-abcdefghij")
	read := func(at uintptr) []byte {
		buf := make([]byte, len(pattern))
		if _, err := mem.ReadAt(buf, int64(at)); err != nil {
			t.Fatal(err)
		}
		return buf
	}
	for _, depth := range []int{60, 100} { // below the frames of read
		var at uintptr
		plant(200, nil, &at) // grow the stack first, so it does not move below
		plant(depth, pattern, &at)
		if !bytes.Equal(read(at), pattern) {
			t.Fatalf("depth %d: the pattern is not where it was written: the test cannot fail", depth)
		}
		Do(func() { plant(depth, pattern, &at) })
		if bytes.Equal(read(at), pattern) {
			t.Errorf("depth %d: the pattern is still on the stack after Do", depth)
		}
	}
}

// plant writes pattern into a frame depth calls down and notes its address.
//
//go:noinline
func plant(depth int, pattern []byte, at *uintptr) {
	var pad [64]byte
	if depth > 0 {
		plant(depth-1, pattern, at)
		touchPad(&pad)
		return
	}
	var b [64]byte
	copy(b[:], pattern)
	*at = uintptr(unsafe.Pointer(&b))
	touchPad(&b)
}

//go:noinline
func touchPad(b *[64]byte) {
	if b[63] == 1 {
		panic("unreachable")
	}
}

// TestStackSize checks that descend measures the stack it leaves: a
// goroutine's stacks double, from the size the runtime starts it with.
func TestStackSize(t *testing.T) {
	sizes := make(chan []uintptr)
	go func() {
		var top byte
		var got []uintptr
		for range 4 {
			got = append(got, stackSize(descend(&top)))
		}
		sizes <- got
	}()
	got := <-sizes
	for i := 1; i < len(got); i++ {
		if got[i] != 2*got[i-1] {
			t.Fatalf("stack sizes %v do not double", got)
		}
	}
	if got[0] < 2<<10 {
		t.Fatalf("a first stack of %d bytes", got[0])
	}
}

// TestGarbageClearsDeadStacks leaves a pattern on the stack of a goroutine
// that ends: the stack, kept for reuse, still holds it; after Garbage it
// does not.
func TestGarbageClearsDeadStacks(t *testing.T) {
	mem, err := os.Open("/proc/self/mem")
	if err != nil {
		t.Skip("no /proc/self/mem:", err)
	}
	defer mem.Close()
	pattern := []byte("dead-stack-pattern-0123456789-abcdef")
	found := func(ats []uintptr) int {
		n := 0
		buf := make([]byte, len(pattern))
		for _, at := range ats {
			if _, err := mem.ReadAt(buf, int64(at)); err == nil && bytes.Equal(buf, pattern) {
				n++
			}
		}
		return n
	}
	var ats []uintptr
	before := runtime.NumGoroutine()
	for _, depth := range []int{5, 30, 60, 120} {
		ch := make(chan uintptr)
		go func() {
			var at uintptr
			plant(depth, pattern, &at)
			ch <- at
		}()
		ats = append(ats, <-ch)
	}
	// A goroutine that sent its answer may not have ended yet (on a busy
	// machine it waits for a core): its stack is then live, not garbage.
	for deadline := time.Now().Add(10 * time.Second); runtime.NumGoroutine() > before && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	if found(ats) == 0 {
		t.Fatal("no pattern left on the dead goroutines' stacks: the test cannot fail")
	}
	Garbage()
	if n := found(ats); n > 0 {
		t.Errorf("%d of %d patterns still on free stacks after Garbage", n, len(ats))
	}
}
