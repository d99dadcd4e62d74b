package erase

import (
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
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
//     caches evict entries whose key died) and collects again, so pooled
//     buffers (kept for one collection more) are freed too, and gives the
//     free pages back to the system (which zeroes them), so that no span
//     taken afterwards starts with old bytes in its unused slots;
//   - allocates, in every small size class, scan and noscan, every free
//     slot of the spans in use, which the allocator zeroes as it hands
//     them out, and drops them (on one processor, so that no other
//     processor's cache keeps spans aside, and with no collection
//     running, so that no span is being swept aside);
//   - takes, on as many goroutines, every free stack of each pooled size
//     (2 to 16 KiB; dead goroutines', and those the collector shrank or
//     grew away from) and zeroes it to its end;
//   - collects once more and gives every free page back to the system
//     (which zeroes it): large objects, emptied spans, dead goroutines'
//     stacks;
//   - loads zeros into the vector registers and has every thread take a
//     signal, so the register state saved on the signal stacks is zeros;
//   - before all that, overwrites the unused part of the calling
//     goroutine's stack (as Do does for the handlers).
//
// Not reached: what is still referenced (callers wipe that first), the
// unused stack of live goroutines (those that handle secrets clear their
// own: Do, Stack), free stacks smaller than the runtime's starting size,
// and registers of threads that run none of its goroutines. It takes
// about a tenth of a second on a small heap; one Garbage runs at a time.
func Garbage() {
	// Waiting by sleeps, not in Lock: a synctest bubble's clock moves
	// only while its goroutines are blocked durably, which a mutex is not.
	for !gcMu.TryLock() {
		time.Sleep(time.Millisecond)
	}
	defer gcMu.Unlock()
	clearStack()
	collect()
	// Free pages to the system first: the stack spans the goroutines
	// below take, and the heap spans filling takes, then start zeroed.
	debug.FreeOSMemory()
	clearFreeStacks()
	collect()
	clearFreeStacks()
	// One processor while filling: the spans another processor's cache
	// holds are out of this goroutine's reach; giving up a processor
	// flushes its cache. And no collection: one starting meanwhile would
	// leave spans to be swept, which the allocator passes over when the
	// sweeper has them, and takes fresh spans instead.
	procs := runtime.GOMAXPROCS(1)
	gcPercent := debug.SetGCPercent(-1)
	// Twice: what the first round's collections freed only through the
	// cleanups they ran is filled by the second.
	for range 2 {
		collect()
		unused := heapUnused()
		for _, c := range sizeClasses {
			fillClass(c, unused, false)
			fillClass(c, unused, true)
		}
	}
	debug.SetGCPercent(gcPercent)
	runtime.GOMAXPROCS(procs)
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

// collect runs a collection and waits (about 100 ms at most) for the
// cleanups it made due, then collects again. The wait polls a flag: the
// cleanup runs outside any synctest bubble the caller may be in, where it
// may not close the bubble's channels.
func collect() {
	var done atomic.Bool
	sentinel := new([16]byte)
	runtime.AddCleanup(sentinel, func(d *atomic.Bool) { d.Store(true) }, &done)
	sentinel = nil
	runtime.GC()
	for i := 0; i < 100 && !done.Load(); i++ {
		time.Sleep(time.Millisecond)
	}
	runtime.KeepAlive(sentinel)
	runtime.GC()
}

// clearFreeStacks zeroes the free goroutine stacks the runtime keeps for
// reuse. Goroutines, as many as the stack memory has stacks of the
// smallest size, start and wait for one another, so that each holds a
// distinct starting stack. Then each zeroes its stack to the end, which
// makes the runtime move it to one twice as large, and so on up to a
// stack size of its own (2 to 16 KiB), zeroes most of that one and waits
// again, so that the stacks of that size are held at once; then it zeroes
// the rest, and ends. Stacks smaller than the runtime's starting size
// (it adapts it to the average use) are reached only when a goroutine
// grows through them.
func clearFreeStacks() {
	stacks := uintptr(min(memStats().StackInuse, 64<<20))
	var started, grown, done sync.WaitGroup
	start, release := make(chan struct{}), make(chan struct{})
	for size := uintptr(2 << 10); size <= 16<<10; size *= 2 {
		n := int(stacks/size) + 8
		started.Add(n)
		grown.Add(n)
		done.Add(n)
		for range n {
			go func() {
				defer done.Done()
				started.Done()
				<-start
				var top byte
				cur := stackSize(descend(&top)) * 2
				for cur < size {
					descend(&top)
					cur *= 2
				}
				if cur == size {
					var mid byte
					zeroFrames(&mid, uintptr(unsafe.Pointer(&mid)), int(size-2<<10)/frameSize, nil)
				}
				grown.Done()
				<-release
				if cur == size {
					descend(&top)
				}
			}()
		}
	}
	started.Wait()
	close(start)
	grown.Wait()
	close(release)
	done.Wait()
}

// descend goes down in zeroed frames until the stack moves (grows), and
// returns how far below top it got on the old stack; top points into the
// caller's frame.
func descend(top *byte) uintptr {
	at := uintptr(unsafe.Pointer(top))
	deepest := at
	zeroFrames(top, at, 1<<20/frameSize, &deepest)
	return at - deepest
}

// stackSize is the size of a stack that descend left after reaching
// depth: the runtime keeps the last 928 bytes (the guard) and more for
// the frames above and the last call's, and stack sizes are powers of 2.
func stackSize(depth uintptr) uintptr {
	size := uintptr(2 << 10)
	for size < depth+1024 {
		size *= 2
	}
	return size
}

// heapUnused is the heap memory held in spans but in no object.
func heapUnused() uint64 {
	m := memStats()
	return m.HeapInuse - m.HeapAlloc
}

// memStats reads the runtime's memory statistics. It stops the world for
// a moment; runtime/metrics would not, but its initialisation costs every
// wsx process about a millisecond.
func memStats() *runtime.MemStats {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return &m
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
	// Filling ends at a run of fresh slots: consecutive ones from a page
	// boundary, a span's worth and at least 16 KiB, which a partly used
	// span cannot give (with one or two slots to a span, a free first slot
	// of a partly used one would look like a fresh span).
	fresh := max(perSpan, (16<<10)/c.size)
	n := c.size
	if scan && n > 512 {
		n -= 8 // the malloc header of larger objects with pointers
	}
	run, prev := 0, uintptr(0)
	for i := 0; i < limit && run < fresh; i++ {
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
	zeroFrames(&top, uintptr(unsafe.Pointer(&top)), 64<<10/frameSize, nil)
}

const frameSize = 256

// zeroFrames is one zeroed frame, and n more below it; top points into
// the frame of the first call, and no longer equals at once the stack
// moved, which ends the descent. deepest, when not nil, gets the address
// of the deepest frame on the old stack.
//
//go:noinline
func zeroFrames(top *byte, at uintptr, n int, deepest *uintptr) {
	var b [frameSize]byte
	touch(&b)
	if uintptr(unsafe.Pointer(top)) != at {
		return
	}
	if deepest != nil {
		*deepest = uintptr(unsafe.Pointer(&b))
	}
	if n > 0 {
		zeroFrames(top, at, n-1, deepest)
	}
}

//go:noinline
func touch(b *[frameSize]byte) {
	if b[0] != 0 {
		panic("erase: a fresh frame is not zero")
	}
}
