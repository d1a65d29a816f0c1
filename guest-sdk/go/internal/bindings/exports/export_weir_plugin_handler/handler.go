// Package export_weir_plugin_handler receives the calls of the generated export glue
// (package wit_exports) for the interface weir:plugin/handler, and forwards them to the
// functions that package weirplugin installs. wit-bindgen fixes the package name and the
// signatures of Init and Process; the forwarding avoids an import cycle between the glue
// and the SDK.
package export_weir_plugin_handler

import (
	"weirplugin/internal/bindings/imports/weir_plugin_handler"
	"weirplugin/internal/wittypes"
)

// Handlers that package weirplugin sets in its init function.
var (
	InitHandler    func(config []weir_plugin_handler.ConfigEntry) wittypes.Result[wittypes.Unit, string]
	ProcessHandler func(events []weir_plugin_handler.Event) []wittypes.Result[[]weir_plugin_handler.Output, weir_plugin_handler.Failure]
)

// Init implements the export `init: func(config: list<config-entry>) -> result<_, string>`.
func Init(config []weir_plugin_handler.ConfigEntry) wittypes.Result[wittypes.Unit, string] {
	return InitHandler(config)
}

// Process implements the export
// `process: func(events: list<event>) -> list<result<list<output>, failure>>`.
func Process(events []weir_plugin_handler.Event) []wittypes.Result[[]weir_plugin_handler.Output, weir_plugin_handler.Failure] {
	return ProcessHandler(events)
}
