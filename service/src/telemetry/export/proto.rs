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

/// Writes a length-delimited field whose body `write` appends, without sizing the
/// body first: room for a `guess`-byte length is left after the key, and the body
/// is moved only when its length takes another number of bytes. Sizing first meant
/// walking every record twice (a third of the encoders' instructions); a record's
/// body is 128 to 16,383 bytes (guess 2), a batch's under 2 MiB (guess 3).
#[inline]
pub fn put_nested(tag: u32, guess: usize, buf: &mut Buf, write: impl FnOnce(&mut Buf)) {
    encode_key(tag, WireType::LengthDelimited, buf);
    let len_at = buf.len();
    let body_at = len_at + guess;
    buf.resize(body_at, 0);
    write(buf);
    let len = buf.len() - body_at;
    let need = encoded_len_varint(len as u64);
    if need > guess {
        buf.resize(buf.len() + need - guess, 0);
        buf.copy_within(body_at..body_at + len, len_at + need);
    } else if need < guess {
        buf.copy_within(body_at.., len_at + need);
        buf.truncate(len_at + need + len);
    }
    let mut value = len as u64;
    for byte in &mut buf[len_at..len_at + need] {
        *byte = (value as u8 & 0x7f) | 0x80;
        value >>= 7;
    }
    buf[len_at + need - 1] &= 0x7f;
}

/// How much room an export request of n records needs, learnt from the last one:
/// encoding without sizing first would otherwise grow the buffer a dozen times per
/// batch, copying it each time.
#[derive(Debug, Clone, Copy, Default)]
pub struct Room {
    per_record: usize,
}

impl Room {
    /// Reserves room for `records` records after `fixed` bytes; returns where the
    /// request starts in `out`.
    pub fn reserve(&self, records: usize, fixed: usize, out: &mut Buf) -> usize {
        let per_record = if self.per_record == 0 {
            512
        } else {
            self.per_record
        };
        out.reserve(fixed + 64 + records * per_record);
        out.len()
    }

    /// Learns from a request of `records` records that took `bytes`, with an
    /// eighth to spare.
    pub fn learn(&mut self, records: usize, bytes: usize) {
        if let Some(per_record) = bytes.checked_div(records) {
            self.per_record = per_record + per_record / 8;
        }
    }
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
    fn nested_fields_match_sized_ones_whatever_the_guess() {
        for tag in [1u32, 15, 16, 2047] {
            for len in [0usize, 1, 127, 128, 300, 16_383, 16_384, 2_097_152] {
                let body: Vec<u8> = (0..len).map(|i| i as u8).collect();
                let mut sized = vec![7u8];
                put_len(tag, len, &mut sized);
                sized.extend_from_slice(&body);
                for guess in 1..=4 {
                    let mut nested = vec![7u8];
                    put_nested(tag, guess, &mut nested, |buf| buf.extend_from_slice(&body));
                    assert!(nested == sized, "tag {tag}, len {len}, guess {guess}");
                }
            }
        }
    }

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
