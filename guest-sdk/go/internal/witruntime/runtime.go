// Package witruntime provides the memory functions of the component model's canonical ABI
// that wit-bindgen's Go bindings call: Allocate, Unpin and the cabi_realloc export. It
// replaces the package go.bytecodealliance.org/pkg/wit/runtime, which the Go module proxy
// does not serve.
//
// Memory handed to the host stays valid because it is pinned: the Go garbage collector
// does not move objects, and a pinned object is not freed until its pinner unpins it.
package witruntime

import (
	"runtime"
	"unsafe"
)

// argumentPinner pins the memory that the host allocates through cabi_realloc to pass
// arguments, until the generated export glue has lifted them into Go values and calls Unpin.
var argumentPinner runtime.Pinner

// Allocate returns size bytes of zeroed Go memory aligned to align, pinned by pinner.
// It returns nil when size is 0.
func Allocate(pinner *runtime.Pinner, size, align uintptr) unsafe.Pointer {
	pointer := allocateRaw(size, align)
	if pointer != nil {
		pinner.Pin(pointer)
	}
	return pointer
}

// Unpin releases the argument memory allocated through cabi_realloc, and resumes the
// garbage collector. The generated export glue calls it once it has lifted the arguments
// into Go values, which still refer to that memory, so the collector keeps what they use.
func Unpin() {
	argumentPinner.Unpin()
	ResumeCollector()
}

// allocateRaw allocates through a slice whose element type has the requested alignment.
// The element types contain no pointers, so the garbage collector does not scan the
// addresses that the host writes into this memory.
func allocateRaw(size, align uintptr) unsafe.Pointer {
	if size == 0 {
		return nil
	}

	switch align {
	case 1:
		return unsafe.Pointer(unsafe.SliceData(make([]uint8, size)))
	case 2:
		return unsafe.Pointer(unsafe.SliceData(make([]uint16, (size+1)/2)))
	case 4:
		return unsafe.Pointer(unsafe.SliceData(make([]uint32, (size+3)/4)))
	case 8:
		return unsafe.Pointer(unsafe.SliceData(make([]uint64, (size+7)/8)))
	default:
		// Larger alignments do not occur in the weir:plugin world, but the canonical ABI
		// allows any power of two: over-allocate and return an aligned interior pointer,
		// which keeps the whole allocation alive.
		block := unsafe.Pointer(unsafe.SliceData(make([]uint64, (size+align+7)/8)))
		return unsafe.Add(block, alignmentOffset(uintptr(block), align))
	}
}

// alignmentOffset returns how many bytes to add to address to reach a multiple of align.
func alignmentOffset(address, align uintptr) uintptr {
	return (address+align-1)&^(align-1) - address
}
