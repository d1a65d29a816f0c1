//! Plugin fixtures for `weir test`: input events in the `weir topic produce` format, the
//! expected result of each, and the comparison of a plugin's actual results with them.
//!
//! An expected line is `{"outputs": [...]}`, each output an object with the produce fields
//! `key`, `value`, `headers`, `key_base64`, `value_base64` and an optional `topic`, or
//! `{"failure": "reject"}` (or `"retry"`, `"trap"`, `"deadline"`, `"memory-limit"`,
//! `"fuel"`). Values that both parse as JSON compare as JSON values, so key order and spacing
//! do not matter; other values compare as bytes. Headers compare regardless of their order.

use std::fmt::Write as _;

use serde_json::{Map, Value};

use crate::local::{JsonlError, NewRecord, parse_line};
use crate::pipeline::EventOutcome;
use crate::plugin::{Event, Output};

/// Topic of the fixture events, which plugins see in `event.topic`.
pub const FIXTURE_TOPIC: &str = "input";

/// What one event is expected to give.
#[derive(Debug, Clone, PartialEq)]
pub enum Expected {
    Outputs(Vec<ExpectedOutput>),
    /// The failure kind, as in the `weir.error.kind` dead-letter header.
    Failure(String),
}

/// One expected output.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectedOutput {
    pub topic: Option<String>,
    pub record: NewRecord,
}

/// Parses the input fixture into events of partition 0 of [`FIXTURE_TOPIC`], with offsets
/// from 0 in line order. Empty lines are skipped.
pub fn parse_input(text: &str) -> Result<Vec<Event>, JsonlError> {
    let mut events = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let record = parse_line(index + 1, line, FIXTURE_TOPIC)?;
        let offset = events.len() as i64;
        events.push(Event {
            topic: FIXTURE_TOPIC.to_string(),
            partition: record.partition.unwrap_or(0),
            offset,
            timestamp_ms: record.timestamp_ms,
            key: record.key,
            value: record.value,
            headers: record
                .headers
                .into_iter()
                .map(|header| crate::plugin::Header {
                    name: header.name,
                    value: header.value,
                })
                .collect(),
        });
    }
    Ok(events)
}

/// Parses the expected fixture, one line per input event. Empty lines are skipped.
pub fn parse_expected(text: &str) -> Result<Vec<Expected>, JsonlError> {
    let mut expected = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let line_number = index + 1;
        let error = |message: String| JsonlError {
            line: line_number,
            column: None,
            message,
        };
        let object: Map<String, Value> = serde_json::from_str(line)
            .map_err(|json| error(format!("expected a JSON object: {json}")))?;
        let entry = match (object.get("outputs"), object.get("failure")) {
            (Some(Value::Array(outputs)), None) => {
                let mut parsed = Vec::with_capacity(outputs.len());
                for output in outputs {
                    let Value::Object(fields) = output else {
                        return Err(error("each output must be a JSON object".into()));
                    };
                    let mut fields = fields.clone();
                    let topic = match fields.remove("topic") {
                        None | Some(Value::Null) => None,
                        Some(Value::String(topic)) => Some(topic),
                        Some(_) => {
                            return Err(error("an output's `topic` must be a string".into()));
                        }
                    };
                    let text = Value::Object(fields).to_string();
                    let record = parse_line(line_number, &text, FIXTURE_TOPIC)?;
                    parsed.push(ExpectedOutput { topic, record });
                }
                Expected::Outputs(parsed)
            }
            (None, Some(Value::String(kind))) => Expected::Failure(kind.clone()),
            _ => {
                return Err(error(
                    "expected `{\"outputs\": [...]}` or `{\"failure\": \"reject\"}`".into(),
                ));
            }
        };
        expected.push(entry);
    }
    Ok(expected)
}

/// Returns a description of every difference between the expected and actual results, one
/// paragraph per event that differs; empty when all match.
pub fn compare(expected: &[Expected], actual: &[EventOutcome]) -> Vec<String> {
    let mut differences = Vec::new();
    if expected.len() != actual.len() {
        differences.push(format!(
            "the input has {} events but the expected file has {} lines",
            actual.len(),
            expected.len()
        ));
    }

    for (index, (expected, actual)) in expected.iter().zip(actual).enumerate() {
        let problem = match (expected, actual) {
            (Expected::Failure(kind), Err(failure)) if failure.kind.as_str() == kind => None,
            (Expected::Failure(kind), Err(failure)) => Some(format!(
                "expected failure `{kind}`, got failure `{}`: {}",
                failure.kind.as_str(),
                failure.message
            )),
            (Expected::Failure(kind), Ok(outputs)) => Some(format!(
                "expected failure `{kind}`, got {} outputs:\n{}",
                outputs.len(),
                describe_outputs(outputs)
            )),
            (Expected::Outputs(_), Err(failure)) => Some(format!(
                "expected outputs, got failure `{}`: {}",
                failure.kind.as_str(),
                failure.message
            )),
            (Expected::Outputs(wanted), Ok(outputs)) => compare_outputs(wanted, outputs),
        };
        if let Some(problem) = problem {
            differences.push(format!(
                "event {index} (input line {}): {problem}",
                index + 1
            ));
        }
    }
    differences
}

fn compare_outputs(wanted: &[ExpectedOutput], outputs: &[Output]) -> Option<String> {
    if wanted.len() != outputs.len() {
        return Some(format!(
            "expected {} outputs, got {}:\n{}",
            wanted.len(),
            outputs.len(),
            describe_outputs(outputs)
        ));
    }

    let mut problems = String::new();
    for (position, (wanted, output)) in wanted.iter().zip(outputs).enumerate() {
        // A JSON object does not keep an order, so headers compare as a sorted list.
        let mut actual_headers: Vec<(String, Option<Vec<u8>>)> = output
            .headers
            .iter()
            .map(|header| (header.name.clone(), header.value.clone()))
            .collect();
        actual_headers.sort();
        let mut wanted_headers: Vec<(String, Option<Vec<u8>>)> = wanted
            .record
            .headers
            .iter()
            .map(|header| (header.name.clone(), header.value.clone()))
            .collect();
        wanted_headers.sort();
        let checks = [
            ("topic", wanted.topic == output.topic),
            ("key", same_bytes(&wanted.record.key, &output.key)),
            ("value", same_bytes(&wanted.record.value, &output.value)),
            ("headers", wanted_headers == actual_headers),
        ];
        for (field, matches) in checks {
            if !matches {
                let _ = writeln!(
                    problems,
                    "  output {position}: {field} differs\n    expected {}\n    actual   {}",
                    describe_expected(wanted),
                    describe_output(output)
                );
                break;
            }
        }
    }
    (!problems.is_empty()).then(|| format!("outputs differ:\n{}", problems.trim_end()))
}

/// Compares two optional byte strings as JSON values when both parse as JSON, else as bytes.
fn same_bytes(expected: &Option<Vec<u8>>, actual: &Option<Vec<u8>>) -> bool {
    match (expected, actual) {
        (None, None) => true,
        (Some(expected), Some(actual)) => {
            if expected == actual {
                return true;
            }
            match (
                serde_json::from_slice::<Value>(expected),
                serde_json::from_slice::<Value>(actual),
            ) {
                (Ok(expected), Ok(actual)) => expected == actual,
                _ => false,
            }
        }
        _ => false,
    }
}

fn describe_outputs(outputs: &[Output]) -> String {
    outputs
        .iter()
        .map(|output| format!("    {}", describe_output(output)))
        .collect::<Vec<_>>()
        .join("\n")
}

fn describe_output(output: &Output) -> String {
    output_json(output).to_string()
}

fn describe_expected(expected: &ExpectedOutput) -> String {
    let output = Output {
        topic: expected.topic.clone(),
        key: expected.record.key.clone(),
        value: expected.record.value.clone(),
        headers: expected
            .record
            .headers
            .iter()
            .map(|header| crate::plugin::Header {
                name: header.name.clone(),
                value: header.value.clone(),
            })
            .collect(),
    };
    describe_output(&output)
}

/// Returns `outcome` as an expected line, for `weir test --record`.
pub fn expected_line(outcome: &EventOutcome) -> Value {
    match outcome {
        Ok(outputs) => serde_json::json!({
            "outputs": outputs.iter().map(output_json).collect::<Vec<_>>(),
        }),
        Err(failure) => serde_json::json!({ "failure": failure.kind.as_str() }),
    }
}

/// Writes an output in the produce format: JSON values as JSON, other UTF-8 text as a
/// string, anything else in base64.
fn output_json(output: &Output) -> Value {
    use base64::Engine as _;

    let mut object = Map::new();
    if let Some(topic) = &output.topic {
        object.insert("topic".into(), Value::String(topic.clone()));
    }
    for (name, bytes) in [("key", &output.key), ("value", &output.value)] {
        let Some(bytes) = bytes else {
            continue;
        };
        let parsed = serde_json::from_slice::<Value>(bytes)
            .ok()
            .filter(|value| name == "value" && (value.is_object() || value.is_array()));
        match (parsed, std::str::from_utf8(bytes)) {
            (Some(json), _) => {
                object.insert(name.into(), json);
            }
            (None, Ok(text)) => {
                object.insert(name.into(), Value::String(text.to_string()));
            }
            (None, Err(_)) => {
                let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
                object.insert(format!("{name}_base64"), Value::String(encoded));
            }
        }
    }
    let headers: Map<String, Value> = output
        .headers
        .iter()
        .map(|header| {
            let value = match &header.value {
                None => Value::Null,
                Some(bytes) => match std::str::from_utf8(bytes) {
                    Ok(text) => Value::String(text.to_string()),
                    Err(_) => serde_json::json!({
                        "base64": base64::engine::general_purpose::STANDARD.encode(bytes)
                    }),
                },
            };
            (header.name.clone(), value)
        })
        .collect();
    if !headers.is_empty() {
        object.insert("headers".into(), Value::Object(headers));
    }
    Value::Object(object)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{StepFailure, StepFailureKind};

    fn output(value: &str) -> Output {
        Output {
            topic: None,
            key: Some(b"k".to_vec()),
            value: Some(value.as_bytes().to_vec()),
            headers: Vec::new(),
        }
    }

    #[test]
    fn json_values_compare_by_value() {
        let expected =
            parse_expected(r#"{"outputs": [{"key": "k", "value": {"a": 1, "b": 2}}]}"#).unwrap();
        let same = vec![Ok(vec![output(r#"{"b":2, "a":1}"#)])];
        assert!(compare(&expected, &same).is_empty());

        let different = vec![Ok(vec![output(r#"{"a":1,"b":3}"#)])];
        let problems = compare(&expected, &different);
        assert_eq!(problems.len(), 1);
        assert!(problems[0].contains("value differs"), "{problems:?}");
    }

    #[test]
    fn failure_kinds_must_match() {
        let expected = parse_expected(r#"{"failure": "reject"}"#).unwrap();
        let failure = |kind| StepFailure {
            step_index: 0,
            step: "step".into(),
            plugin_digest: String::new(),
            kind,
            message: "bad".into(),
        };
        assert!(compare(&expected, &[Err(failure(StepFailureKind::Reject))]).is_empty());
        assert_eq!(
            compare(&expected, &[Err(failure(StepFailureKind::Retry))]).len(),
            1
        );
        assert_eq!(compare(&expected, &[Ok(Vec::new())]).len(), 1);
    }

    #[test]
    fn recorded_line_reads_back() {
        let outcome: EventOutcome = Ok(vec![output(r#"{"a":[1,2]}"#)]);
        let line = expected_line(&outcome).to_string();
        let expected = parse_expected(&line).unwrap();
        assert!(compare(&expected, &[outcome]).is_empty());
    }
}
