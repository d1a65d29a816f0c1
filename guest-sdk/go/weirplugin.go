// Package weirplugin is the Go SDK for writing Weir plugins.
//
// A Weir plugin is a WebAssembly component that implements the world `plugin` of the
// package `weir:plugin@0.1.0` (guest-sdk/wit/plugin.wit). This package hides the
// generated bindings behind the Plugin interface and the Export function:
//
//	package main
//
//	import "weirplugin"
//
//	type retag struct{ topic string }
//
//	func (r *retag) Process(event weirplugin.Event) ([]weirplugin.Output, error) {
//		if event.Value == nil {
//			return nil, weirplugin.Reject("tombstones are not accepted")
//		}
//		output := weirplugin.NewOutput(event)
//		output.Topic = r.topic
//		return []weirplugin.Output{output}, nil
//	}
//
//	func init() {
//		weirplugin.Export(func(config weirplugin.Config) (weirplugin.Plugin, error) {
//			topic, err := config.Require("topic")
//			if err != nil {
//				return nil, err
//			}
//			return &retag{topic: topic}, nil
//		})
//	}
//
//	func main() {}
//
// guest-sdk/go/build.sh compiles the package main with GOOS=wasip1 GOARCH=wasm as a
// reactor module (-buildmode=c-shared) and turns it into a component. The host never runs
// main, so Export must be called from an init function. On other targets the package
// compiles without the WebAssembly exports, so a plugin's unit tests can call its
// Process method directly.
package weirplugin

import "fmt"

// Plugin is the behaviour of a plugin instance.
//
// The host calls Process for each event of a batch, in offset order, on one goroutine.
// A panic traps the component instance, so the host's call fails.
type Plugin interface {
	// Process processes one event. A nil or empty slice filters the event out, and several
	// outputs fan it out. An error made by Retry makes the host retry the event under the
	// pipeline's retry policy. Any other error rejects the event as a poison event, with
	// the error's text as the reason.
	Process(event Event) ([]Output, error)
}

// BatchPlugin is a Plugin that processes a whole batch at once, for example to share
// work across events. When a plugin implements it, the host's batches go to
// ProcessBatch instead of Process.
type BatchPlugin interface {
	Plugin

	// ProcessBatch returns exactly one Result per event, in the order of events. A
	// different count panics, and so traps the component instance.
	ProcessBatch(events []Event) []Result
}

// Result is the outcome of one event in a batch: the outputs, or an error as
// Plugin.Process returns it.
type Result struct {
	Outputs []Output
	Err     error
}

// Factory builds a plugin instance from the step's configuration. An error fails the load
// or the swap of the plugin, and the host reports its text, so it should name the
// configuration key at fault.
type Factory func(config Config) (Plugin, error)

// NotInitialised is the reason given for every event processed before a successful init.
const NotInitialised = "plugin not initialised"

var (
	factory  Factory
	instance Plugin
)

// Export registers the factory of the plugin. Call it once, from an init function of the
// package main.
//
// The host calls the factory once per component instance. A successful call replaces the
// current plugin instance; after a failed call, the previous instance, if any, stays in
// place. Until a call succeeds, every event fails with Reject(NotInitialised).
func Export(newPlugin Factory) {
	if factory != nil {
		panic("weirplugin.Export called more than once")
	}
	factory = newPlugin
}

// initPlugin runs the factory on the configuration and installs the new instance.
func initPlugin(config Config) error {
	if factory == nil {
		return fmt.Errorf("the plugin registers no factory: call weirplugin.Export from an init function of package main")
	}
	plugin, err := factory(config)
	if err != nil {
		return err
	}
	if plugin == nil {
		return fmt.Errorf("the plugin factory returned neither a plugin nor an error")
	}
	instance = plugin
	return nil
}

// processBatch runs the current instance on a batch and returns one Result per event.
func processBatch(events []Event) []Result {
	results := make([]Result, len(events))
	if instance == nil {
		for index := range results {
			results[index].Err = Reject(NotInitialised)
		}
		return results
	}

	if batchPlugin, ok := instance.(BatchPlugin); ok {
		batchResults := batchPlugin.ProcessBatch(events)
		if len(batchResults) != len(events) {
			panic(fmt.Sprintf("weirplugin: ProcessBatch returned %d results for %d events; it must return one per event",
				len(batchResults), len(events)))
		}
		return batchResults
	}

	for index, event := range events {
		outputs, err := instance.Process(event)
		results[index] = Result{Outputs: outputs, Err: err}
	}
	return results
}
