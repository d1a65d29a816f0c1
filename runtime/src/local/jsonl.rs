//! The JSON-lines format of `weir topic produce` and `weir topic consume`.
//!
//! # Produce lines
//!
//! Each line is one JSON object, and every field is optional:
//!
//! ```text
//! {"key": "ord-1", "value": {"type": "OrderPlaced"}, "headers": {"source": "shop", "flag": null},
//!  "partition": 3, "timestamp_ms": 1700000000000}
//! ```
//!
//! - `key`: a string, stored as its UTF-8 bytes, or `null` for no key. `key_base64` gives
//!   a binary key in standard base64 with padding. A line may have only one of the two.
//! - `value`: a string is stored as its UTF-8 bytes. An object, array, number or boolean
//!   is stored as its JSON text with the whitespace between tokens removed, and with key
//!   order and number spelling kept. `null` or no `value` makes a tombstone.
//!   `value_base64` gives a binary value. A line may have only one of the two.
//! - `headers`: an object of header names to values. A value is a string (its UTF-8
//!   bytes), `null` (a header without a value) or `{"base64": "..."}` for binary. Headers
//!   keep their order, and a repeated name gives repeated headers.
//! - `partition`: the partition to append to. Without it, the store picks one from the
//!   key, or round-robin for a keyless record.
//! - `timestamp_ms`: milliseconds since the Unix epoch, 0 or more. Without it, the store
//!   uses the time of the append.
//!
//! Any other field is an error, so a typo is not silently ignored.
//!
//! # Consume lines
//!
//! [`format_record`] writes one line per record with the fields `topic`, `partition`,
//! `offset`, `timestamp_ms`, `key`, `value` and `headers`, in that order:
//!
//! - The value is embedded as JSON when its bytes are a JSON object or array, else
//!   written as a string when they are UTF-8, else as `value_base64` in place of `value`.
//!   A tombstone is `"value": null`.
//! - The key is a string when its bytes are UTF-8, else `key_base64`. No key is
//!   `"key": null`.
//! - Header values are strings, `null`, or `{"base64": "..."}` when not UTF-8.
//!
//! A produce line built from the `key`, `value` and `headers` of a consume line gives
//! the same bytes back, with one exception. An embedded object or array is written
//! without the whitespace between its tokens, so a value stored with such whitespace
//! comes back compact.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::de::IgnoredAny;

use super::{Header, NewRecord, Record};

/// Fields that a produce line may have.
const PRODUCE_FIELDS: &str =
    "key, key_base64, value, value_base64, headers, partition, timestamp_ms";

/// An invalid produce line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}{}: {message}", column.map(|column| format!(", column {column}")).unwrap_or_default())]
pub struct JsonlError {
    /// Line number as the caller counts it, usually from 1.
    pub line: usize,
    /// Byte position in the line from 1, where the error has one.
    pub column: Option<usize>,
    /// Description of the problem and, where possible, of the fix.
    pub message: String,
}

/// Parses one produce line into a record for `topic`.
///
/// `line_number` only labels errors. The error names the line, the column where there
/// is one, and the problem: invalid JSON, a line that is not an object, an unknown or
/// repeated field, or a field of the wrong type.
pub fn parse_line(line_number: usize, text: &str, topic: &str) -> Result<NewRecord, JsonlError> {
    let error = |column: Option<usize>, message: String| JsonlError {
        line: line_number,
        column,
        message,
    };

    let start = text.len() - text.trim_start().len();
    match text.as_bytes().get(start) {
        None => {
            return Err(error(
                None,
                "expected a JSON object, found an empty line".to_owned(),
            ));
        }
        Some(b'{') => {}
        Some(_) => {
            let found = json_type_name(text.trim());
            return Err(error(
                Some(start + 1),
                format!("expected a JSON object, found {found}"),
            ));
        }
    }
    if let Err(json_error) = serde_json::from_str::<IgnoredAny>(text) {
        let (column, message) = describe_json_error(&json_error);
        return Err(error(Some(column), format!("invalid JSON: {message}")));
    }

    let mut fields = ProduceFields::default();
    for member in object_members(text, start) {
        let field_error = |message: String| error(Some(member.column), message);
        let slot = match member.name.as_str() {
            "key" => &mut fields.key,
            "key_base64" => &mut fields.key_base64,
            "value" => &mut fields.value,
            "value_base64" => &mut fields.value_base64,
            "headers" => &mut fields.headers,
            "partition" => &mut fields.partition,
            "timestamp_ms" => &mut fields.timestamp_ms,
            "topic" | "offset" => {
                return Err(field_error(format!(
                    "field `{}` cannot be produced, because the topic comes from the \
                     command line and the store assigns offsets; remove it",
                    member.name
                )));
            }
            other => {
                return Err(field_error(format!(
                    "unknown field `{other}`; expected one of {PRODUCE_FIELDS}"
                )));
            }
        };
        if slot.is_some() {
            return Err(field_error(format!(
                "field `{}` appears twice",
                member.name
            )));
        }
        *slot = Some(member);
    }

    fields
        .into_record(topic)
        .map_err(|(column, message)| error(Some(column), message))
}

/// Writes a record as one consume line, without a line break.
pub fn format_record(record: &Record) -> String {
    let mut line = String::with_capacity(128);

    line.push_str("{\"topic\":");
    push_json_string(&mut line, &record.topic);
    line.push_str(&format!(
        ",\"partition\":{},\"offset\":{},\"timestamp_ms\":{}",
        record.partition, record.offset, record.timestamp_ms
    ));
    push_content(&mut line, &record.key, &record.value, &record.headers);
    line
}

/// Writes a record that is yet to be appended as one line, without a line break: the consume
/// format without an offset, and without a partition or timestamp when it has none.
pub fn format_new_record(record: &NewRecord) -> String {
    let mut line = String::with_capacity(128);

    line.push_str("{\"topic\":");
    push_json_string(&mut line, &record.topic);
    if let Some(partition) = record.partition {
        line.push_str(&format!(",\"partition\":{partition}"));
    }
    if let Some(timestamp_ms) = record.timestamp_ms {
        line.push_str(&format!(",\"timestamp_ms\":{timestamp_ms}"));
    }
    push_content(&mut line, &record.key, &record.value, &record.headers);
    line
}

/// Appends the key, value and header fields and closes the object.
fn push_content(
    line: &mut String,
    key: &Option<Vec<u8>>,
    value: &Option<Vec<u8>>,
    headers: &[Header],
) {
    match key.as_deref() {
        None => line.push_str(",\"key\":null"),
        Some(key) => match std::str::from_utf8(key) {
            Ok(text) => {
                line.push_str(",\"key\":");
                push_json_string(line, text);
            }
            Err(_) => push_base64_field(line, "key_base64", key),
        },
    }

    match value.as_deref() {
        None => line.push_str(",\"value\":null"),
        Some(value) => match std::str::from_utf8(value) {
            Ok(text) if is_json_container(text) => {
                line.push_str(",\"value\":");
                line.push_str(&compact_json(text));
            }
            Ok(text) => {
                line.push_str(",\"value\":");
                push_json_string(line, text);
            }
            Err(_) => push_base64_field(line, "value_base64", value),
        },
    }

    line.push_str(",\"headers\":{");
    for (index, header) in headers.iter().enumerate() {
        if index > 0 {
            line.push(',');
        }
        push_json_string(line, &header.name);
        line.push(':');
        match header
            .value
            .as_deref()
            .map(|value| (value, std::str::from_utf8(value)))
        {
            None => line.push_str("null"),
            Some((_, Ok(text))) => push_json_string(line, text),
            Some((value, Err(_))) => {
                line.push_str("{\"base64\":\"");
                line.push_str(&BASE64.encode(value));
                line.push_str("\"}");
            }
        }
    }
    line.push_str("}}");
}

/// A member of a JSON object: its decoded name and the raw text of its value.
struct Member<'a> {
    name: String,
    raw: &'a str,
    /// Byte position of the value in the line, from 1.
    column: usize,
}

/// The fields of a produce line, each still raw.
#[derive(Default)]
struct ProduceFields<'a> {
    key: Option<Member<'a>>,
    key_base64: Option<Member<'a>>,
    value: Option<Member<'a>>,
    value_base64: Option<Member<'a>>,
    headers: Option<Member<'a>>,
    partition: Option<Member<'a>>,
    timestamp_ms: Option<Member<'a>>,
}

/// Column and message of an invalid field.
type FieldError = (usize, String);

impl ProduceFields<'_> {
    fn into_record(self, topic: &str) -> Result<NewRecord, FieldError> {
        let key = bytes_field(self.key, self.key_base64, BytesField::Key)?;
        let value = bytes_field(self.value, self.value_base64, BytesField::Value)?;
        let headers = match self.headers {
            Some(member) => parse_headers(&member)?,
            None => Vec::new(),
        };
        // The range checks make both casts lossless.
        let partition = match self.partition {
            Some(member) => integer_field(&member, "partition", u32::MAX.into())?.map(|n| n as u32),
            None => None,
        };
        let timestamp_ms = match self.timestamp_ms {
            Some(member) => {
                integer_field(&member, "timestamp_ms", i64::MAX as u64)?.map(|n| n as i64)
            }
            None => None,
        };

        Ok(NewRecord {
            topic: topic.to_owned(),
            partition,
            timestamp_ms,
            key,
            value,
            headers,
        })
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum BytesField {
    Key,
    Value,
}

/// Reads the bytes of `key` or `value` from its text form or its `_base64` form.
fn bytes_field(
    text_form: Option<Member<'_>>,
    base64_form: Option<Member<'_>>,
    field: BytesField,
) -> Result<Option<Vec<u8>>, FieldError> {
    let name = match field {
        BytesField::Key => "key",
        BytesField::Value => "value",
    };

    match (text_form, base64_form) {
        (Some(_), Some(base64_member)) => Err((
            base64_member.column,
            format!("give either `{name}` or `{name}_base64`, not both"),
        )),
        (None, None) => Ok(None),
        (None, Some(member)) => match member.raw {
            "null" => Ok(None),
            raw if raw.starts_with('"') => {
                decode_base64(&member, &format!("`{name}_base64`")).map(Some)
            }
            _ => Err((
                member.column,
                format!("`{name}_base64` must be a base64 string or null"),
            )),
        },
        (Some(member), None) => match member.raw.as_bytes()[0] {
            b'n' => Ok(None),
            b'"' => Ok(Some(decode_string(member.raw).into_bytes())),
            _ if field == BytesField::Value => Ok(Some(compact_json(member.raw).into_bytes())),
            _ => Err((
                member.column,
                "`key` must be a string or null; use `key_base64` for a binary key".to_owned(),
            )),
        },
    }
}

fn parse_headers(member: &Member<'_>) -> Result<Vec<Header>, FieldError> {
    match member.raw.as_bytes()[0] {
        b'n' => return Ok(Vec::new()),
        b'{' => {}
        _ => {
            return Err((
                member.column,
                "`headers` must be an object of header names to values".to_owned(),
            ));
        }
    }

    let mut headers = Vec::new();
    for header in object_members(member.raw, 0) {
        let column = member.column + header.column - 1;
        let value = match header.raw.as_bytes()[0] {
            b'n' => None,
            b'"' => Some(decode_string(header.raw).into_bytes()),
            b'{' => Some(parse_binary_header(&header, column)?),
            _ => {
                return Err((
                    column,
                    format!(
                        "header `{}` must be a string, null or {{\"base64\": \"...\"}}",
                        header.name
                    ),
                ));
            }
        };
        headers.push(Header {
            name: header.name,
            value,
        });
    }
    Ok(headers)
}

/// Reads a header value of the form `{"base64": "..."}`.
fn parse_binary_header(header: &Member<'_>, column: usize) -> Result<Vec<u8>, FieldError> {
    let members = object_members(header.raw, 0);
    match members.as_slice() {
        [only] if only.name == "base64" && only.raw.starts_with('"') => {
            decode_base64(only, &format!("header `{}`", header.name))
                .map_err(|(_, message)| (column, message))
        }
        _ => Err((
            column,
            format!(
                "header `{}` must be a string, null or {{\"base64\": \"...\"}}",
                header.name
            ),
        )),
    }
}

/// Reads an integer field from 0 to `max`, or `None` for `null`.
fn integer_field(member: &Member<'_>, name: &str, max: u64) -> Result<Option<u64>, FieldError> {
    if member.raw == "null" {
        return Ok(None);
    }
    match serde_json::from_str::<u64>(member.raw) {
        Ok(number) if number <= max => Ok(Some(number)),
        _ => Err((
            member.column,
            format!(
                "`{name}` must be an integer from 0 to {max}, found {}",
                member.raw
            ),
        )),
    }
}

fn decode_base64(member: &Member<'_>, label: &str) -> Result<Vec<u8>, FieldError> {
    let text = decode_string(member.raw);
    BASE64.decode(text.as_bytes()).map_err(|error| {
        (
            member.column,
            format!("{label} is not valid base64 (standard alphabet, with padding): {error}"),
        )
    })
}

/// Decodes a JSON string literal that the line's validation has accepted.
fn decode_string(raw: &str) -> String {
    serde_json::from_str(raw).expect("the line was validated as JSON")
}

/// Returns `(column, message)` of a serde_json error, without the position suffix
/// that serde_json appends to its message.
fn describe_json_error(error: &serde_json::Error) -> (usize, String) {
    let full = error.to_string();
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    let message = full.strip_suffix(&suffix).unwrap_or(&full).to_owned();
    (error.column(), message)
}

fn json_type_name(text: &str) -> &'static str {
    match text.as_bytes().first() {
        Some(b'[') => "an array",
        Some(b'"') => "a string",
        Some(b't' | b'f') if text == "true" || text == "false" => "a boolean",
        Some(b'n') if text == "null" => "null",
        Some(b'-' | b'0'..=b'9') if serde_json::from_str::<IgnoredAny>(text).is_ok() => "a number",
        _ => "text that is not JSON",
    }
}

/// Returns whether `text` is one JSON object or array, with optional whitespace around.
fn is_json_container(text: &str) -> bool {
    let trimmed = text.trim_start();
    (trimmed.starts_with('{') || trimmed.starts_with('['))
        && serde_json::from_str::<IgnoredAny>(text).is_ok()
}

/// Removes the whitespace between the tokens of valid JSON text. Strings, numbers and
/// key order stay as they are.
fn compact_json(valid_json: &str) -> String {
    let mut compact = String::with_capacity(valid_json.len());
    let mut in_string = false;
    let mut escaped = false;

    for character in valid_json.chars() {
        if in_string {
            compact.push(character);
            if escaped {
                escaped = false;
            } else if character == '\\' {
                escaped = true;
            } else if character == '"' {
                in_string = false;
            }
        } else if character == '"' {
            in_string = true;
            compact.push(character);
        } else if !matches!(character, ' ' | '\t' | '\n' | '\r') {
            compact.push(character);
        }
    }
    compact
}

/// Splits a valid JSON object that starts at byte `start` of `text` into its members.
///
/// The caller must have validated `text` as JSON. `Member::column` counts from the start
/// of `text`, from 1.
fn object_members(text: &str, start: usize) -> Vec<Member<'_>> {
    let bytes = text.as_bytes();
    let mut members = Vec::new();
    let mut position = skip_whitespace(bytes, start + 1);

    while bytes.get(position) == Some(&b'"') {
        let name_end = skip_string(bytes, position);
        let name = decode_string(&text[position..name_end]);

        position = skip_whitespace(bytes, name_end);
        // The validated text has a `:` here.
        position = skip_whitespace(bytes, position + 1);
        let value_end = skip_value(bytes, position);
        members.push(Member {
            name,
            raw: &text[position..value_end],
            column: position + 1,
        });

        position = skip_whitespace(bytes, value_end);
        if bytes.get(position) == Some(&b',') {
            position = skip_whitespace(bytes, position + 1);
        }
    }
    members
}

fn skip_whitespace(bytes: &[u8], mut position: usize) -> usize {
    while matches!(bytes.get(position), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        position += 1;
    }
    position
}

/// Returns the position after the string literal that starts at `position`.
fn skip_string(bytes: &[u8], mut position: usize) -> usize {
    position += 1;
    while let Some(&byte) = bytes.get(position) {
        match byte {
            b'\\' => position += 2,
            b'"' => return position + 1,
            _ => position += 1,
        }
    }
    position
}

/// Returns the position after the JSON value that starts at `position`.
fn skip_value(bytes: &[u8], position: usize) -> usize {
    match bytes.get(position) {
        Some(b'"') => skip_string(bytes, position),
        Some(b'{' | b'[') => {
            let mut depth = 0usize;
            let mut current = position;
            while let Some(&byte) = bytes.get(current) {
                match byte {
                    b'"' => {
                        current = skip_string(bytes, current);
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return current + 1;
                        }
                    }
                    _ => {}
                }
                current += 1;
            }
            current
        }
        _ => {
            let mut current = position;
            while !matches!(
                bytes.get(current),
                None | Some(b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
            ) {
                current += 1;
            }
            current
        }
    }
}

fn push_json_string(line: &mut String, text: &str) {
    line.push_str(&serde_json::to_string(text).expect("a string always serializes"));
}

fn push_base64_field(line: &mut String, name: &str, bytes: &[u8]) {
    line.push_str(",\"");
    line.push_str(name);
    line.push_str("\":\"");
    line.push_str(&BASE64.encode(bytes));
    line.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> NewRecord {
        parse_line(1, text, "orders").unwrap_or_else(|error| panic!("{text}: {error}"))
    }

    fn parse_error(line: usize, text: &str) -> JsonlError {
        match parse_line(line, text, "orders") {
            Ok(record) => panic!("{text} parsed as {record:?}"),
            Err(error) => error,
        }
    }

    fn header(name: &str, value: Option<&[u8]>) -> Header {
        Header {
            name: name.to_owned(),
            value: value.map(<[u8]>::to_vec),
        }
    }

    fn stored(record: NewRecord, offset: i64) -> Record {
        Record {
            topic: record.topic,
            partition: record.partition.unwrap_or(0),
            offset,
            timestamp_ms: record.timestamp_ms.unwrap_or(1_700_000_000_000),
            key: record.key,
            value: record.value,
            headers: record.headers,
        }
    }

    /// Builds a produce line from the `key`, `value` and `headers` fields of a consume
    /// line, and their `_base64` forms.
    fn produce_line_from(consumed: &str) -> String {
        let produce_members: Vec<String> = object_members(consumed, 0)
            .into_iter()
            .filter(|member| {
                matches!(
                    member.name.as_str(),
                    "key" | "key_base64" | "value" | "value_base64" | "headers"
                )
            })
            .map(|member| {
                format!(
                    "{}:{}",
                    serde_json::to_string(&member.name).unwrap(),
                    member.raw
                )
            })
            .collect();
        format!("{{{}}}", produce_members.join(","))
    }

    #[test]
    fn parse_all_fields() {
        let record = parse(
            r#"{"key": "ord-1", "value": {"b": 1, "a": [1.50, true]}, "headers": {"source": "shop", "flag": null}, "partition": 3, "timestamp_ms": 1700000000000}"#,
        );

        assert_eq!(record.topic, "orders");
        assert_eq!(record.key.as_deref(), Some(&b"ord-1"[..]));
        assert_eq!(
            record.value.as_deref(),
            Some(&br#"{"b":1,"a":[1.50,true]}"#[..])
        );
        assert_eq!(
            record.headers,
            vec![header("source", Some(b"shop")), header("flag", None)]
        );
        assert_eq!(record.partition, Some(3));
        assert_eq!(record.timestamp_ms, Some(1_700_000_000_000));
    }

    #[test]
    fn parse_empty_object_is_keyless_tombstone() {
        let record = parse("{}");

        assert_eq!(
            record,
            NewRecord {
                topic: "orders".to_owned(),
                ..NewRecord::default()
            }
        );
    }

    #[test]
    fn parse_value_forms() {
        let cases: &[(&str, Option<&[u8]>)] = &[
            (r#"{"value": "plain text"}"#, Some(b"plain text")),
            (r#"{"value": "{\"a\": 1}"}"#, Some(br#"{"a": 1}"#)),
            (r#"{"value": ""}"#, Some(b"")),
            (r#"{"value": "\u00e4\n"}"#, Some("ä\n".as_bytes())),
            (r#"{"value": 42}"#, Some(b"42")),
            (r#"{"value": -1.5e3}"#, Some(b"-1.5e3")),
            (r#"{"value": false}"#, Some(b"false")),
            (r#"{"value": [ 1 , "a b" ]}"#, Some(br#"[1,"a b"]"#)),
            (
                r#"{"value": {"s": "x \" y", "n": null}}"#,
                Some(br#"{"s":"x \" y","n":null}"#),
            ),
            (r#"{"value": null}"#, None),
            (r#"{"value_base64": "AAH/"}"#, Some(&[0, 1, 255])),
            (r#"{"value_base64": null}"#, None),
        ];

        for &(line, expected) in cases {
            assert_eq!(parse(line).value.as_deref(), expected, "{line}");
        }
    }

    #[test]
    fn parse_key_forms() {
        let cases: &[(&str, Option<&[u8]>)] = &[
            (r#"{"key": "k"}"#, Some(b"k")),
            (r#"{"key": ""}"#, Some(b"")),
            (r#"{"key": null}"#, None),
            (r#"{"key_base64": "/wA="}"#, Some(&[255, 0])),
            (r#"{"value": 1}"#, None),
        ];

        for &(line, expected) in cases {
            assert_eq!(parse(line).key.as_deref(), expected, "{line}");
        }
    }

    #[test]
    fn parse_headers_keep_order_and_repeats() {
        let record =
            parse(r#"{"headers": {"b": "1", "a": null, "b": {"base64": "/w=="}, "c": ""}}"#);

        assert_eq!(
            record.headers,
            vec![
                header("b", Some(b"1")),
                header("a", None),
                header("b", Some(&[255])),
                header("c", Some(b"")),
            ]
        );
    }

    #[test]
    fn parse_error_invalid_json_names_column() {
        let error = parse_error(7, r#"{"key": "a",}"#);

        assert_eq!(error.line, 7);
        assert_eq!(error.column, Some(13));
        assert!(error.message.starts_with("invalid JSON: "), "{error}");
        assert!(!error.message.contains("at line"), "{error}");
        assert!(
            error
                .to_string()
                .starts_with("line 7, column 13: invalid JSON"),
            "{error}"
        );
    }

    #[test]
    fn parse_error_messages() {
        let cases = [
            ("", "line 4: expected a JSON object, found an empty line"),
            ("   ", "line 4: expected a JSON object, found an empty line"),
            (
                "[1]",
                "line 4, column 1: expected a JSON object, found an array",
            ),
            (
                "  42",
                "line 4, column 3: expected a JSON object, found a number",
            ),
            (
                "null",
                "line 4, column 1: expected a JSON object, found null",
            ),
            (
                "hello",
                "line 4, column 1: expected a JSON object, found text that is not JSON",
            ),
            (
                r#"{"vlaue": 1}"#,
                "line 4, column 11: unknown field `vlaue`; expected one of key, key_base64, \
                 value, value_base64, headers, partition, timestamp_ms",
            ),
            (
                r#"{"offset": 3}"#,
                "line 4, column 12: field `offset` cannot be produced, because the topic \
                 comes from the command line and the store assigns offsets; remove it",
            ),
            (
                r#"{"key": "a", "key": "b"}"#,
                "line 4, column 21: field `key` appears twice",
            ),
            (
                r#"{"value": "x", "value_base64": "eA=="}"#,
                "line 4, column 32: give either `value` or `value_base64`, not both",
            ),
            (
                r#"{"key": 5}"#,
                "line 4, column 9: `key` must be a string or null; use `key_base64` for a \
                 binary key",
            ),
            (
                r#"{"partition": -1}"#,
                "line 4, column 15: `partition` must be an integer from 0 to 4294967295, found -1",
            ),
            (
                r#"{"partition": 1.5}"#,
                "line 4, column 15: `partition` must be an integer from 0 to 4294967295, found 1.5",
            ),
            (
                r#"{"partition": "3"}"#,
                "line 4, column 15: `partition` must be an integer from 0 to 4294967295, found \"3\"",
            ),
            (
                r#"{"timestamp_ms": -1}"#,
                "line 4, column 18: `timestamp_ms` must be an integer from 0 to \
                 9223372036854775807, found -1",
            ),
            (
                r#"{"headers": []}"#,
                "line 4, column 13: `headers` must be an object of header names to values",
            ),
            (
                r#"{"headers": {"a": 1}}"#,
                "line 4, column 19: header `a` must be a string, null or {\"base64\": \"...\"}",
            ),
            (
                r#"{"headers": {"a": {"hex": "00"}}}"#,
                "line 4, column 19: header `a` must be a string, null or {\"base64\": \"...\"}",
            ),
            (
                r#"{"value_base64": 12}"#,
                "line 4, column 18: `value_base64` must be a base64 string or null",
            ),
        ];

        for (line, expected) in cases {
            assert_eq!(parse_error(4, line).to_string(), expected, "{line}");
        }
    }

    #[test]
    fn parse_error_invalid_base64() {
        let value_error = parse_error(2, r#"{"value_base64": "not base64!"}"#);
        let header_error = parse_error(3, r#"{"headers": {"h": {"base64": "%%"}}}"#);

        assert_eq!(value_error.column, Some(18));
        assert!(
            value_error
                .message
                .starts_with("`value_base64` is not valid base64"),
            "{value_error}"
        );
        assert_eq!(header_error.column, Some(19));
        assert!(
            header_error
                .message
                .starts_with("header `h` is not valid base64"),
            "{header_error}"
        );
    }

    #[test]
    fn format_record_fields_in_order() {
        let record = Record {
            topic: "orders".to_owned(),
            partition: 2,
            offset: 17,
            timestamp_ms: 1_700_000_000_000,
            key: Some(b"ord-1".to_vec()),
            value: Some(b"{ \"type\": \"OrderPlaced\",\n  \"total\": \"9.90\" }\n".to_vec()),
            headers: vec![header("source", Some(b"shop")), header("flag", None)],
        };

        assert_eq!(
            format_record(&record),
            r#"{"topic":"orders","partition":2,"offset":17,"timestamp_ms":1700000000000,"key":"ord-1","value":{"type":"OrderPlaced","total":"9.90"},"headers":{"source":"shop","flag":null}}"#
        );
    }

    #[test]
    fn format_record_value_forms() {
        let cases: &[(Option<&[u8]>, &str)] = &[
            (None, r#""value":null"#),
            (Some(b"text"), r#""value":"text""#),
            (Some(b""), r#""value":"""#),
            (Some(b"42"), r#""value":"42""#),
            (Some(b"\"quoted\""), r#""value":"\"quoted\"""#),
            (Some(b"line\nbreak"), r#""value":"line\nbreak""#),
            (Some(b"[1, 2]"), r#""value":[1,2]"#),
            (Some(b"{not json"), r#""value":"{not json""#),
            (Some(&[0xff, 0x00]), r#""value_base64":"/wA=""#),
        ];

        for &(value, expected) in cases {
            let record = Record {
                topic: "t".to_owned(),
                partition: 0,
                offset: 0,
                timestamp_ms: 0,
                key: None,
                value: value.map(<[u8]>::to_vec),
                headers: Vec::new(),
            };
            let line = format_record(&record);
            assert!(line.contains(expected), "{value:?}: {line}");
            assert!(!line.contains('\n'), "{value:?}: {line}");
        }
    }

    #[test]
    fn format_record_binary_key_and_header() {
        let record = Record {
            topic: "t".to_owned(),
            partition: 0,
            offset: 0,
            timestamp_ms: 0,
            key: Some(vec![0xfe]),
            value: None,
            headers: vec![header("bin", Some(&[0x80]))],
        };

        assert_eq!(
            format_record(&record),
            r#"{"topic":"t","partition":0,"offset":0,"timestamp_ms":0,"key_base64":"/g==","value":null,"headers":{"bin":{"base64":"gA=="}}}"#
        );
    }

    #[test]
    fn consume_then_produce_round_trip() {
        let records = vec![
            NewRecord {
                topic: "orders".to_owned(),
                key: Some(b"ord-1".to_vec()),
                value: Some(br#"{"z":1,"a":{"n":1.50}}"#.to_vec()),
                headers: vec![
                    header("h", Some(b"v")),
                    header("h", None),
                    header("bin", Some(&[0xc3, 0x28])),
                ],
                ..NewRecord::default()
            },
            NewRecord {
                topic: "orders".to_owned(),
                key: Some(Vec::new()),
                value: None,
                ..NewRecord::default()
            },
            NewRecord {
                topic: "orders".to_owned(),
                key: Some(vec![0, 159, 146, 150]),
                value: Some(vec![0xff, 0xfe, 0x00]),
                ..NewRecord::default()
            },
            NewRecord {
                topic: "orders".to_owned(),
                value: Some(b"not json {".to_vec()),
                ..NewRecord::default()
            },
            NewRecord {
                topic: "orders".to_owned(),
                value: Some(b"  \"a JSON string\"  ".to_vec()),
                ..NewRecord::default()
            },
            NewRecord {
                topic: "orders".to_owned(),
                value: Some(b"[]".to_vec()),
                ..NewRecord::default()
            },
        ];

        for (offset, original) in records.into_iter().enumerate() {
            let consumed = format_record(&stored(original.clone(), offset as i64));
            let produced = produce_line_from(&consumed);
            let parsed = parse(&produced);

            assert_eq!(parsed.key, original.key, "key of {consumed}");
            assert_eq!(parsed.value, original.value, "value of {consumed}");
            assert_eq!(parsed.headers, original.headers, "headers of {consumed}");
        }
    }

    #[test]
    fn round_trip_compacts_object_whitespace() {
        let record = NewRecord {
            topic: "orders".to_owned(),
            value: Some(b"{ \"a\" : [1, 2] }".to_vec()),
            ..NewRecord::default()
        };

        let consumed = format_record(&stored(record, 0));
        let parsed = parse(&produce_line_from(&consumed));

        assert_eq!(parsed.value.as_deref(), Some(&br#"{"a":[1,2]}"#[..]));
    }

    #[test]
    fn compact_json_keeps_strings() {
        let text = "{ \"a b\" : \"c \\\\\\\" d\" ,\n\t\"e\": [ 1 ,2 ] }";

        assert_eq!(compact_json(text), r#"{"a b":"c \\\" d","e":[1,2]}"#);
    }
}
