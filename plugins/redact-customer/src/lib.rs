//! Weir plugin that redacts customer and card data and converts amounts to minor units.
//!
//! For an event whose value is a JSON object (see `docs/order-events.md`):
//!
//! - `customer.email` and `payment.card_expiry` are replaced by the mask.
//! - `payment.card_number` is replaced by the mask, a hyphen and the last four digits of the
//!   number, such as `REDACTED-1111`. A card number that is not a string of digits, spaces
//!   and hyphens with at least four digits fails with `Failure::Reject`.
//! - The decimal strings `total`, `amount` and each line's `unit_price` are replaced by the
//!   integers `total_minor`, `amount_minor` and `unit_price_minor`, in minor units of the
//!   event's `currency`: JPY has no minor unit and EUR, USD and GBP have two decimal
//!   places. A missing or unsupported currency, a value that is not a decimal string, or a
//!   decimal with more fraction digits than the currency allows fails with
//!   `Failure::Reject`, and the reason names the field.
//!
//! When a field is absent, it is left alone, so tombstones, valid JSON that is not an
//! object, and events without these fields pass through unchanged. Otherwise the output
//! is the re-serialised JSON with the same key and headers, and no topic. A value that is
//! not valid JSON fails with `Failure::Reject`, because passing it on would forward data
//! this step could not redact.
//!
//! # Config
//!
//! - `mask` (optional, default `REDACTED`): the replacement text.
//!
//! Any other key fails `init` with a message naming the key.

use serde_json::{Map, Value};
use weir_plugin::{Config, Event, Failure, Output, Plugin};

/// The replacement text when the step sets no `mask`.
pub const DEFAULT_MASK: &str = "REDACTED";

/// The redaction step, configured with its mask.
pub struct RedactCustomer {
    mask: String,
}

impl Plugin for RedactCustomer {
    fn init(config: Config) -> Result<Self, String> {
        if let Some(key) = config.keys().find(|key| *key != "mask") {
            return Err(format!(
                "unknown config key `{key}`: redact-customer accepts only `mask`"
            ));
        }

        let mask = config.get("mask").unwrap_or(DEFAULT_MASK).to_string();
        Ok(RedactCustomer { mask })
    }

    fn process(&mut self, event: Event) -> Result<Vec<Output>, Failure> {
        let Some(value) = event.value.as_deref() else {
            return Ok(vec![Output::from(event)]);
        };

        let mut document: Value = serde_json::from_slice(value)
            .map_err(|_| Failure::Reject("value is not valid JSON".to_string()))?;
        let Value::Object(fields) = &mut document else {
            return Ok(vec![Output::from(event)]);
        };

        let redacted = self.redact(fields).map_err(Failure::Reject)?;
        let converted = convert_amounts(fields).map_err(Failure::Reject)?;
        if !redacted && !converted {
            return Ok(vec![Output::from(event)]);
        }

        let bytes = serde_json::to_vec(&document)
            .map_err(|error| Failure::Reject(format!("failed to serialise the value: {error}")))?;
        Ok(vec![Output::from(event).with_value(bytes)])
    }
}

weir_plugin::export_plugin!(RedactCustomer);

impl RedactCustomer {
    /// Masks the customer email and the card fields. Returns whether any field changed.
    fn redact(&self, fields: &mut Map<String, Value>) -> Result<bool, String> {
        let mut changed = false;

        if let Some(email) = object_field(fields, "customer").and_then(|c| c.get_mut("email")) {
            *email = Value::String(self.mask.clone());
            changed = true;
        }

        let Some(payment) = object_field(fields, "payment") else {
            return Ok(changed);
        };
        if let Some(card_number) = payment.get_mut("card_number") {
            let last_four = last_four_digits(card_number)?;
            *card_number = Value::String(format!("{}-{last_four}", self.mask));
            changed = true;
        }
        if let Some(card_expiry) = payment.get_mut("card_expiry") {
            *card_expiry = Value::String(self.mask.clone());
            changed = true;
        }

        Ok(changed)
    }
}

/// Returns the field `name` when it is a JSON object.
fn object_field<'a>(
    fields: &'a mut Map<String, Value>,
    name: &str,
) -> Option<&'a mut Map<String, Value>> {
    fields.get_mut(name).and_then(Value::as_object_mut)
}

fn last_four_digits(card_number: &Value) -> Result<String, String> {
    let invalid = || "`payment.card_number` is not a card number".to_string();

    let text = card_number.as_str().ok_or_else(invalid)?;
    if !text
        .chars()
        .all(|c| c.is_ascii_digit() || c == ' ' || c == '-')
    {
        return Err(invalid());
    }

    let digits: Vec<char> = text.chars().filter(char::is_ascii_digit).collect();
    if digits.len() < 4 {
        return Err(invalid());
    }
    Ok(digits[digits.len() - 4..].iter().collect())
}

/// Replaces `total`, `amount` and each line's `unit_price` with their minor-unit integers.
/// Returns whether any field changed. On error, `fields` may be partly converted.
fn convert_amounts(fields: &mut Map<String, Value>) -> Result<bool, String> {
    if !has_amounts(fields) {
        return Ok(false);
    }
    let exponent = currency_exponent(fields.get("currency"))?;

    for name in ["total", "amount"] {
        if let Some(decimal) = fields.remove(name) {
            let minor = to_minor_units(&decimal, exponent)
                .map_err(|problem| format!("`{name}` {problem}"))?;
            fields.insert(format!("{name}_minor"), Value::from(minor));
        }
    }

    if let Some(Value::Array(lines)) = fields.get_mut("lines") {
        for (index, line) in lines.iter_mut().enumerate() {
            let Some(line) = line.as_object_mut() else {
                continue;
            };
            if let Some(decimal) = line.remove("unit_price") {
                let minor = to_minor_units(&decimal, exponent)
                    .map_err(|problem| format!("`lines[{index}].unit_price` {problem}"))?;
                line.insert("unit_price_minor".to_string(), Value::from(minor));
            }
        }
    }

    Ok(true)
}

fn has_amounts(fields: &Map<String, Value>) -> bool {
    let line_has_price = |line: &Value| line.get("unit_price").is_some();
    let lines_have_prices = match fields.get("lines") {
        Some(Value::Array(lines)) => lines.iter().any(line_has_price),
        _ => false,
    };
    fields.contains_key("total") || fields.contains_key("amount") || lines_have_prices
}

/// Returns the number of decimal places of the currency's minor unit (ISO 4217).
fn currency_exponent(currency: Option<&Value>) -> Result<u32, String> {
    match currency {
        None => Err("`currency` is missing, so amounts cannot be converted".to_string()),
        Some(Value::String(code)) => match code.as_str() {
            "EUR" | "USD" | "GBP" => Ok(2),
            "JPY" => Ok(0),
            _ => Err(format!(
                "currency `{code}` is not supported; expected EUR, USD, GBP or JPY"
            )),
        },
        Some(_) => Err("`currency` is not a string".to_string()),
    }
}

/// Converts a decimal string such as `"129.90"` to an integer count of minor units.
/// The error completes a sentence that starts with the field name.
fn to_minor_units(decimal: &Value, exponent: u32) -> Result<i64, String> {
    let not_decimal = || "is not a decimal string".to_string();

    let text = decimal.as_str().ok_or_else(not_decimal)?;
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));

    let all_digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    let has_point = unsigned.contains('.');
    if whole.is_empty()
        || !all_digits(whole)
        || !all_digits(fraction)
        || (has_point && fraction.is_empty())
    {
        return Err(not_decimal());
    }
    if fraction.len() > exponent as usize {
        return Err(format!(
            "has {} fraction digits but the currency allows {exponent}",
            fraction.len()
        ));
    }

    let padded = format!("{whole}{fraction:0<width$}", width = exponent as usize);
    let magnitude: i64 = padded
        .parse()
        .map_err(|_| "is out of range for minor units".to_string())?;
    Ok(if negative { -magnitude } else { magnitude })
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use weir_plugin::Header;

    use super::*;

    fn event(value: Option<Vec<u8>>) -> Event {
        Event {
            topic: "orders".to_string(),
            partition: 0,
            offset: 12,
            timestamp_ms: None,
            key: Some(b"ord-00000042".to_vec()),
            value,
            headers: vec![Header {
                name: "source".to_string(),
                value: Some(b"shop".to_vec()),
            }],
        }
    }

    fn json_event(value: &Value) -> Event {
        event(Some(serde_json::to_vec(value).unwrap()))
    }

    fn redactor(config: &[(&str, &str)]) -> RedactCustomer {
        RedactCustomer::init(config.iter().copied().collect()).unwrap()
    }

    /// Runs the default redactor and returns the single output value as JSON.
    fn redact_value(value: Value) -> Value {
        let mut outputs = redactor(&[]).process(json_event(&value)).unwrap();
        assert_eq!(outputs.len(), 1);
        let output = outputs.remove(0);
        serde_json::from_slice(&output.value.unwrap()).unwrap()
    }

    fn reject_reason(value: Value) -> String {
        match redactor(&[]).process(json_event(&value)) {
            Err(Failure::Reject(reason)) => reason,
            other => panic!("expected a reject for {value}, got {other:?}"),
        }
    }

    fn order_placed() -> Value {
        json!({
            "type": "OrderPlaced",
            "order_id": "ord-00000042",
            "customer": {"id": "cus-00017", "email": "anna.berg@example.com", "name": "Anna Berg"},
            "payment": {"method": "card", "card_number": "4111111111111111", "card_expiry": "08/27"},
            "currency": "EUR",
            "total": "129.90",
            "lines": [
                {"sku": "MUG-350", "quantity": 2, "unit_price": "12.5"},
                {"sku": "TEE-M", "quantity": 1, "unit_price": "104.90"}
            ]
        })
    }

    #[test]
    fn order_placed_is_redacted() {
        let output = redact_value(order_placed());

        assert_eq!(output["customer"]["email"], "REDACTED");
        assert_eq!(output["customer"]["name"], "Anna Berg");
        assert_eq!(output["payment"]["card_number"], "REDACTED-1111");
        assert_eq!(output["payment"]["card_expiry"], "REDACTED");
        assert_eq!(output["payment"]["method"], "card");
    }

    #[test]
    fn order_placed_amounts_convert() {
        let output = redact_value(order_placed());

        assert_eq!(output["total_minor"], 12990);
        assert_eq!(output.get("total"), None);
        assert_eq!(output["lines"][0]["unit_price_minor"], 1250);
        assert_eq!(output["lines"][1]["unit_price_minor"], 10490);
        assert_eq!(output["lines"][0].get("unit_price"), None);
        assert_eq!(output["lines"][0]["sku"], "MUG-350");
    }

    #[test]
    fn payment_captured_is_redacted() {
        let output = redact_value(json!({
            "type": "PaymentCaptured",
            "currency": "JPY",
            "amount": "1200",
            "payment": {"card_number": "5500 0000 0000 0004", "card_expiry": "11/26"}
        }));

        assert_eq!(output["amount_minor"], 1200);
        assert_eq!(output.get("amount"), None);
        assert_eq!(output["payment"]["card_number"], "REDACTED-0004");
        assert_eq!(output["payment"]["card_expiry"], "REDACTED");
    }

    #[test]
    fn configured_mask_is_used() {
        let mut outputs = redactor(&[("mask", "***")])
            .process(json_event(&order_placed()))
            .unwrap();

        let output: Value = serde_json::from_slice(&outputs.remove(0).value.unwrap()).unwrap();
        assert_eq!(output["customer"]["email"], "***");
        assert_eq!(output["payment"]["card_number"], "***-1111");
    }

    #[test]
    fn output_keeps_key_and_headers() {
        let input = json_event(&order_placed());

        let output = redactor(&[]).process(input.clone()).unwrap().remove(0);

        assert_eq!(output.topic, None);
        assert_eq!(output.key, input.key);
        assert_eq!(output.headers, input.headers);
    }

    #[test]
    fn decimals_convert_by_exponent() {
        let cases = [
            ("129.90", 2, 12990),
            ("129.9", 2, 12990),
            ("129", 2, 12900),
            ("0.05", 2, 5),
            ("-3.50", 2, -350),
            ("1200", 0, 1200),
        ];

        for (text, exponent, expected) in cases {
            assert_eq!(
                to_minor_units(&json!(text), exponent),
                Ok(expected),
                "{text}"
            );
        }
    }

    #[test]
    fn invalid_decimals_fail() {
        let cases = [
            (json!("12.345"), 2),
            (json!("12.5"), 0),
            (json!("12."), 2),
            (json!(".5"), 2),
            (json!("1,50"), 2),
            (json!("+1.50"), 2),
            (json!(""), 2),
            (json!("99999999999999999999"), 2),
            (json!(12.5), 2),
        ];

        for (decimal, exponent) in cases {
            assert!(to_minor_units(&decimal, exponent).is_err(), "{decimal}");
        }
    }

    #[test]
    fn excess_fraction_digits_reject() {
        let mut value = order_placed();
        value["total"] = json!("129.901");

        assert_eq!(
            reject_reason(value),
            "`total` has 3 fraction digits but the currency allows 2"
        );
    }

    #[test]
    fn jpy_fraction_rejects() {
        let mut value = order_placed();
        value["currency"] = json!("JPY");
        value["total"] = json!("1200");

        let reason = reject_reason(value);

        assert_eq!(
            reason,
            "`lines[0].unit_price` has 1 fraction digits but the currency allows 0"
        );
    }

    #[test]
    fn unknown_currency_rejects() {
        let mut value = order_placed();
        value["currency"] = json!("CHF");

        assert!(reject_reason(value).contains("`CHF` is not supported"));
    }

    #[test]
    fn missing_currency_rejects() {
        let reason = reject_reason(json!({"type": "PaymentCaptured", "amount": "5.00"}));

        assert!(reason.contains("`currency` is missing"), "{reason}");
    }

    #[test]
    fn invalid_card_number_rejects() {
        for card_number in [
            json!("123"),
            json!("4111-abcd-1111"),
            json!(4111111111111111_u64),
        ] {
            let mut value = order_placed();
            value["payment"]["card_number"] = card_number.clone();

            let reason = reject_reason(value);

            assert_eq!(
                reason, "`payment.card_number` is not a card number",
                "{card_number}"
            );
        }
    }

    #[test]
    fn invalid_json_rejects() {
        let result = redactor(&[]).process(event(Some(b"{\"type\":".to_vec())));

        assert_eq!(
            result,
            Err(Failure::Reject("value is not valid JSON".to_string()))
        );
    }

    #[test]
    fn unrelated_events_pass_unchanged() {
        let shipped = br#"{"type": "OrderShipped", "carrier": "DHL"}"#.to_vec();
        let inputs = [
            event(None),
            event(Some(shipped)),
            event(Some(b"[1, 2]".to_vec())),
        ];

        for input in inputs {
            let outputs = redactor(&[]).process(input.clone()).unwrap();

            assert_eq!(outputs, vec![Output::from_event(&input)]);
        }
    }

    #[test]
    fn unknown_config_key_fails_init() {
        let config = Config::from_iter([("mask", "x"), ("masks", "y")]);

        let error = RedactCustomer::init(config).err().unwrap();

        assert!(error.contains("`masks`"), "{error}");
    }
}
