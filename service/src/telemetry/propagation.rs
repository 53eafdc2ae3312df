//! W3C trace context in and out: continue an incoming `traceparent`, and echo
//! the request's own trace and span ids in a `traceparent` response header
//! (the same trace id as in its span and log records).

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::SpanContext;
use opentelemetry::Context;
use opentelemetry_sdk::propagation::TraceContextPropagator;

pub const TRACEPARENT: &str = "traceparent";
/// For the per-request lookup: no parsing of the name.
const TRACEPARENT_NAME: HeaderName = HeaderName::from_static(TRACEPARENT);

struct Headers<'a>(&'a HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

/// The parent context from the request headers (empty when there is none).
pub fn extract_parent(headers: &HeaderMap) -> Context {
    if headers.contains_key(&TRACEPARENT_NAME) {
        TraceContextPropagator::new().extract(&Headers(headers))
    } else {
        Context::new()
    }
}

/// `00-{trace_id}-{span_id}-{flags}` for a response header.
pub fn traceparent(span: &SpanContext) -> Option<HeaderValue> {
    if !span.is_valid() {
        return None;
    }
    // Hand-rolled hex: this runs on every response.
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 55];
    out[..3].copy_from_slice(b"00-");
    let mut at = 3;
    let mut put = |bytes: &[u8], out: &mut [u8; 55]| {
        for b in bytes {
            out[at] = HEX[usize::from(b >> 4)];
            out[at + 1] = HEX[usize::from(b & 0xf)];
            at += 2;
        }
        out[at] = b'-';
        at += 1;
    };
    put(&span.trace_id().to_bytes(), &mut out);
    put(&span.span_id().to_bytes(), &mut out);
    let flags = span.trace_flags().to_u8();
    out[53] = HEX[usize::from(flags >> 4)];
    out[54] = HEX[usize::from(flags & 0xf)];
    // SAFETY: the bytes are ASCII (lower-case hex digits and '-'), so valid UTF-8
    // and a valid header value; `from_bytes` would check all 55 on every response
    // (debug builds still do).
    Some(unsafe { HeaderValue::from_maybe_shared_unchecked(out) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::TraceContextExt;

    #[test]
    fn incoming_traceparent_is_continued_and_echo_is_well_formed() {
        let mut headers = HeaderMap::new();
        headers.insert(
            TRACEPARENT,
            HeaderValue::from_static("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
        );
        let cx = extract_parent(&headers);
        let parent = cx.span().span_context().clone();
        assert_eq!(
            parent.trace_id().to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert!(parent.is_remote());
        let echoed = traceparent(&parent).unwrap();
        assert_eq!(
            echoed,
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        );
    }

    #[test]
    fn the_unchecked_echo_is_the_w3c_text_and_a_valid_header_value() {
        use opentelemetry::trace::{SpanId, TraceFlags, TraceId, TraceState};
        let ids = [
            (1u128, 1u64),
            (u128::MAX, u64::MAX),
            (0x0123_4567_89ab_cdef << 64, 0xfedc),
        ];
        for (trace, span) in ids {
            for flags in [TraceFlags::default(), TraceFlags::SAMPLED] {
                let cx = SpanContext::new(
                    TraceId::from(trace),
                    SpanId::from(span),
                    flags,
                    false,
                    TraceState::default(),
                );
                let echoed = traceparent(&cx).unwrap();
                let text = format!("00-{trace:032x}-{span:016x}-{:02x}", flags.to_u8());
                assert_eq!(echoed.to_str().unwrap(), text);
                assert!(HeaderValue::from_bytes(echoed.as_bytes()).is_ok());
            }
        }
        // An invalid context gets no header.
        assert!(traceparent(&SpanContext::empty_context()).is_none());
    }

    #[test]
    fn garbage_traceparent_starts_a_new_trace() {
        let mut headers = HeaderMap::new();
        headers.insert(TRACEPARENT, HeaderValue::from_static("garbage"));
        assert!(!extract_parent(&headers).span().span_context().is_valid());
    }
}
