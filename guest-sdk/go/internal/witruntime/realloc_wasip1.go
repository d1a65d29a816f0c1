//go:build wasip1

package witruntime

import "unsafe"

// bootstrapArena serves cabi_realloc calls that arrive before this package's init has run.
// The WASI preview 1 adapter allocates its state through cabi_realloc on its first WASI call,
// which happens while Go's runtime is still starting, when the Go allocator cannot be used.
// NOTE: 256 KiB is an estimate with room to spare: the wasmtime 48 adapter asked for
// less than that in tests. A larger request traps with the panic below.
var (
	bootstrapArena [256 << 10]byte
	bootstrapUsed  uintptr
	goHeapReady    bool
)

func init() {
	goHeapReady = true
}

// setMonotonicClockPaused tells the WASI preview 1 adapter to answer clock_time_get for the
// monotonic clock from a cached value. The Go garbage collector reads that clock, and a
// collection can start inside cabi_realloc, where the component model forbids calls to
// imports. The adapter of wasmtime 48 and later exports this function.
//
//go:wasmimport wasi_snapshot_preview1 adapter_monotonic_clock_set_paused
func setMonotonicClockPaused(paused bool)

// cabiRealloc is the canonical ABI's allocator, which the host calls to place arguments
// in this module's memory.
//
//go:wasmexport cabi_realloc
func cabiRealloc(oldPointer unsafe.Pointer, oldSize, align, newSize uintptr) unsafe.Pointer {
	if newSize == 0 {
		return nil
	}
	if !goHeapReady {
		return allocateBootstrap(oldPointer, oldSize, align, newSize)
	}

	setMonotonicClockPaused(true)
	pointer := Allocate(&argumentPinner, newSize, align)
	setMonotonicClockPaused(false)

	if oldPointer != nil && oldSize > 0 && pointer != nil {
		copy(unsafe.Slice((*byte)(pointer), newSize), unsafe.Slice((*byte)(oldPointer), oldSize))
	}
	return pointer
}

func allocateBootstrap(oldPointer unsafe.Pointer, oldSize, align, newSize uintptr) unsafe.Pointer {
	base := uintptr(unsafe.Pointer(&bootstrapArena[0]))
	start := bootstrapUsed + alignmentOffset(base+bootstrapUsed, align)
	if start+newSize > uintptr(len(bootstrapArena)) {
		panic("witruntime: cabi_realloc during start-up needs more than the 256 KiB bootstrap arena")
	}
	bootstrapUsed = start + newSize

	pointer := unsafe.Pointer(&bootstrapArena[start])
	if oldPointer != nil && oldSize > 0 {
		copy(unsafe.Slice((*byte)(pointer), newSize), unsafe.Slice((*byte)(oldPointer), oldSize))
	}
	return pointer
}
