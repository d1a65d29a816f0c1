//! Weir plugin that fans each placed order out into one record per order line.
//!
//! For an `OrderPlaced` event (see `docs/order-events.md`), the outputs are:
//!
//! 1. the event itself, unchanged and with no topic, so it continues to the step's default
//!    target;
//! 2. one record per entry of `lines`, in order, to the `lines_topic`. Its key is the
//!    line's `sku`. Its headers are the event's headers plus `order-id` set to the order
//!    id, which replaces any `order-id` header of the event. Its value is the JSON object
//!    `{"order_id", "line", "sku", "quantity", "unit_price_minor", "currency",
//!    "occurred_at"}`, where `line` is the 0-based index in `lines`.
//!
//! The plugin reads `unit_price_minor`, so it runs after the redact-customer step, which
//! converts `unit_price` to minor units. An `OrderPlaced` event that lacks one of these
//! fields or has one of the wrong type fails with `Failure::Reject`, and the reason names
//! the field.
//!
//! Every other event passes through unchanged: tombstones, other event types, and values
//! that are not JSON objects with a string `type`. Rejecting malformed events is the filter
//! step's job.
//!
//! # Config
//!
//! - `lines_topic` (required): the topic that receives the line records.
//!
//! Any other key fails `init` with a message naming the key.

use serde::Serialize;
use serde_json::{Map, Value};
use weir_plugin::{Config, Event, Failure, Header, Output, Plugin};

/// The header that carries the order id on each line record.
pub const ORDER_ID_HEADER: &str = "order-id";

/// The fan-out step, configured with the topic for line records.
pub struct OrderLines {
    lines_topic: String,
}

/// The value of one line record.
#[derive(Debug, Serialize)]
struct LineRecord<'a> {
    order_id: &'a str,
    line: usize,
    sku: &'a str,
    quantity: u64,
    unit_price_minor: i64,
    currency: &'a str,
    occurred_at: &'a str,
}

impl Plugin for OrderLines {
    fn init(config: Config) -> Result<Self, String> {
        if let Some(key) = config.keys().find(|key| *key != "lines_topic") {
            return Err(format!(
                "unknown config key `{key}`: order-lines accepts only `lines_topic`"
            ));
        }

        let lines_topic = config.require("lines_topic")?;
        if lines_topic.is_empty() {
            return Err("config key `lines_topic` is empty; set it to a topic name".to_string());
        }
        Ok(OrderLines {
            lines_topic: lines_topic.to_string(),
        })
    }

    fn process(&mut self, event: Event) -> Result<Vec<Output>, Failure> {
        let Some(order) = parse_order_placed(event.value.as_deref()) else {
            return Ok(vec![Output::from(event)]);
        };

        let line_outputs = self.line_outputs(&event, &order).map_err(Failure::Reject)?;

        let mut outputs = Vec::with_capacity(line_outputs.len() + 1);
        outputs.push(Output::from(event));
        outputs.extend(line_outputs);
        Ok(outputs)
    }
}

weir_plugin::export_plugin!(OrderLines);

impl OrderLines {
    /// Builds the line records of an `OrderPlaced` event.
    fn line_outputs(
        &self,
        event: &Event,
        order: &Map<String, Value>,
    ) -> Result<Vec<Output>, String> {
        let order_id = string_field(order, "order_id", "")?;
        let currency = string_field(order, "currency", "")?;
        let occurred_at = string_field(order, "occurred_at", "")?;
        let lines = match order.get("lines") {
            Some(Value::Array(lines)) => lines,
            Some(_) => return Err("`lines` is not an array".to_string()),
            None => return Err("`lines` is missing".to_string()),
        };

        let mut headers: Vec<Header> = event
            .headers
            .iter()
            .filter(|header| header.name != ORDER_ID_HEADER)
            .cloned()
            .collect();
        headers.push(Header {
            name: ORDER_ID_HEADER.to_string(),
            value: Some(order_id.as_bytes().to_vec()),
        });

        let mut outputs = Vec::with_capacity(lines.len());
        for (index, line) in lines.iter().enumerate() {
            let record = line_record(line, index, order_id, currency, occurred_at)?;
            let value = serde_json::to_vec(&record)
                .map_err(|error| format!("failed to serialise line {index}: {error}"))?;

            outputs.push(Output {
                topic: Some(self.lines_topic.clone()),
                key: Some(record.sku.as_bytes().to_vec()),
                value: Some(value),
                headers: headers.clone(),
            });
        }
        Ok(outputs)
    }
}

/// Returns the fields of an `OrderPlaced` event, or `None` for any other value.
fn parse_order_placed(value: Option<&[u8]>) -> Option<Map<String, Value>> {
    let Ok(Value::Object(fields)) = serde_json::from_slice(value?) else {
        return None;
    };
    let is_order_placed = fields.get("type").and_then(Value::as_str) == Some("OrderPlaced");
    is_order_placed.then_some(fields)
}

fn line_record<'a>(
    line: &'a Value,
    index: usize,
    order_id: &'a str,
    currency: &'a str,
    occurred_at: &'a str,
) -> Result<LineRecord<'a>, String> {
    let prefix = format!("lines[{index}].");
    let Some(fields) = line.as_object() else {
        return Err(format!("`lines[{index}]` is not an object"));
    };

    let sku = string_field(fields, "sku", &prefix)?;
    let quantity = fields
        .get("quantity")
        .ok_or_else(|| format!("`{prefix}quantity` is missing"))?
        .as_u64()
        .ok_or_else(|| format!("`{prefix}quantity` is not a non-negative integer"))?;
    let unit_price_minor = match fields.get("unit_price_minor") {
        Some(price) => price
            .as_i64()
            .ok_or_else(|| format!("`{prefix}unit_price_minor` is not an integer"))?,
        None if fields.contains_key("unit_price") => {
            return Err(format!(
                "`{prefix}unit_price_minor` is missing; run redact-customer before order-lines"
            ));
        }
        None => return Err(format!("`{prefix}unit_price_minor` is missing")),
    };

    Ok(LineRecord {
        order_id,
        line: index,
        sku,
        quantity,
        unit_price_minor,
        currency,
        occurred_at,
    })
}

/// Returns the string field `name`, or an error naming `prefix` and `name`.
fn string_field<'a>(
    fields: &'a Map<String, Value>,
    name: &str,
    prefix: &str,
) -> Result<&'a str, String> {
    match fields.get(name) {
        Some(Value::String(text)) => Ok(text),
        Some(_) => Err(format!("`{prefix}{name}` is not a string")),
        None => Err(format!("`{prefix}{name}` is missing")),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn event(value: Option<Vec<u8>>) -> Event {
        Event {
            topic: "orders-redacted".to_string(),
            partition: 2,
            offset: 99,
            timestamp_ms: Some(1_740_819_600_000),
            key: Some(b"ord-00000042".to_vec()),
            value,
            headers: vec![
                Header {
                    name: "source".to_string(),
                    value: Some(b"shop".to_vec()),
                },
                Header {
                    name: ORDER_ID_HEADER.to_string(),
                    value: Some(b"stale".to_vec()),
                },
            ],
        }
    }

    fn json_event(value: &Value) -> Event {
        event(Some(serde_json::to_vec(value).unwrap()))
    }

    fn fan_out() -> OrderLines {
        OrderLines::init(Config::from_iter([("lines_topic", "order-lines")])).unwrap()
    }

    fn order_placed() -> Value {
        json!({
            "type": "OrderPlaced",
            "event_id": "evt-00000007",
            "order_id": "ord-00000042",
            "occurred_at": "2025-03-01T09:00:00.000Z",
            "test": false,
            "currency": "EUR",
            "total_minor": 12990,
            "lines": [
                {"sku": "MUG-350", "quantity": 2, "unit_price_minor": 1250},
                {"sku": "TEE-M", "quantity": 1, "unit_price_minor": 10490}
            ]
        })
    }

    fn reject_reason(value: Value) -> String {
        match fan_out().process(json_event(&value)) {
            Err(Failure::Reject(reason)) => reason,
            other => panic!("expected a reject for {value}, got {other:?}"),
        }
    }

    #[test]
    fn order_placed_fans_out() {
        let input = json_event(&order_placed());

        let outputs = fan_out().process(input.clone()).unwrap();

        assert_eq!(outputs.len(), 3);
        assert_eq!(outputs[0], Output::from_event(&input));
        assert_eq!(outputs[1].topic.as_deref(), Some("order-lines"));
        assert_eq!(outputs[1].key.as_deref(), Some(&b"MUG-350"[..]));
        assert_eq!(outputs[2].key.as_deref(), Some(&b"TEE-M"[..]));
    }

    #[test]
    fn line_value_has_fields() {
        let outputs = fan_out().process(json_event(&order_placed())).unwrap();

        let value: Value = serde_json::from_slice(outputs[2].value.as_deref().unwrap()).unwrap();
        let expected = json!({
            "order_id": "ord-00000042",
            "line": 1,
            "sku": "TEE-M",
            "quantity": 1,
            "unit_price_minor": 10490,
            "currency": "EUR",
            "occurred_at": "2025-03-01T09:00:00.000Z"
        });
        assert_eq!(value, expected);
    }

    #[test]
    fn line_headers_carry_order_id() {
        let outputs = fan_out().process(json_event(&order_placed())).unwrap();

        let headers = &outputs[1].headers;
        assert_eq!(headers.len(), 2);
        assert_eq!(headers[0].name, "source");
        assert_eq!(headers[1].name, ORDER_ID_HEADER);
        assert_eq!(headers[1].value.as_deref(), Some(&b"ord-00000042"[..]));
    }

    #[test]
    fn other_events_pass_unchanged() {
        let shipped = json!({"type": "OrderShipped", "order_id": "ord-00000042"});
        let inputs = [
            event(None),
            json_event(&shipped),
            event(Some(b"not json".to_vec())),
            json_event(&json!({"order_id": "ord-1"})),
        ];

        for input in inputs {
            let outputs = fan_out().process(input.clone()).unwrap();

            assert_eq!(outputs, vec![Output::from_event(&input)]);
        }
    }

    #[test]
    fn empty_lines_pass_event_only() {
        let mut value = order_placed();
        value["lines"] = json!([]);
        let input = json_event(&value);

        let outputs = fan_out().process(input.clone()).unwrap();

        assert_eq!(outputs, vec![Output::from_event(&input)]);
    }

    #[test]
    fn unconverted_price_names_step() {
        let mut value = order_placed();
        value["lines"][1] = json!({"sku": "TEE-M", "quantity": 1, "unit_price": "104.90"});

        let reason = reject_reason(value);

        assert_eq!(
            reason,
            "`lines[1].unit_price_minor` is missing; run redact-customer before order-lines"
        );
    }

    #[test]
    fn invalid_fields_reject() {
        let cases = [
            ("/order_id", json!(42), "`order_id` is not a string"),
            ("/lines", json!({}), "`lines` is not an array"),
            ("/lines/0", json!("MUG-350"), "`lines[0]` is not an object"),
            (
                "/lines/0/sku",
                json!(null),
                "`lines[0].sku` is not a string",
            ),
            (
                "/lines/0/quantity",
                json!(-1),
                "`lines[0].quantity` is not a non-negative integer",
            ),
            (
                "/lines/0/unit_price_minor",
                json!("12.50"),
                "`lines[0].unit_price_minor` is not an integer",
            ),
        ];

        for (pointer, replacement, expected) in cases {
            let mut value = order_placed();
            *value.pointer_mut(pointer).unwrap() = replacement;

            assert_eq!(reject_reason(value), expected, "{pointer}");
        }
    }

    #[test]
    fn missing_currency_rejects() {
        let mut value = order_placed();
        value.as_object_mut().unwrap().remove("currency");

        assert_eq!(reject_reason(value), "`currency` is missing");
    }

    #[test]
    fn missing_lines_topic_fails_init() {
        let error = OrderLines::init(Config::default()).err().unwrap();

        assert!(error.contains("`lines_topic`"), "{error}");
    }

    #[test]
    fn unknown_config_key_fails_init() {
        let config = Config::from_iter([("lines_topic", "order-lines"), ("topic", "x")]);

        let error = OrderLines::init(config).err().unwrap();

        assert!(error.contains("`topic`"), "{error}");
    }
}
