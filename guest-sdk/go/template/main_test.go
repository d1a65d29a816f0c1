package main

import (
	"reflect"
	"testing"

	"weirplugin"
)

func TestProcessPassesEventThrough(t *testing.T) {
	event := weirplugin.Event{
		Topic:   "orders",
		Key:     []byte("k1"),
		Value:   []byte(`{"n":1}`),
		Headers: []weirplugin.Header{{Name: "trace-id", Value: []byte("t-1")}},
	}
	plugin := &passthrough{config: weirplugin.NewConfig(nil)}

	outputs, err := plugin.Process(event)

	if err != nil {
		t.Fatalf("process failed: %v", err)
	}
	want := []weirplugin.Output{{Key: event.Key, Value: event.Value, Headers: event.Headers}}
	if !reflect.DeepEqual(outputs, want) {
		t.Errorf("outputs = %+v, want %+v", outputs, want)
	}
}
