//! OTLP `KeyValue` / `AnyValue` encoding for the two value types of the
//! OpenTelemetry API: span/resource attributes (`Value`) and log values
//! (`logs::AnyValue`). Each has a size function and a writer that must agree.

use opentelemetry::logs::AnyValue as LogValue;
use opentelemetry::{Array, Value};

use super::proto::*;

// AnyValue oneof tags.
const STRING: u32 = 1;
const BOOL: u32 = 2;
const INT: u32 = 3;
const DOUBLE: u32 = 4;
const ARRAY: u32 = 5;
const KVLIST: u32 = 6;
const BYTES: u32 = 7;
// KeyValue and list tags.
const KV_KEY: u32 = 1;
const KV_VALUE: u32 = 2;
const LIST_VALUES: u32 = 1;

fn scalar_len(tag: u32, body: usize) -> usize {
    // A oneof member is written even when it holds the default value.
    prost::encoding::key_len(tag) + body
}

/// Body size of an `AnyValue` holding `value`.
pub fn value_len(value: &Value) -> usize {
    match value {
        Value::Bool(_) => scalar_len(BOOL, 1),
        Value::I64(i) => scalar_value_len(Scalar::Int(*i)),
        Value::F64(f) => scalar_value_len(Scalar::Double(*f)),
        Value::String(s) => scalar_value_len(Scalar::Str(s.as_str())),
        Value::Array(array) => len_field(ARRAY, array_len(array)),
        _ => 0,
    }
}

fn array_len(array: &Array) -> usize {
    match array {
        Array::Bool(v) => v
            .iter()
            .map(|b| len_field(LIST_VALUES, value_len(&Value::Bool(*b))))
            .sum(),
        Array::I64(v) => v
            .iter()
            .map(|i| len_field(LIST_VALUES, value_len(&Value::I64(*i))))
            .sum(),
        Array::F64(v) => v
            .iter()
            .map(|_| len_field(LIST_VALUES, scalar_len(DOUBLE, 8)))
            .sum(),
        Array::String(v) => v
            .iter()
            .map(|s| len_field(LIST_VALUES, len_field(STRING, s.as_str().len())))
            .sum(),
        _ => 0,
    }
}

pub fn put_value(value: &Value, buf: &mut Buf) {
    match value {
        Value::Bool(b) => {
            encode_key(BOOL, prost::encoding::WireType::Varint, buf);
            buf.push(u8::from(*b));
        }
        Value::I64(i) => put_scalar_value(Scalar::Int(*i), buf),
        Value::F64(f) => put_scalar_value(Scalar::Double(*f), buf),
        Value::String(s) => put_scalar_value(Scalar::Str(s.as_str()), buf),
        Value::Array(array) => {
            put_len(ARRAY, array_len(array), buf);
            match array {
                Array::Bool(v) => v.iter().for_each(|b| put_list_item(&Value::Bool(*b), buf)),
                Array::I64(v) => v.iter().for_each(|i| put_list_item(&Value::I64(*i), buf)),
                Array::F64(v) => v.iter().for_each(|f| put_list_item(&Value::F64(*f), buf)),
                Array::String(v) => v.iter().for_each(|s| {
                    put_len(LIST_VALUES, len_field(STRING, s.as_str().len()), buf);
                    put_bytes_always(STRING, s.as_str().as_bytes(), buf);
                }),
                _ => {}
            }
        }
        _ => {}
    }
}

fn put_list_item(value: &Value, buf: &mut Buf) {
    put_len(LIST_VALUES, value_len(value), buf);
    put_value(value, buf);
}

/// Body size of a `KeyValue`.
#[cfg(test)]
pub fn kv_len(key: &str, value: &Value) -> usize {
    bytes_field(KV_KEY, key.as_bytes()) + len_field(KV_VALUE, value_len(value))
}

/// Writes a repeated `KeyValue` field entry.
/// A `KeyValue` field up to its value's body: tag and length, the key, the value's
/// tag and length. The value's length is computed once by the caller: it is needed
/// twice, and arrays walk their items.
fn put_kv_head(tag: u32, key: &str, value_len: usize, buf: &mut Buf) {
    if put_short_kv_head(tag, key, value_len, buf) {
        return;
    }
    put_len(
        tag,
        bytes_field(KV_KEY, key.as_bytes()) + len_field(KV_VALUE, value_len),
        buf,
    );
    put_bytes(KV_KEY, key.as_bytes(), buf);
    put_len(KV_VALUE, value_len, buf);
}

/// `put_kv_head` for nearly every attribute: a tag below 16 and every length below
/// 128, so each key and length is one byte, written as two fixed-size copies around
/// the key (about a third of the general path's instructions, which walks varints).
/// Reserves room for the value too. False, writing nothing, for any other field.
#[inline(always)]
fn put_short_kv_head(tag: u32, key: &str, value_len: usize, buf: &mut Buf) -> bool {
    let body = 4 + key.len() + value_len;
    if tag >= 16 || key.is_empty() || body >= 128 {
        return false;
    }
    buf.reserve(2 + body);
    buf.extend_from_slice(&[
        (tag << 3) as u8 | LEN,
        body as u8,
        (KV_KEY << 3) as u8 | LEN,
        key.len() as u8,
    ]);
    buf.extend_from_slice(key.as_bytes());
    buf.extend_from_slice(&[(KV_VALUE << 3) as u8 | LEN, value_len as u8]);
    true
}

/// The length-delimited wire type, in a key's low three bits.
const LEN: u8 = 2;

pub fn put_kv(tag: u32, key: &str, value: &Value, buf: &mut Buf) {
    if let Value::String(text) = value {
        return put_scalar_kv(tag, key, Scalar::Str(text.as_str()), buf);
    }
    put_kv_head(tag, key, value_len(value), buf);
    put_value(value, buf);
}

/// Body size of an `AnyValue` holding a log value.
pub fn log_value_len(value: &LogValue) -> usize {
    match value {
        LogValue::Int(i) => scalar_len(INT, prost::encoding::encoded_len_varint(*i as u64)),
        LogValue::Double(_) => scalar_len(DOUBLE, 8),
        LogValue::String(s) => len_field(STRING, s.as_str().len()),
        LogValue::Boolean(_) => scalar_len(BOOL, 1),
        LogValue::Bytes(b) => len_field(BYTES, b.len()),
        LogValue::ListAny(list) => len_field(
            ARRAY,
            list.iter()
                .map(|v| len_field(LIST_VALUES, log_value_len(v)))
                .sum(),
        ),
        LogValue::Map(map) => len_field(
            KVLIST,
            map.iter()
                .map(|(k, v)| len_field(LIST_VALUES, log_kv_len(k.as_str(), v)))
                .sum(),
        ),
        _ => 0,
    }
}

pub fn put_log_value(value: &LogValue, buf: &mut Buf) {
    match value {
        LogValue::Int(i) => put_value(&Value::I64(*i), buf),
        LogValue::Double(f) => put_value(&Value::F64(*f), buf),
        LogValue::Boolean(b) => put_value(&Value::Bool(*b), buf),
        LogValue::String(s) => put_bytes_always(STRING, s.as_str().as_bytes(), buf),
        LogValue::Bytes(b) => put_bytes_always(BYTES, b, buf),
        LogValue::ListAny(list) => {
            put_len(
                ARRAY,
                list.iter()
                    .map(|v| len_field(LIST_VALUES, log_value_len(v)))
                    .sum(),
                buf,
            );
            for v in list.iter() {
                put_len(LIST_VALUES, log_value_len(v), buf);
                put_log_value(v, buf);
            }
        }
        LogValue::Map(map) => {
            put_len(
                KVLIST,
                map.iter()
                    .map(|(k, v)| len_field(LIST_VALUES, log_kv_len(k.as_str(), v)))
                    .sum(),
                buf,
            );
            for (k, v) in map.iter() {
                put_log_kv(LIST_VALUES, k.as_str(), v, buf);
            }
        }
        _ => {}
    }
}

pub fn log_kv_len(key: &str, value: &LogValue) -> usize {
    bytes_field(KV_KEY, key.as_bytes()) + len_field(KV_VALUE, log_value_len(value))
}

pub fn put_log_kv(tag: u32, key: &str, value: &LogValue, buf: &mut Buf) {
    put_kv_head(tag, key, log_value_len(value), buf);
    put_log_value(value, buf);
}

/// A borrowed scalar attribute value: what a record of known fields (the access log)
/// hands the encoder without building an OTel value (no reference counts touched).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scalar<'a> {
    Str(&'a str),
    Int(i64),
    Double(f64),
}

fn scalar_value_len(value: Scalar<'_>) -> usize {
    match value {
        Scalar::Str(s) => len_field(STRING, s.len()),
        Scalar::Int(i) => scalar_len(INT, prost::encoding::encoded_len_varint(i as u64)),
        Scalar::Double(_) => scalar_len(DOUBLE, 8),
    }
}

/// The encoded length of a `KeyValue` body with a scalar value.
#[cfg(test)]
pub fn scalar_kv_len(key: &str, value: Scalar<'_>) -> usize {
    bytes_field(KV_KEY, key.as_bytes()) + len_field(KV_VALUE, scalar_value_len(value))
}

/// Writes one `KeyValue` field under `tag`; the same bytes as `put_kv` with the
/// equivalent `Value`.
pub fn put_scalar_kv(tag: u32, key: &str, value: Scalar<'_>, buf: &mut Buf) {
    // The common case, a short string under a short key: its tag and length
    // beside the head's, without a call per part.
    if let Scalar::Str(text) = value {
        if put_short_kv_head(tag, key, 2 + text.len(), buf) {
            buf.extend_from_slice(&[(STRING << 3) as u8 | LEN, text.len() as u8]);
            buf.extend_from_slice(text.as_bytes());
            return;
        }
    }
    put_kv_head(tag, key, scalar_value_len(value), buf);
    put_scalar_value(value, buf);
}

fn put_scalar_value(value: Scalar<'_>, buf: &mut Buf) {
    match value {
        Scalar::Str(s) => put_bytes_always(STRING, s.as_bytes(), buf),
        Scalar::Int(i) => {
            encode_key(INT, prost::encoding::WireType::Varint, buf);
            encode_varint(i as u64, buf);
        }
        Scalar::Double(f) => {
            encode_key(DOUBLE, prost::encoding::WireType::SixtyFourBit, buf);
            buf.extend_from_slice(&f.to_le_bytes());
        }
    }
}

#[cfg(test)]
mod scalar_tests {
    use super::*;

    #[test]
    fn key_values_encode_as_prost_does_on_both_sides_of_the_one_byte_lengths() {
        use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
        use prost::Message;
        for tag in [1u32, 6, 9, 15, 16] {
            // Every value length up to past the one-byte bound, with keys that put
            // the whole KeyValue on each side of it.
            for key_len in [
                0usize, 1, 2, 3, 30, 60, 120, 121, 122, 123, 124, 127, 128, 200,
            ] {
                for value_len in (0usize..=130).chain([300]) {
                    let key = "k".repeat(key_len);
                    let value = "v".repeat(value_len);
                    let mut ours = Vec::new();
                    put_scalar_kv(tag, &key, Scalar::Str(&value), &mut ours);
                    let kv = KeyValue {
                        key: key.clone(),
                        value: Some(AnyValue {
                            value: Some(any_value::Value::StringValue(value.clone())),
                        }),
                        ..Default::default()
                    };
                    let mut theirs = Vec::new();
                    prost::encoding::message::encode(tag, &kv, &mut theirs);
                    assert_eq!(ours, theirs, "tag {tag}, key {key_len}, value {value_len}");
                    assert_eq!(
                        len_field(tag, scalar_kv_len(&key, Scalar::Str(&value))),
                        theirs.len()
                    );
                    assert_eq!(kv.encoded_len(), scalar_kv_len(&key, Scalar::Str(&value)));
                }
            }
        }
    }

    #[test]
    fn scalars_encode_like_the_values_they_stand_for() {
        let cases = [
            (Scalar::Str("GET"), Value::from("GET")),
            (Scalar::Str(""), Value::from("")),
            (Scalar::Int(201), Value::I64(201)),
            (Scalar::Int(-1), Value::I64(-1)),
            (Scalar::Double(0.25), Value::F64(0.25)),
        ];
        for (scalar, value) in cases {
            let (mut ours, mut theirs) = (Vec::new(), Vec::new());
            put_scalar_kv(6, "key", scalar, &mut ours);
            put_kv(6, "key", &value, &mut theirs);
            assert_eq!(ours, theirs, "{scalar:?}");
            assert_eq!(scalar_kv_len("key", scalar), kv_len("key", &value));
        }
    }
}
