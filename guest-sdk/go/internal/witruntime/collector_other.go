//go:build !wasip1

package witruntime

// Outside WebAssembly no host calls cabi_realloc, so the collector stays as it is; these
// stubs let the SDK's glue compile for unit tests.

// SuspendCollector does nothing outside WebAssembly.
func SuspendCollector() {}

// ResumeCollector does nothing outside WebAssembly.
func ResumeCollector() {}
