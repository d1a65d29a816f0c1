package weirplugin

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"weirplugin/internal/wittypes"
)

// label emits one output per event whose value is the configured label.
type label struct {
	text string
}

func (l *label) Process(event Event) ([]Output, error) {
	output := NewOutput(event)
	output.Value = []byte(l.text)
	return []Output{output}, nil
}

// silent breaks the one-result-per-event contract of ProcessBatch.
type silent struct{}

func (silent) Process(Event) ([]Output, error) { return nil, nil }

func (silent) ProcessBatch([]Event) []Result { return nil }

func newLabel(config Config) (Plugin, error) {
	text, err := config.Require("label")
	if err != nil {
		return nil, err
	}
	return &label{text: text}, nil
}

// useFactory installs newPlugin with no instance, and restores the state after the test.
func useFactory(t *testing.T, newPlugin Factory) {
	t.Helper()
	savedFactory, savedInstance := factory, instance
	factory, instance = newPlugin, nil
	t.Cleanup(func() { factory, instance = savedFactory, savedInstance })
}

func testEvent(offset int64) Event {
	return Event{Topic: "orders", Offset: offset, Value: []byte("{}")}
}

func outputValues(t *testing.T, results []Result) []string {
	t.Helper()
	values := make([]string, len(results))
	for index, result := range results {
		if result.Err != nil || len(result.Outputs) != 1 {
			t.Fatalf("result %d = %+v, want one output", index, result)
		}
		values[index] = string(result.Outputs[0].Value)
	}
	return values
}

func TestProcessBeforeInitRejectsEachEvent(t *testing.T) {
	useFactory(t, newLabel)

	results := processBatch([]Event{testEvent(0), testEvent(1)})

	if len(results) != 2 {
		t.Fatalf("got %d results, want 2", len(results))
	}
	for _, result := range results {
		var failure *Failure
		if !errors.As(result.Err, &failure) || failure.Retry || failure.Reason != NotInitialised {
			t.Errorf("result = %+v, want a reject with %q", result, NotInitialised)
		}
	}
}

func TestInitReplacesInstance(t *testing.T) {
	useFactory(t, newLabel)

	if err := initPlugin(NewConfig(map[string]string{"label": "first"})); err != nil {
		t.Fatal(err)
	}
	if err := initPlugin(NewConfig(map[string]string{"label": "second"})); err != nil {
		t.Fatal(err)
	}

	values := outputValues(t, processBatch([]Event{testEvent(0), testEvent(1)}))
	if !reflect.DeepEqual(values, []string{"second", "second"}) {
		t.Errorf("values = %q", values)
	}
}

func TestFailedInitKeepsPreviousInstance(t *testing.T) {
	useFactory(t, newLabel)
	if err := initPlugin(NewConfig(map[string]string{"label": "first"})); err != nil {
		t.Fatal(err)
	}

	err := initPlugin(NewConfig(nil))

	if err == nil || !strings.Contains(err.Error(), "`label`") {
		t.Errorf("error = %v, want one naming `label`", err)
	}
	values := outputValues(t, processBatch([]Event{testEvent(0)}))
	if !reflect.DeepEqual(values, []string{"first"}) {
		t.Errorf("values = %q", values)
	}
}

func TestInitWithoutExportFails(t *testing.T) {
	useFactory(t, nil)

	err := initPlugin(NewConfig(nil))

	if err == nil || !strings.Contains(err.Error(), "weirplugin.Export") {
		t.Errorf("error = %v, want one naming weirplugin.Export", err)
	}
}

func TestBatchResultCountIsChecked(t *testing.T) {
	useFactory(t, func(Config) (Plugin, error) { return silent{}, nil })
	if err := initPlugin(NewConfig(nil)); err != nil {
		t.Fatal(err)
	}

	defer func() {
		message, _ := recover().(string)
		if !strings.Contains(message, "returned 0 results for 1 events") {
			t.Errorf("panic = %q, want the result count", message)
		}
	}()
	processBatch([]Event{testEvent(0)})
}

func TestConfigKeepsLastDuplicate(t *testing.T) {
	useFactory(t, newLabel)

	result := initExport([]bindingConfigEntry{{Key: "label", Value: "first"}, {Key: "label", Value: "second"}})

	if result.IsErr() {
		t.Fatalf("init failed: %s", result.Err())
	}
	if got := instance.(*label).text; got != "second" {
		t.Errorf("label = %q, want the last value", got)
	}
}

func TestConfigKeysAreSorted(t *testing.T) {
	config := NewConfig(map[string]string{"b": "2", "a": "1"})

	if keys := config.Keys(); !reflect.DeepEqual(keys, []string{"a", "b"}) {
		t.Errorf("keys = %q", keys)
	}
	if config.Len() != 2 {
		t.Errorf("len = %d", config.Len())
	}
}

func TestEmptyBytesStayPresent(t *testing.T) {
	event := eventFromBinding(bindingEvent{
		Key:     wittypes.None[[]uint8](),
		Value:   wittypes.Some[[]uint8](nil),
		Headers: []bindingHeader{{Name: "h", Value: wittypes.None[[]uint8]()}},
	})

	if event.Key != nil {
		t.Errorf("key = %q, want nil for none", event.Key)
	}
	if event.Value == nil || len(event.Value) != 0 {
		t.Errorf("value = %#v, want a non-nil empty slice", event.Value)
	}
	if event.Headers[0].Value != nil {
		t.Errorf("header value = %#v, want nil for none", event.Headers[0].Value)
	}
}

func TestOutputMapsToBinding(t *testing.T) {
	output := outputToBinding(Output{Value: []byte{}, Headers: []Header{{Name: "trace"}}})

	if output.Topic.IsSome() {
		t.Error("an empty topic must be none")
	}
	if output.Key.IsSome() {
		t.Error("a nil key must be none")
	}
	if !output.Value.IsSome() {
		t.Error("an empty value must stay present")
	}
	if output.Headers[0].Value.IsSome() {
		t.Error("a nil header value must be none")
	}
	if topic := outputToBinding(Output{Topic: "audit"}).Topic; topic.SomeOr("") != "audit" {
		t.Errorf("topic = %+v, want audit", topic)
	}
}

func TestFailuresMapToKinds(t *testing.T) {
	cases := []struct {
		err    error
		retry  bool
		reason string
	}{
		{Reject("bad"), false, "bad"},
		{Retry("later"), true, "later"},
		{errors.New("plain"), false, "plain"},
	}

	for _, test := range cases {
		failure := failureToBinding(test.err)

		if test.retry && (failure.Tag() != 0 || failure.Retry() != test.reason) {
			t.Errorf("%v: got tag %d, want retry %q", test.err, failure.Tag(), test.reason)
		}
		if !test.retry && (failure.Tag() != 1 || failure.Reject() != test.reason) {
			t.Errorf("%v: got tag %d, want reject %q", test.err, failure.Tag(), test.reason)
		}
	}
}
