//! Minimal protobuf wire helpers for the hand-written OTLP encoders: sizes
//! first, then bytes, straight from the SDK's records into one reused buffer
//! (no intermediate message structs, no per-field allocation).

use prost::encoding::{encoded_len_varint, key_len, WireType};

/// Varint into a `Vec` (callers reserve the whole message first). prost's
/// generic `encode_varint` was the largest single item of the export path in
/// an instruction profile.
#[inline]
pub fn encode_varint(mut value: u64, buf: &mut Buf) {
    while value >= 0x80 {
        buf.push((value as u8) | 0x80);
        value >>= 7;
    }
    buf.push(value as u8);
}

#[inline]
pub fn encode_key(tag: u32, wire_type: WireType, buf: &mut Buf) {
    encode_varint(u64::from(tag << 3) | wire_type as u64, buf);
}

pub type Buf = Vec<u8>;

/// Size of a length-delimited field whose body is `len` bytes.
#[inline]
pub fn len_field(tag: u32, len: usize) -> usize {
    key_len(tag) + encoded_len_varint(len as u64) + len
}

/// Size of a string/bytes field, omitted when empty (proto3 default).
#[inline]
pub fn bytes_field(tag: u32, bytes: &[u8]) -> usize {
    if bytes.is_empty() {
        0
    } else {
        len_field(tag, bytes.len())
    }
}

#[inline]
pub fn varint_field(tag: u32, value: u64) -> usize {
    if value == 0 {
        0
    } else {
        key_len(tag) + encoded_len_varint(value)
    }
}

#[inline]
pub fn fixed64_field(tag: u32, value: u64) -> usize {
    if value == 0 {
        0
    } else {
        key_len(tag) + 8
    }
}

#[inline]
pub fn fixed32_field(tag: u32, value: u32) -> usize {
    if value == 0 {
        0
    } else {
        key_len(tag) + 4
    }
}

/// Writes the key and length of a length-delimited field; the caller writes the body.
#[inline]
pub fn put_len(tag: u32, len: usize, buf: &mut Buf) {
    // Most fields: a tag below 16 and a body under 128 bytes, one byte each.
    if tag < 16 && len < 128 {
        buf.extend_from_slice(&[
            (tag << 3) as u8 | WireType::LengthDelimited as u8,
            len as u8,
        ]);
        return;
    }
    encode_key(tag, WireType::LengthDelimited, buf);
    encode_varint(len as u64, buf);
}

#[inline]
pub fn put_bytes(tag: u32, bytes: &[u8], buf: &mut Buf) {
    if !bytes.is_empty() {
        put_len(tag, bytes.len(), buf);
        buf.extend_from_slice(bytes);
    }
}

/// Like `put_bytes` but also for empty values (needed inside a oneof).
#[inline]
pub fn put_bytes_always(tag: u32, bytes: &[u8], buf: &mut Buf) {
    put_len(tag, bytes.len(), buf);
    buf.extend_from_slice(bytes);
}

#[inline]
pub fn put_varint(tag: u32, value: u64, buf: &mut Buf) {
    if value != 0 {
        encode_key(tag, WireType::Varint, buf);
        encode_varint(value, buf);
    }
}

#[inline]
pub fn put_fixed64(tag: u32, value: u64, buf: &mut Buf) {
    if value != 0 {
        encode_key(tag, WireType::SixtyFourBit, buf);
        buf.extend_from_slice(&value.to_le_bytes());
    }
}

#[inline]
pub fn put_fixed32(tag: u32, value: u32, buf: &mut Buf) {
    if value != 0 {
        encode_key(tag, WireType::ThirtyTwoBit, buf);
        buf.extend_from_slice(&value.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_match_prost() {
        for v in [
            0u64,
            1,
            127,
            128,
            300,
            16_383,
            16_384,
            u32::MAX as u64,
            u64::MAX,
        ] {
            let mut ours = Vec::new();
            encode_varint(v, &mut ours);
            let mut theirs = Vec::new();
            prost::encoding::encode_varint(v, &mut theirs);
            assert_eq!(ours, theirs, "{v}");
            assert_eq!(ours.len(), encoded_len_varint(v));
        }
        for tag in [1u32, 15, 16, 2047] {
            for len in [0usize, 1, 127, 128, 16_383, 16_384] {
                let mut ours = Vec::new();
                put_len(tag, len, &mut ours);
                let mut theirs = Vec::new();
                prost::encoding::encode_key(tag, WireType::LengthDelimited, &mut theirs);
                prost::encoding::encode_varint(len as u64, &mut theirs);
                assert_eq!(ours, theirs, "tag {tag}, len {len}");
                assert_eq!(ours.len() + len, len_field(tag, len));
            }
        }
        let mut key = Vec::new();
        encode_key(15, WireType::LengthDelimited, &mut key);
        let mut theirs = Vec::new();
        prost::encoding::encode_key(15, WireType::LengthDelimited, &mut theirs);
        assert_eq!(key, theirs);
    }
}
