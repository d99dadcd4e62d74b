package erase

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Garbage zeroes the memory the process no longer uses, so that what was
// dropped (a locked store's values and keys, the copies libraries made of
// them: PEM and JSON decoders, crypto's expanded keys and caches, pooled
// buffers) cannot be read back from it. Go's collector frees memory without
// zeroing it; Garbage
//
//   - collects, waits for the cleanups the collection queued (crypto's key
//     caches evict entries whose key died) and collects again, twice, so
//     pooled buffers (kept for one collection more) are freed too;
//   - allocates, in every small size class, scan and noscan, every free
//     slot of the spans in use, which the allocator zeroes as it hands
//     them out, and drops them;
//   - takes, on as many goroutines, every free stack of each pooled size
//     (2 to 16 KiB; dead goroutines', and those the collector shrank or
//     grew away from) and zeroes it to its end;
//   - collects once more and gives every free page back to the system
//     (which zeroes it): large objects, emptied spans, dead goroutines'
//     stacks;
//   - before all that, overwrites the unused part of the calling
//     goroutine's stack (as Do does for the handlers).
//
// Not reached: what is still referenced (callers wipe that first), the
// unused stack of other goroutines, and CPU registers. It takes a few
// milliseconds on a small heap; one Garbage runs at a time.
func Garbage() {
	gcMu.Lock()
	defer gcMu.Unlock()
	clearStack()
	collect()
	clearFreeStacks()
	collect()
	clearFreeStacks()
	collect()
	unused := heapUnused()
	for _, c := range sizeClasses {
		fillClass(c, unused, false)
		fillClass(c, unused, true)
	}
	debug.FreeOSMemory()
	clearSignalFrames()
}

// clearSignalFrames overwrites the register state each thread's signal
// handler saved on its signal stack (the runtime's preemption signals
// save vector registers there, which may still hold key bytes a copy
// passed through): goroutines on every processor load zeros into the
// vector registers, then every thread gets the runtime's preemption
// signal, whose handler saves the cleared registers over the old ones.
func clearSignalFrames() {
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) * 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			clearVectors()
		}()
	}
	clearVectors()
	wg.Wait()
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return
	}
	pid := os.Getpid()
	for _, t := range tasks {
		if tid, err := strconv.Atoi(t.Name()); err == nil {
			_ = unix.Tgkill(pid, tid, unix.SIGURG)
		}
	}
	clearVectors()
}

// clearVectors copies zeros through the vector registers memmove uses.
//
//go:noinline
func clearVectors() {
	var a, b [1024]byte
	copy(a[:], b[:])
	touchVec(&a)
}

//go:noinline
func touchVec(b *[1024]byte) {
	if b[0] != 0 {
		panic("erase: copied zeros are not zero")
	}
}

var gcMu sync.Mutex

// collect runs a collection and waits (at most 100 ms) for the cleanups it
// made due.
func collect() {
	done := make(chan struct{})
	sentinel := new([16]byte)
	runtime.AddCleanup(sentinel, func(ch chan struct{}) { close(ch) }, done)
	sentinel = nil
	runtime.GC()
	select {
	case <-done:
	case <-time.After(100 * time.Millisecond):
	}
	runtime.KeepAlive(sentinel)
	runtime.GC()
}

// clearFreeStacks zeroes the free goroutine stacks the runtime keeps
// for reuse: for each pooled stack size, as many goroutines as that size
// fits in the stack memory grow to it, zeroing each stack they leave, and
// wait for one another, so that each holds a distinct stack; then each
// zeroes the rest of its own and ends.
func clearFreeStacks() {
	s := []metrics.Sample{{Name: "/memory/classes/heap/stacks:bytes"}}
	metrics.Read(s)
	stacks := uint64(1 << 20)
	if s[0].Value.Kind() == metrics.KindUint64 {
		stacks = s[0].Value.Uint64()
	}
	stacks = min(stacks, 64<<20)
	var grown sync.WaitGroup
	release := make(chan struct{})
	var done sync.WaitGroup
	for moves, size := 0, uint64(2<<10); size <= 16<<10; moves, size = moves+1, size*2 {
		n := int(stacks/size) + 8
		grown.Add(n)
		done.Add(n)
		for range n {
			go func() {
				defer done.Done()
				var top byte
				// Down to the stack of this size, zeroing those left.
				zeroUntilMoved(&top, moves)
				// Most of it, without growing, then wait.
				var mid byte
				zeroFrames(&mid, uintptr(unsafe.Pointer(&mid)), int(size-2<<10)/frameSize)
				grown.Done()
				<-release
				// The rest: down until the stack grows away from it.
				zeroUntilMoved(&top, 1)
			}()
		}
	}
	grown.Wait()
	close(release)
	done.Wait()
}

// zeroUntilMoved goes down in zeroed frames until the stack has moved
// (grown) moves times; top points into the caller's frame.
func zeroUntilMoved(top *byte, moves int) {
	for ; moves > 0; moves-- {
		zeroFrames(top, uintptr(unsafe.Pointer(top)), 1<<20/frameSize)
	}
}

// heapUnused is the heap memory held in spans but in no object.
func heapUnused() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/unused:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 1 << 20
	}
	return s[0].Value.Uint64()
}

// sizeClass is one of the runtime's small object size classes: objects of
// size bytes, in spans of pages 8 KiB pages.
type sizeClass struct {
	size, pages int
}

const pageSize = 8 << 10

// sizeClasses are the runtime's (internal/runtime/gc/sizeclasses.go) up to
// 32 KiB; TestSizeClasses checks them against the allocator.
var sizeClasses = []sizeClass{
	{8, 1}, {16, 1}, {24, 1}, {32, 1}, {48, 1}, {64, 1}, {80, 1}, {96, 1}, {112, 1}, {128, 1},
	{144, 1}, {160, 1}, {176, 1}, {192, 1}, {208, 1}, {224, 1}, {240, 1}, {256, 1}, {288, 1},
	{320, 1}, {352, 1}, {384, 1}, {416, 1}, {448, 1}, {480, 1}, {512, 1}, {576, 1}, {640, 1},
	{704, 1}, {768, 1}, {896, 1}, {1024, 1}, {1152, 1}, {1280, 1}, {1408, 2}, {1536, 1},
	{1792, 2}, {2048, 1}, {2304, 2}, {2688, 1}, {3072, 3}, {3200, 2}, {3456, 3}, {4096, 1},
	{4864, 3}, {5376, 2}, {6144, 3}, {6528, 4}, {6784, 5}, {6912, 6}, {8192, 1}, {9472, 7},
	{9728, 6}, {10240, 5}, {10880, 4}, {12288, 3}, {13568, 5}, {14336, 7}, {16384, 2},
	{18432, 9}, {19072, 7}, {20480, 5}, {21760, 8}, {24576, 3}, {27264, 10}, {28672, 7},
	{32768, 4},
}

// Where fillClass keeps what it allocates until the class is done, so
// that no slot is handed out twice.
var (
	heldBytes [][]byte
	heldPtrs  [][]unsafe.Pointer
)

// fillClass allocates objects of class c (with pointers when scan) until
// the allocator hands out a whole span in order from its first slot, a
// span that was free, not one with free slots between live objects; at
// most unused bytes' worth and two spans more.
func fillClass(c sizeClass, unused uint64, scan bool) {
	if !scan && c.size < 16 {
		return // pointer-free objects below 16 bytes share 16-byte blocks
	}
	// A span of small objects may keep up to 256 bytes of pointer and
	// mark bits at its end: count on the slots before them.
	perSpan := (c.pages*pageSize - 256) / c.size
	limit := int(unused/uint64(c.size)) + 2*perSpan
	n := c.size
	if scan && n > 512 {
		n -= 8 // the malloc header of larger objects with pointers
	}
	run, prev := 0, uintptr(0)
	for i := 0; i < limit && run < perSpan; i++ {
		var p uintptr
		if scan {
			b := make([]unsafe.Pointer, n/8)
			heldPtrs = append(heldPtrs, b)
			p = uintptr(unsafe.Pointer(unsafe.SliceData(b)))
		} else {
			b := make([]byte, n)
			heldBytes = append(heldBytes, b)
			p = uintptr(unsafe.Pointer(unsafe.SliceData(b)))
		}
		if scan && c.size > 512 {
			p -= 8
		}
		switch {
		case run > 0 && p == prev+uintptr(c.size):
			run++
		case p%pageSize == 0:
			run = 1
		default:
			run = 0
		}
		prev = p
	}
	heldBytes, heldPtrs = nil, nil
}

// Stack overwrites the unused part of the calling goroutine's stack,
// below the caller's frame, with zeros: frames of zeroed memory, one below
// the other, down to the end of the stack (at most 64 KiB). When the
// runtime grows the stack to make room for one more frame, the old stack,
// now zeroed to its end, is freed and the descent stops. A goroutine that
// handled a secret calls it before it blocks: the collector may move a
// blocked goroutine's stack, and the copy it frees is not zeroed.
func Stack() { clearStack() }

func clearStack() {
	var top byte
	zeroFrames(&top, uintptr(unsafe.Pointer(&top)), 64<<10/frameSize)
}

const frameSize = 256

// zeroFrames is one zeroed frame; top points into the frame of the first
// call, and no longer equals at once the stack moved.
//
//go:noinline
func zeroFrames(top *byte, at uintptr, n int) {
	var b [frameSize]byte
	touch(&b)
	if n > 0 && uintptr(unsafe.Pointer(top)) == at {
		zeroFrames(top, at, n-1)
	}
}

//go:noinline
func touch(b *[frameSize]byte) {
	if b[0] != 0 {
		panic("erase: a fresh frame is not zero")
	}
}
