//! The quick-start pipeline over the sample data set: the output topics must hold exactly
//! what the three plugins' rules imply.

mod common;

use common::Scratch;
use common::orders::{count_values, expected_for};
use serde_json::Value;

#[test]
fn quickstart_outputs_match_rules() {
    let scratch = Scratch::new();
    let pipeline = scratch.quickstart_pipeline(6, 256);
    let input = scratch.sample_orders(100_000, 42);
    scratch.produce("orders", &input);

    scratch.run_ok(&["run", pipeline.to_str().unwrap(), "--stop-at-end"]);

    let inputs = scratch.consume("orders");
    assert_eq!(inputs.len(), 100_000);
    let mut clean = Vec::new();
    let mut lines = Vec::new();
    let mut dead_letters = Vec::new();
    for input in &inputs {
        let expected = expected_for(&input["value"]);
        clean.extend(expected.clean);
        lines.extend(expected.lines);
        if expected.dead_letter {
            dead_letters.push(input["value"].clone());
        }
    }
    assert!(!dead_letters.is_empty(), "the sample has malformed events");
    assert!(
        clean.len() < inputs.len() - dead_letters.len(),
        "the sample has test orders"
    );

    let clean_out: Vec<Value> = scratch
        .consume("orders-clean")
        .into_iter()
        .map(|r| r["value"].clone())
        .collect();
    let lines_out: Vec<Value> = scratch
        .consume("order-lines")
        .into_iter()
        .map(|r| r["value"].clone())
        .collect();
    let dead_out = scratch.consume("orders-dead-letter");

    assert_eq!(clean_out.len(), clean.len(), "orders-clean record count");
    assert_eq!(
        count_values(&clean_out),
        count_values(&clean),
        "orders-clean values"
    );
    assert_eq!(lines_out.len(), lines.len(), "order-lines record count");
    assert_eq!(
        count_values(&lines_out),
        count_values(&lines),
        "order-lines values"
    );
    let dead_values: Vec<Value> = dead_out.iter().map(|r| r["value"].clone()).collect();
    assert_eq!(
        count_values(&dead_values),
        count_values(&dead_letters),
        "dead-letter values"
    );

    let offsets = scratch.committed_offsets("orders");
    let committed: i64 = offsets.values().sum();
    assert_eq!(
        committed, 100_000,
        "the group committed every partition to its end"
    );
}

#[test]
fn order_lines_keyed_by_sku() {
    let scratch = Scratch::new();
    let pipeline = scratch.quickstart_pipeline(3, 64);
    let input = scratch.sample_orders(2_000, 7);
    scratch.produce("orders", &input);

    scratch.run_ok(&["run", pipeline.to_str().unwrap(), "--stop-at-end"]);

    let lines = scratch.consume("order-lines");
    assert!(!lines.is_empty());
    for line in &lines {
        assert_eq!(
            line["key"], line["value"]["sku"],
            "an order line is keyed by its SKU"
        );
        assert_eq!(
            common::header(line, "order-id"),
            line["value"]["order_id"].as_str(),
            "an order line names its order in a header"
        );
    }
    for record in scratch.consume("orders-clean") {
        let value = &record["value"];
        if value["customer"]["email"].is_string() {
            assert_eq!(value["customer"]["email"], "REDACTED");
        }
        assert!(value.get("total").is_none(), "amounts are in minor units");
    }
}
