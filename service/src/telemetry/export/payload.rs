//! One encoded OTLP export request, written behind the 5-byte gRPC message prefix
//! (compressed flag, big-endian length) so that gRPC sends the bytes as they are
//! and OTLP/HTTP sends the same bytes past the prefix. A codec would copy every
//! request into its own buffer first: about 300 KB per full batch, which is about
//! 1,000 instructions per request under callgrind and an L2 cache's worth of
//! traffic on the server's core.

use bytes::Bytes;

/// The gRPC Length-Prefixed-Message header: a compressed flag and a u32 length.
const PREFIX: usize = 5;

/// An export request, kept for retries; cloning shares the bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payload(Bytes);

impl Payload {
    /// The request whose protobuf `write` appends to the buffer it is given.
    pub fn encode(write: impl FnOnce(&mut Vec<u8>)) -> Payload {
        let mut buf = vec![0u8; PREFIX];
        write(&mut buf);
        let len = buf.len() - PREFIX;
        // A request is a batch, a few MiB at most; gRPC cannot frame 4 GiB, and a
        // receiver refuses the saturated length rather than misreading it.
        let len = u32::try_from(len).unwrap_or(u32::MAX);
        buf[1..PREFIX].copy_from_slice(&len.to_be_bytes());
        Payload(Bytes::from(buf))
    }

    /// A message encoded by prost (the metric requests).
    pub fn of_message(message: &impl prost::Message) -> Payload {
        Payload::encode(|buf| {
            buf.reserve(message.encoded_len());
            message.encode_raw(buf);
        })
    }

    /// The gRPC message: the prefix and the protobuf.
    pub fn grpc_message(&self) -> Bytes {
        self.0.clone()
    }

    /// The protobuf alone (the OTLP/HTTP body).
    pub fn protobuf(&self) -> Bytes {
        self.0.slice(PREFIX..)
    }
}

/// The protobuf of a gRPC response body holding one uncompressed message; None for
/// anything else (empty, compressed, cut short).
pub fn response_message(body: &[u8]) -> Option<&[u8]> {
    let (&[flag, a, b, c, d], rest) = body.split_first_chunk::<PREFIX>()?;
    let len = u32::from_be_bytes([a, b, c, d]) as usize;
    (flag == 0 && rest.len() >= len).then(|| &rest[..len])
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::collector::trace::v1::{
        ExportTracePartialSuccess, ExportTraceServiceResponse,
    };
    use prost::Message;

    #[test]
    fn the_prefix_is_an_uncompressed_flag_and_the_big_endian_length() {
        for len in [0usize, 1, 255, 256, 70_000] {
            let body: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let payload = Payload::encode(|buf| buf.extend_from_slice(&body));
            let message = payload.grpc_message();
            assert_eq!(message[0], 0, "not compressed");
            assert_eq!(&message[1..5], &(len as u32).to_be_bytes()[..]);
            assert_eq!(&message[5..], &body[..]);
            assert_eq!(payload.protobuf(), Bytes::from(body));
        }
    }

    #[test]
    fn a_prost_message_is_framed_as_encoded_and_read_back_from_a_response() {
        let sent = ExportTraceServiceResponse {
            partial_success: Some(ExportTracePartialSuccess {
                rejected_spans: 3,
                error_message: "too old".into(),
            }),
        };
        let payload = Payload::of_message(&sent);
        assert_eq!(payload.protobuf(), Bytes::from(sent.encode_to_vec()));
        let message = payload.grpc_message();
        let read = response_message(&message).expect("one message");
        assert_eq!(ExportTraceServiceResponse::decode(read).ok(), Some(sent));
    }

    #[test]
    fn a_response_that_is_not_one_plain_message_is_refused() {
        assert_eq!(response_message(&[]), None, "empty");
        assert_eq!(response_message(&[0, 0, 0]), None, "a short prefix");
        assert_eq!(response_message(&[0, 0, 0, 0, 2, 8]), None, "cut short");
        assert_eq!(response_message(&[1, 0, 0, 0, 1, 8]), None, "compressed");
        assert_eq!(
            response_message(&[0, 0, 0, 0, 0]),
            Some(&[][..]),
            "empty message"
        );
    }
}
