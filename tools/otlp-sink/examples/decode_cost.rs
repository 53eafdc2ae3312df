//! Why the sink counts with lean decoding when it does not capture:
//! `cargo run --release -p otlp-sink --example decode_cost`.

use std::time::Instant;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value::Value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;

fn main() -> Result<(), prost::DecodeError> {
    let kv = |k: String| KeyValue {
        key: k,
        value: Some(AnyValue {
            value: Some(Value::StringValue("some value here".into())),
        }),
        ..Default::default()
    };
    let span = Span {
        trace_id: vec![1; 16],
        span_id: vec![2; 8],
        name: "GET /health".into(),
        attributes: (0..8).map(|i| kv(format!("http.attr.{i}"))).collect(),
        ..Default::default()
    };
    let req = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans: vec![span; 512],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let bytes = req.encode_to_vec();
    let rounds = 200;

    let t = Instant::now();
    let mut full = 0;
    for _ in 0..rounds {
        full += otlp_sink::span_count(&ExportTraceServiceRequest::decode(bytes.as_slice())?);
    }
    let full_ns = t.elapsed().as_secs_f64() * 1e9 / full as f64;

    let t = Instant::now();
    let mut lean = 0;
    for _ in 0..rounds {
        lean += otlp_sink::lean::ResourceItems::decode(bytes.as_slice())?.count();
    }
    let lean_ns = t.elapsed().as_secs_f64() * 1e9 / lean as f64;

    println!(
        "{} bytes per 512-span batch: full decode {full_ns:.0} ns/span, lean count {lean_ns:.0} ns/span",
        bytes.len()
    );
    Ok(())
}
