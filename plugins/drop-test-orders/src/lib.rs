//! Weir plugin that drops test orders and rejects malformed order events.
//!
//! Each event value is parsed as a JSON order event (see `docs/order-events.md`):
//!
//! - A tombstone (no value) passes through unchanged.
//! - A value that is not valid JSON, not a JSON object, has no string `type` field, or has
//!   a `test` field that is not a boolean fails with `Failure::Reject`, so it reaches the
//!   dead-letter topic. The reason names the problem and never quotes the payload.
//! - An event with `"test": true` is filtered out: it produces no output.
//! - Any other event passes through unchanged: same key, value bytes and headers, and no
//!   topic, so it goes to the step's default target.
//!
//! The plugin takes no configuration and rejects any config key.

use serde_json::Value;
use weir_plugin::{Config, Event, Failure, Output, Plugin};

/// The filter step, which has no state.
pub struct DropTestOrders;

impl Plugin for DropTestOrders {
    fn init(config: Config) -> Result<Self, String> {
        if let Some(key) = config.keys().next() {
            return Err(format!(
                "unknown config key `{key}`: drop-test-orders takes no configuration"
            ));
        }
        Ok(DropTestOrders)
    }

    fn process(&mut self, event: Event) -> Result<Vec<Output>, Failure> {
        let Some(value) = event.value.as_deref() else {
            return Ok(vec![Output::from(event)]);
        };

        if is_test_order(value)? {
            return Ok(Vec::new());
        }
        Ok(vec![Output::from(event)])
    }
}

weir_plugin::export_plugin!(DropTestOrders);

/// Checks that `value` is an order event and returns whether it belongs to a test order.
fn is_test_order(value: &[u8]) -> Result<bool, Failure> {
    let reject = |reason: &str| Failure::Reject(reason.to_string());

    let document: Value =
        serde_json::from_slice(value).map_err(|_| reject("value is not valid JSON"))?;
    let Value::Object(fields) = document else {
        return Err(reject("value is not a JSON object"));
    };

    if !fields.get("type").is_some_and(Value::is_string) {
        return Err(reject("value has no string `type` field"));
    }

    match fields.get("test") {
        None => Ok(false),
        Some(Value::Bool(test)) => Ok(*test),
        Some(_) => Err(reject("field `test` is not a boolean")),
    }
}

#[cfg(test)]
mod tests {
    use weir_plugin::Header;

    use super::*;

    fn event(value: Option<&str>) -> Event {
        Event {
            topic: "orders".to_string(),
            partition: 1,
            offset: 7,
            timestamp_ms: Some(1_740_819_600_000),
            key: Some(b"ord-00000001".to_vec()),
            value: value.map(|text| text.as_bytes().to_vec()),
            headers: vec![Header {
                name: "source".to_string(),
                value: Some(b"shop".to_vec()),
            }],
        }
    }

    fn filter() -> DropTestOrders {
        DropTestOrders::init(Config::default()).unwrap()
    }

    fn reject_reason(value: &str) -> String {
        match filter().process(event(Some(value))) {
            Err(Failure::Reject(reason)) => reason,
            other => panic!("expected a reject for {value:?}, got {other:?}"),
        }
    }

    #[test]
    fn regular_order_passes_unchanged() {
        let input = event(Some(
            r#"{"type":"OrderPlaced","test":false,"total":"9.90"}"#,
        ));

        let outputs = filter().process(input.clone()).unwrap();

        assert_eq!(outputs, vec![Output::from_event(&input)]);
    }

    #[test]
    fn missing_test_field_passes() {
        let input = event(Some(r#"{"type":"OrderShipped"}"#));

        let outputs = filter().process(input.clone()).unwrap();

        assert_eq!(outputs, vec![Output::from_event(&input)]);
    }

    #[test]
    fn test_order_is_filtered() {
        let input = event(Some(r#"{"type":"OrderPlaced","test":true}"#));

        let outputs = filter().process(input).unwrap();

        assert!(outputs.is_empty());
    }

    #[test]
    fn tombstone_passes_unchanged() {
        let input = event(None);

        let outputs = filter().process(input.clone()).unwrap();

        assert_eq!(outputs, vec![Output::from_event(&input)]);
    }

    #[test]
    fn malformed_values_are_rejected() {
        let cases = [
            (
                r#"{"type":"OrderPlaced","order_id":"#,
                "value is not valid JSON",
            ),
            ("", "value is not valid JSON"),
            (r#"["OrderPlaced"]"#, "value is not a JSON object"),
            (r#""OrderPlaced""#, "value is not a JSON object"),
            (
                r#"{"order_id":"ord-1"}"#,
                "value has no string `type` field",
            ),
            (r#"{"type":42}"#, "value has no string `type` field"),
            (
                r#"{"type":"OrderPlaced","test":"yes"}"#,
                "field `test` is not a boolean",
            ),
        ];

        for (value, expected) in cases {
            assert_eq!(reject_reason(value), expected, "value {value:?}");
        }
    }

    #[test]
    fn reject_reason_omits_payload() {
        let reason = reject_reason(r#"{"email":"anna@example.com"}"#);

        assert!(!reason.contains("anna"), "{reason}");
    }

    #[test]
    fn config_key_fails_init() {
        let config = Config::from_iter([("mode", "strict")]);

        let error = DropTestOrders::init(config).err().unwrap();

        assert!(error.contains("`mode`"), "{error}");
    }
}
