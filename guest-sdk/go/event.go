package weirplugin

// Event is one event read from a source partition.
//
// A nil Key, Value or header value means the field is absent: a nil Value is a
// tombstone. A present but empty field is a non-nil empty slice.
type Event struct {
	Topic     string
	Partition uint32
	Offset    int64
	// TimestampMs is the source timestamp in milliseconds since the Unix epoch. It is
	// meaningful only when HasTimestamp is true.
	TimestampMs  int64
	HasTimestamp bool
	Key          []byte
	Value        []byte
	Headers      []Header
}

// Header is a record header. Kafka allows a header without a value, which is a nil Value.
type Header struct {
	Name  string
	Value []byte
}

// Output is one event produced by a plugin. A nil Key or Value is absent: a nil Value
// produces a tombstone.
type Output struct {
	// Topic is the target topic. The empty string sends the output to the step's default
	// target: the next step, or the sink's topic.
	Topic   string
	Key     []byte
	Value   []byte
	Headers []Header
}

// NewOutput returns an output with the key, value and headers of event and no topic. Left
// unchanged, it passes the event through. It shares the byte slices of event.
func NewOutput(event Event) Output {
	return Output{
		Key:     event.Key,
		Value:   event.Value,
		Headers: event.Headers,
	}
}
