use crate::{Event, Header, Output};

/// Builders for outputs. Each `with_*` method consumes the output and returns it changed,
/// so calls chain: `Output::from_event(&event).with_topic("audit").with_key(key)`.
impl Output {
    /// Copies the key, value and headers of `event`, with no topic, so the output goes to
    /// the step's default target. Without changes, this output is the event passed through.
    pub fn from_event(event: &Event) -> Self {
        Output {
            topic: None,
            key: event.key.clone(),
            value: event.value.clone(),
            headers: event.headers.clone(),
        }
    }

    /// Sets the target topic.
    pub fn with_topic(mut self, topic: impl Into<String>) -> Self {
        self.topic = Some(topic.into());
        self
    }

    /// Sets the key.
    pub fn with_key(mut self, key: impl Into<Vec<u8>>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Sets the value. To produce a tombstone, set the `value` field to `None` instead.
    pub fn with_value(mut self, value: impl Into<Vec<u8>>) -> Self {
        self.value = Some(value.into());
        self
    }

    /// Appends a header. Existing headers with the same name are kept, because Kafka
    /// allows repeated header names.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        self.headers.push(Header {
            name: name.into(),
            value: Some(value.into()),
        });
        self
    }
}

/// Moves the key, value and headers of the event into an output with no topic, like
/// [`Output::from_event`] without copying.
impl From<Event> for Output {
    fn from(event: Event) -> Self {
        Output {
            topic: None,
            key: event.key,
            value: event.value,
            headers: event.headers,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_event() -> Event {
        Event {
            topic: "orders".to_string(),
            partition: 3,
            offset: 42,
            timestamp_ms: Some(1_700_000_000_000),
            key: Some(b"ord-1".to_vec()),
            value: Some(b"{}".to_vec()),
            headers: vec![Header {
                name: "trace".to_string(),
                value: None,
            }],
        }
    }

    #[test]
    fn from_event_copies_record() {
        let event = sample_event();

        let output = Output::from_event(&event);

        assert_eq!(output.topic, None);
        assert_eq!(output.key, event.key);
        assert_eq!(output.value, event.value);
        assert_eq!(output.headers, event.headers);
        assert_eq!(Output::from(event), output);
    }

    #[test]
    fn builders_set_fields() {
        let output = Output::from_event(&sample_event())
            .with_topic("lines")
            .with_key("sku-1")
            .with_value(b"[]".to_vec())
            .with_header("trace", "abc");

        assert_eq!(output.topic.as_deref(), Some("lines"));
        assert_eq!(output.key.as_deref(), Some(&b"sku-1"[..]));
        assert_eq!(output.value.as_deref(), Some(&b"[]"[..]));
        assert_eq!(output.headers.len(), 2);
        assert_eq!(output.headers[1].value.as_deref(), Some(&b"abc"[..]));
    }
}
