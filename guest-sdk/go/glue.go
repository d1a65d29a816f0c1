package weirplugin

import (
	"errors"

	"weirplugin/internal/bindings/exports/export_weir_plugin_handler"
	"weirplugin/internal/bindings/imports/weir_plugin_handler"
	"weirplugin/internal/witruntime"
	"weirplugin/internal/wittypes"
)

type (
	bindingConfigEntry = weir_plugin_handler.ConfigEntry
	bindingEvent       = weir_plugin_handler.Event
	bindingHeader      = weir_plugin_handler.Header
	bindingOutput      = weir_plugin_handler.Output
	bindingFailure     = weir_plugin_handler.Failure
	bindingResult      = wittypes.Result[[]bindingOutput, bindingFailure]
)

func init() {
	export_weir_plugin_handler.InitHandler = initExport
	export_weir_plugin_handler.ProcessHandler = processExport
}

// initExport and processExport suspend the garbage collector before they return, because
// the host may call cabi_realloc next. The generated glue resumes it after lifting the
// arguments of the next call.
func initExport(entries []bindingConfigEntry) wittypes.Result[wittypes.Unit, string] {
	defer witruntime.SuspendCollector()

	config := Config{entries: make(map[string]string, len(entries))}
	for _, entry := range entries {
		config.entries[entry.Key] = entry.Value
	}

	if err := initPlugin(config); err != nil {
		return wittypes.Err[wittypes.Unit](err.Error())
	}
	return wittypes.Ok[wittypes.Unit, string](wittypes.Unit{})
}

func processExport(bindingEvents []bindingEvent) []bindingResult {
	defer witruntime.SuspendCollector()

	events := make([]Event, len(bindingEvents))
	for index, event := range bindingEvents {
		events[index] = eventFromBinding(event)
	}

	results := processBatch(events)

	bindingResults := make([]bindingResult, len(results))
	for index, result := range results {
		if result.Err != nil {
			bindingResults[index] = wittypes.Err[[]bindingOutput](failureToBinding(result.Err))
			continue
		}
		outputs := make([]bindingOutput, len(result.Outputs))
		for outputIndex, output := range result.Outputs {
			outputs[outputIndex] = outputToBinding(output)
		}
		bindingResults[index] = wittypes.Ok[[]bindingOutput, bindingFailure](outputs)
	}
	return bindingResults
}

func eventFromBinding(event bindingEvent) Event {
	converted := Event{
		Topic:        event.Topic,
		Partition:    event.Partition,
		Offset:       event.Offset,
		HasTimestamp: event.TimestampMs.IsSome(),
		TimestampMs:  event.TimestampMs.SomeOr(0),
		Key:          bytesFromOption(event.Key),
		Value:        bytesFromOption(event.Value),
	}
	if len(event.Headers) > 0 {
		converted.Headers = make([]Header, len(event.Headers))
		for index, header := range event.Headers {
			converted.Headers[index] = Header{Name: header.Name, Value: bytesFromOption(header.Value)}
		}
	}
	return converted
}

// bytesFromOption maps none to nil and some to a non-nil slice, even when it is empty, so
// that an empty value stays distinct from a tombstone.
func bytesFromOption(option wittypes.Option[[]uint8]) []byte {
	if option.IsNone() {
		return nil
	}
	if value := option.Some(); value != nil {
		return value
	}
	return []byte{}
}

func optionFromBytes(value []byte) wittypes.Option[[]uint8] {
	if value == nil {
		return wittypes.None[[]uint8]()
	}
	return wittypes.Some(value)
}

func outputToBinding(output Output) bindingOutput {
	converted := bindingOutput{
		Topic: wittypes.None[string](),
		Key:   optionFromBytes(output.Key),
		Value: optionFromBytes(output.Value),
	}
	if output.Topic != "" {
		converted.Topic = wittypes.Some(output.Topic)
	}
	if len(output.Headers) > 0 {
		converted.Headers = make([]bindingHeader, len(output.Headers))
		for index, header := range output.Headers {
			converted.Headers[index] = bindingHeader{Name: header.Name, Value: optionFromBytes(header.Value)}
		}
	}
	return converted
}

// failureToBinding maps a *Failure to its kind, and any other error to a reject.
func failureToBinding(err error) bindingFailure {
	var failure *Failure
	if errors.As(err, &failure) && failure.Retry {
		return weir_plugin_handler.MakeFailureRetry(failure.Reason)
	}
	return weir_plugin_handler.MakeFailureReject(err.Error())
}
