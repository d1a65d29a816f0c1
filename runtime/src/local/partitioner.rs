//! Kafka's default partitioner for keyed records.
//!
//! The Java client (`BuiltInPartitioner.partitionForKey` in kafka-clients 4.x, and
//! `DefaultPartitioner` before it) picks `toPositive(murmur2(key)) % partitions`. This
//! module computes the same value, so a key lands in the same partition on a local topic
//! as on a Kafka topic with the same partition count.

/// Seed of Kafka's murmur2 (`org.apache.kafka.common.utils.Utils.murmur2`).
const SEED: u32 = 0x9747_b28c;
/// Multiplier of MurmurHash2.
const M: u32 = 0x5bd1_e995;
/// Shift of MurmurHash2.
const R: u32 = 24;

/// Computes the 32-bit MurmurHash2 of `data` exactly as Kafka's Java client does.
///
/// The result is the Java `int` reinterpreted as `i32`, so it matches the values that
/// `Utils.murmur2` prints, including negative ones.
pub fn murmur2(data: &[u8]) -> i32 {
    // Java computes this with `int` arithmetic on a `length` of type `int`, so the length
    // wraps to 32 bits like it does here.
    let mut h: u32 = SEED ^ (data.len() as u32);

    let mut chunks = data.chunks_exact(4);
    for chunk in &mut chunks {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }

    // Java reads the bytes as unsigned (`& 0xff`), so the tail bytes never sign-extend.
    let tail = chunks.remainder();
    if tail.len() == 3 {
        h ^= u32::from(tail[2]) << 16;
    }
    if tail.len() >= 2 {
        h ^= u32::from(tail[1]) << 8;
    }
    if !tail.is_empty() {
        h ^= u32::from(tail[0]);
        h = h.wrapping_mul(M);
    }

    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// Returns the partition of a record with this key on a topic with `partitions`
/// partitions, as Kafka's default partitioner picks it.
///
/// An empty key is a key like any other and is hashed. Only a missing key is spread
/// round-robin, which the store does, not this function.
///
/// # Panics
///
/// Panics if `partitions` is 0.
pub fn partition_for_key(key: &[u8], partitions: u32) -> u32 {
    assert!(partitions > 0, "a topic has at least one partition");

    // `Utils.toPositive` clears the sign bit. It is not `abs`, which would map
    // `i32::MIN` to itself.
    let positive = (murmur2(key) & 0x7fff_ffff) as u32;
    positive % partitions
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Key, `Utils.murmur2(key)` and `BuiltInPartitioner.partitionForKey(key, n)` for
    /// n = 3, 12 and 1024, printed by kafka-clients 4.4.0 on OpenJDK 17 from the keys'
    /// UTF-8 bytes.
    const KAFKA_VECTORS: &[(&str, i32, u32, u32, u32)] = &[
        ("", 275646681, 0, 9, 217),
        ("a", -1563381124, 1, 4, 636),
        ("ab", 316155434, 2, 2, 554),
        ("abc", 479470107, 0, 3, 539),
        ("abcd", -1323649548, 2, 8, 500),
        ("21", -973932308, 0, 0, 236),
        ("foobar", -790332482, 0, 6, 958),
        ("ord-000001", -218870487, 2, 5, 297),
        ("ord-000042", -1044096568, 1, 4, 456),
        ("a-little-bit-long-string", -985981536, 2, 8, 416),
        ("a-little-bit-longer-string", -1486304829, 2, 11, 451),
        (
            "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
            -58897971,
            2,
            5,
            461,
        ),
    ];

    #[test]
    fn murmur2_matches_java_client() {
        for &(key, expected, ..) in KAFKA_VECTORS {
            assert_eq!(murmur2(key.as_bytes()), expected, "murmur2 of {key:?}");
        }
    }

    #[test]
    fn partition_matches_java_client() {
        for &(key, _, on_3, on_12, on_1024) in KAFKA_VECTORS {
            let key_bytes = key.as_bytes();
            assert_eq!(partition_for_key(key_bytes, 3), on_3, "{key:?} on 3");
            assert_eq!(partition_for_key(key_bytes, 12), on_12, "{key:?} on 12");
            assert_eq!(
                partition_for_key(key_bytes, 1024),
                on_1024,
                "{key:?} on 1024"
            );
        }
    }

    #[test]
    fn murmur2_binary_key_high_bytes() {
        // Bytes at or above 0x80 are negative in Java, so this checks that no sign
        // extension leaks into the hash, in both the 4-byte blocks and the tail.
        let key = [0xff, 0x00, 0x80, 0x7f, 0xfe, 0x01, 0xc3];

        assert_eq!(murmur2(&key), 132769003);
        assert_eq!(partition_for_key(&key, 3), 1);
        assert_eq!(partition_for_key(&key, 12), 7);
        assert_eq!(partition_for_key(&key, 1024), 235);
    }

    #[test]
    fn partition_single_partition_is_zero() {
        for &(key, ..) in KAFKA_VECTORS {
            assert_eq!(partition_for_key(key.as_bytes(), 1), 0, "{key:?}");
        }
    }
}
