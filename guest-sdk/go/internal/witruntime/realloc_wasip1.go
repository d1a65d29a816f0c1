//go:build wasip1

package witruntime

import (
	"runtime/debug"
	"unsafe"
)

// bootstrapArena serves cabi_realloc calls that arrive before this package's init has run.
// The WASI preview 1 adapter allocates its state through cabi_realloc on its first WASI call,
// which happens while Go's runtime is still starting, when the Go allocator cannot be used.
// NOTE: 256 KiB is twice what the wasmtime 48 adapter takes (128 KiB, measured with the
// template plugin). Another adapter may need more, and then start-up traps with the panic
// below.
var (
	bootstrapArena [256 << 10]byte
	bootstrapUsed  uintptr
	goHeapReady    bool
)

func init() {
	goHeapReady = true
	collectorPercent = debug.SetGCPercent(-1)
}

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

	// The collector is suspended here (see SuspendCollector), so this allocation cannot
	// start a collection, which would read the wall clock through a WASI import.
	pointer := Allocate(&argumentPinner, newSize, align)

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
