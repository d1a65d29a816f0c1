//! Records, record headers and consumer-group offsets of local topics.

/// A header of a record: a name and an optional value, as in Kafka.
///
/// Names may repeat within one record, and the order of headers is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Header name.
    pub name: String,
    /// Header value, or `None` for a header without a value.
    pub value: Option<Vec<u8>>,
}

/// A record stored in a local topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Topic name.
    pub topic: String,
    /// Partition within the topic.
    pub partition: u32,
    /// Offset within the partition, counted from 0 without gaps.
    pub offset: i64,
    /// Timestamp in milliseconds since the Unix epoch: the producer's, or the time of
    /// the append when the producer gave none.
    pub timestamp_ms: i64,
    /// Record key. An empty key is a key and differs from `None`.
    pub key: Option<Vec<u8>>,
    /// Record value, or `None` for a tombstone.
    pub value: Option<Vec<u8>>,
    /// Headers in the order they were produced.
    pub headers: Vec<Header>,
}

/// A record to append to a local topic.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewRecord {
    /// Topic name. The topic must exist.
    pub topic: String,
    /// Partition to append to. With `None`, a keyed record goes to Kafka's default
    /// partition for its key and a keyless record goes round-robin.
    pub partition: Option<u32>,
    /// Timestamp in milliseconds since the Unix epoch. With `None`, the store uses the
    /// time of the append.
    pub timestamp_ms: Option<i64>,
    /// Record key.
    pub key: Option<Vec<u8>>,
    /// Record value, or `None` for a tombstone.
    pub value: Option<Vec<u8>>,
    /// Headers in order.
    pub headers: Vec<Header>,
}

/// The committed offset of a consumer group on one partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupOffset {
    /// Consumer group id.
    pub group: String,
    /// Topic name.
    pub topic: String,
    /// Partition within the topic.
    pub partition: u32,
    /// Offset of the next record that the group reads, as Kafka stores it: the offset of
    /// the last processed record plus one.
    pub next_offset: i64,
}

/// Length written in place of a value's length for a header without a value.
const NULL_VALUE_LENGTH: u32 = u32::MAX;

/// Encodes headers into the blob of the `headers` column, or `None` when there are none.
///
/// Each header is the name's length as a little-endian `u32`, the name's UTF-8 bytes,
/// then the value's length as a little-endian `u32` and the value's bytes. A header
/// without a value has the length `0xFFFF_FFFF` and no bytes. Returns an error naming
/// the header when a name or value is 4 GiB or longer.
pub(crate) fn encode_headers(headers: &[Header]) -> Result<Option<Vec<u8>>, String> {
    if headers.is_empty() {
        return Ok(None);
    }

    let mut blob = Vec::new();
    for header in headers {
        push_length(&mut blob, header.name.len(), &header.name)?;
        blob.extend_from_slice(header.name.as_bytes());
        match &header.value {
            Some(value) => {
                push_length(&mut blob, value.len(), &header.name)?;
                blob.extend_from_slice(value);
            }
            None => blob.extend_from_slice(&NULL_VALUE_LENGTH.to_le_bytes()),
        }
    }
    Ok(Some(blob))
}

fn push_length(blob: &mut Vec<u8>, length: usize, header_name: &str) -> Result<(), String> {
    let length = u32::try_from(length)
        .ok()
        .filter(|length| *length != NULL_VALUE_LENGTH)
        .ok_or_else(|| format!("header `{header_name}` is {length} bytes long, over 4 GiB"))?;
    blob.extend_from_slice(&length.to_le_bytes());
    Ok(())
}

/// Decodes the blob that [`encode_headers`] wrote. Returns a description of the damage
/// when the blob is truncated or a name is not UTF-8.
pub(crate) fn decode_headers(blob: Option<&[u8]>) -> Result<Vec<Header>, String> {
    let Some(mut rest) = blob else {
        return Ok(Vec::new());
    };

    let mut headers = Vec::new();
    while !rest.is_empty() {
        let name_length = take_length(&mut rest)?;
        if name_length == NULL_VALUE_LENGTH {
            return Err("a header name has the null marker as its length".to_owned());
        }
        let name_bytes = take_bytes(&mut rest, name_length)?;
        let name = String::from_utf8(name_bytes.to_vec())
            .map_err(|error| format!("a header name is not UTF-8: {error}"))?;

        let value_length = take_length(&mut rest)?;
        let value = if value_length == NULL_VALUE_LENGTH {
            None
        } else {
            Some(take_bytes(&mut rest, value_length)?.to_vec())
        };

        headers.push(Header { name, value });
    }
    Ok(headers)
}

fn take_length(rest: &mut &[u8]) -> Result<u32, String> {
    let bytes = take_bytes(rest, 4)?;
    Ok(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
}

fn take_bytes<'a>(rest: &mut &'a [u8], length: u32) -> Result<&'a [u8], String> {
    let length = length as usize;
    if rest.len() < length {
        return Err(format!(
            "the headers blob ends {} bytes early",
            length - rest.len()
        ));
    }
    let (taken, remainder) = rest.split_at(length);
    *rest = remainder;
    Ok(taken)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(name: &str, value: Option<&[u8]>) -> Header {
        Header {
            name: name.to_owned(),
            value: value.map(<[u8]>::to_vec),
        }
    }

    #[test]
    fn headers_round_trip_in_order() {
        let headers = vec![
            header("trace-id", Some(b"abc")),
            header("empty", Some(b"")),
            header("no-value", None),
            header("trace-id", Some(&[0xff, 0x00, 0xfe])),
            header("", Some(b"unnamed")),
        ];

        let blob = encode_headers(&headers)
            .expect("headers encode")
            .expect("non-empty headers give a blob");
        let decoded = decode_headers(Some(&blob)).expect("blob decodes");

        assert_eq!(decoded, headers);
    }

    #[test]
    fn headers_empty_is_null() {
        assert_eq!(encode_headers(&[]), Ok(None));
        assert_eq!(decode_headers(None), Ok(Vec::new()));
    }

    #[test]
    fn headers_truncated_blob_rejected() {
        let blob = encode_headers(&[header("name", Some(b"value"))])
            .unwrap()
            .unwrap();

        for length in 1..blob.len() {
            let result = decode_headers(Some(&blob[..length]));
            assert!(
                result.is_err(),
                "prefix of {length} bytes decoded: {result:?}"
            );
        }
    }

    #[test]
    fn headers_invalid_name_rejected() {
        let mut blob = Vec::new();
        blob.extend_from_slice(&2u32.to_le_bytes());
        blob.extend_from_slice(&[0xc3, 0x28]);
        blob.extend_from_slice(&NULL_VALUE_LENGTH.to_le_bytes());

        let error = decode_headers(Some(&blob)).unwrap_err();

        assert!(error.contains("not UTF-8"), "{error}");
    }
}
