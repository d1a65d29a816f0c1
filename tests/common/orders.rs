//! The quick-start pipeline's rules, written again independently of the plugins, so that the
//! tests can compute which outputs each input event must produce.

use std::collections::BTreeMap;

use serde_json::{Value, json};

const MASK: &str = "REDACTED";

/// What the quick-start chain must make of one input event.
#[derive(Debug, Default)]
pub struct Expected {
    /// The redacted event on `orders-clean`, unless the event is dropped or dead-lettered.
    pub clean: Option<Value>,
    /// One value per order line on `order-lines`.
    pub lines: Vec<Value>,
    /// Whether the event must reach the dead-letter topic.
    pub dead_letter: bool,
}

/// Applies the rules to an input value, given as `weir topic consume` prints it: a JSON
/// object, or a string when the bytes are not a JSON object.
pub fn expected_for(value: &Value) -> Expected {
    let order = match value {
        Value::Object(_) => value.clone(),
        Value::String(text) => match serde_json::from_str::<Value>(text) {
            Ok(parsed @ Value::Object(_)) => parsed,
            _ => return dead_letter(),
        },
        _ => return dead_letter(),
    };
    if !order["type"].is_string() {
        return dead_letter();
    }
    if order["test"] == Value::Bool(true) {
        return Expected::default();
    }

    let clean = redact(order);
    let lines = if clean["type"] == "OrderPlaced" {
        order_lines(&clean)
    } else {
        Vec::new()
    };
    Expected {
        clean: Some(clean),
        lines,
        dead_letter: false,
    }
}

fn dead_letter() -> Expected {
    Expected {
        dead_letter: true,
        ..Expected::default()
    }
}

fn redact(mut order: Value) -> Value {
    let exponent = match order["currency"].as_str() {
        Some("JPY") => 0,
        _ => 2,
    };

    if let Some(email) = order.pointer_mut("/customer/email") {
        *email = json!(MASK);
    }
    if let Some(payment) = order.get_mut("payment").and_then(Value::as_object_mut) {
        if let Some(card) = payment.get("card_number").and_then(Value::as_str) {
            let last_four = &card[card.len() - 4..];
            let masked = format!("{MASK}-{last_four}");
            payment.insert("card_number".into(), json!(masked));
        }
        if payment.contains_key("card_expiry") {
            payment.insert("card_expiry".into(), json!(MASK));
        }
    }

    let object = order.as_object_mut().expect("an order is an object");
    for (field, minor_field) in [("total", "total_minor"), ("amount", "amount_minor")] {
        if let Some(amount) = object.remove(field) {
            let minor = to_minor(amount.as_str().expect("a decimal string"), exponent);
            object.insert(minor_field.into(), json!(minor));
        }
    }
    if let Some(lines) = object.get_mut("lines").and_then(Value::as_array_mut) {
        for line in lines {
            let line = line.as_object_mut().expect("a line is an object");
            if let Some(price) = line.remove("unit_price") {
                let minor = to_minor(price.as_str().expect("a decimal string"), exponent);
                line.insert("unit_price_minor".into(), json!(minor));
            }
        }
    }
    order
}

fn to_minor(decimal: &str, exponent: u32) -> i64 {
    let (whole, fraction) = decimal.split_once('.').unwrap_or((decimal, ""));
    assert!(
        fraction.len() <= exponent as usize,
        "too many decimals in {decimal}"
    );
    let padded = format!("{fraction:0<width$}", width = exponent as usize);
    let whole: i64 = whole.parse().expect("a whole number");
    let fraction: i64 = if padded.is_empty() {
        0
    } else {
        padded.parse().expect("digits")
    };
    whole * 10i64.pow(exponent) + fraction
}

fn order_lines(order: &Value) -> Vec<Value> {
    let Some(lines) = order["lines"].as_array() else {
        return Vec::new();
    };
    lines
        .iter()
        .enumerate()
        .map(|(index, line)| {
            json!({
                "order_id": order["order_id"],
                "line": index,
                "sku": line["sku"],
                "quantity": line["quantity"],
                "unit_price_minor": line["unit_price_minor"],
                "currency": order["currency"],
                "occurred_at": order["occurred_at"],
            })
        })
        .collect()
}

/// Counts values by their canonical JSON text, so that two lists compare as multisets.
pub fn count_values<'a>(values: impl IntoIterator<Item = &'a Value>) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for value in values {
        *counts.entry(canonical(value)).or_insert(0) += 1;
    }
    counts
}

/// Returns JSON text with object keys sorted, whatever order the value keeps them in.
pub fn canonical(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let sorted: BTreeMap<&String, String> = map
                .iter()
                .map(|(key, value)| (key, canonical(value)))
                .collect();
            let fields: Vec<String> = sorted
                .into_iter()
                .map(|(key, value)| format!("{}:{value}", Value::String(key.clone())))
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(canonical).collect();
            format!("[{}]", items.join(","))
        }
        other => other.to_string(),
    }
}
