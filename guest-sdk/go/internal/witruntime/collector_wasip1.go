//go:build wasip1

package witruntime

import "runtime/debug"

// collectorPercent is the GOGC percentage that applies while an export runs Go code.
// Until this package's init runs it is 0, which is never restored because
// ResumeCollector is first called after init.
var collectorPercent int

// The component model forbids a component to call its imports while the host runs its
// cabi_realloc to pass arguments, and traps such a call with "cannot leave component
// instance". A Go garbage collection that starts inside cabi_realloc breaks that rule:
// gcMarkTermination calls time.now, which calls the WASI import clock_time_get. So the
// collector is suspended whenever control returns to the host, and resumed once an export
// has received its arguments.

// SuspendCollector turns the garbage collector off until ResumeCollector, after waiting
// for a collection in progress to finish. Call it before an export returns to the host.
func SuspendCollector() {
	debug.SetGCPercent(-1)
}

// ResumeCollector turns the garbage collector back on with the percentage the module
// started with (GOGC, 100 by default).
func ResumeCollector() {
	debug.SetGCPercent(collectorPercent)
}
