//go:build wasip1

package weirplugin

// The generated glue declares the component's exports with //go:wasmexport; importing it
// links them into the module.
import _ "weirplugin/internal/bindings/exports/wit_exports"
