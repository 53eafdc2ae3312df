//! What the service emits, checked against a real OTLP receiver in this
//! process (otlp-sink): spans, log records and metrics, per the semantic
//! conventions, correlated by trace id and request id.

use std::collections::HashSet;
use std::time::Duration;

use futures_util::future::join_all;
use opentelemetry_proto::tonic::common::v1::{any_value::Value as V, KeyValue};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::metrics::v1::exemplar::Value as ExemplarValue;
use opentelemetry_proto::tonic::metrics::v1::{metric::Data, Metric};
use opentelemetry_proto::tonic::trace::v1::Span;
use otlp_sink::Sink;
use serde_json::{json, Value};

use alertingscout::telemetry::pii::Pseudonymiser;

use crate::helpers::TestApp;

const WAIT: Duration = Duration::from_secs(20);

pub fn attr<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a V> {
    attrs
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v| v.value.as_ref())
}

pub fn str_attr(attrs: &[KeyValue], key: &str) -> Option<String> {
    match attr(attrs, key) {
        Some(V::StringValue(s)) => Some(s.clone()),
        _ => None,
    }
}

pub fn int_attr(attrs: &[KeyValue], key: &str) -> Option<i64> {
    match attr(attrs, key) {
        Some(V::IntValue(i)) => Some(*i),
        _ => None,
    }
}

pub fn spans(sink: &Sink) -> Vec<Span> {
    sink.traces()
        .into_iter()
        .flat_map(|r| r.resource_spans)
        .flat_map(|rs| rs.scope_spans)
        .flat_map(|ss| ss.spans)
        .collect()
}

pub fn logs(sink: &Sink) -> Vec<LogRecord> {
    sink.logs()
        .into_iter()
        .flat_map(|r| r.resource_logs)
        .flat_map(|rl| rl.scope_logs)
        .flat_map(|sl| sl.log_records)
        .collect()
}

/// Metrics of the newest export only (they are cumulative).
pub fn latest_metrics(sink: &Sink) -> Vec<Metric> {
    sink.metrics()
        .into_iter()
        .last()
        .map(|r| {
            r.resource_metrics
                .into_iter()
                .flat_map(|rm| rm.scope_metrics)
                .flat_map(|sm| sm.metrics)
                .collect()
        })
        .unwrap_or_default()
}

/// Polls `done` every 50 ms until it holds or `timeout` passes.
pub async fn eventually(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if done() {
            return true;
        }
        if std::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The pseudonym key the test apps run with.
const PII_KEY: &str = "contract-test-pseudonym-key";

/// `user.id` as telemetry records a caller id (never the raw id).
fn pseudonym(raw: &str) -> String {
    Pseudonymiser::new(PII_KEY.as_bytes())
        .pseudonym(raw)
        .to_string()
}

async fn app_exporting_to(path: &str, sink: &Sink) -> TestApp {
    TestApp::spawn_on(
        path,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &sink.grpc_endpoint()),
            ("ALERTINGSCOUT_PII_KEY", PII_KEY),
        ],
    )
    .await
}

async fn spans_logs_and_response_headers_agree_on_trace_and_request_ids(path: &str) {
    let sink = Sink::start(true).await.unwrap();
    let app = app_exporting_to(path, &sink).await;
    let report: Value = app.get("/health/telemetry").await.json().await.unwrap();
    assert_eq!(report["exporter"], path, "the export path in use: {report}");

    let response = app
        .client
        .post(app.url("/projects"))
        .header("x-request-id", "contract-create")
        .header("x-user-id", "user-1")
        .json(&json!({"name": "Apollo"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let traceparent = response.headers()["traceparent"]
        .to_str()
        .unwrap()
        .to_owned();
    let project: Value = response.json().await.unwrap();
    let project_id = project["id"].as_i64().unwrap();
    let get = app
        .get_with_id(&format!("/projects/{project_id}"), "contract-get")
        .await;
    assert_eq!(get.status(), 200);

    // Two server spans, two database spans; "project created" and two access
    // records (startup logs come on top, so count by request id).
    let with_id = |sink: &Sink, id: &str| {
        logs(sink)
            .iter()
            .filter(|l| str_attr(&l.attributes, "request_id").as_deref() == Some(id))
            .count()
    };
    assert!(
        eventually(WAIT, || sink.counts().spans >= 4
            && with_id(&sink, "contract-create") >= 2
            && with_id(&sink, "contract-get") >= 1)
        .await,
        "telemetry did not arrive: {:?}",
        sink.counts()
    );
    let all_spans = spans(&sink);
    let header_parts: Vec<&str> = traceparent.split('-').collect();

    // One server span per request, named "{method} {route}", semconv attributes.
    let servers: Vec<&Span> = all_spans
        .iter()
        .filter(|s| str_attr(&s.attributes, "request_id").as_deref() == Some("contract-create"))
        .collect();
    assert_eq!(servers.len(), 1, "exactly one server span per request");
    let server = servers[0];
    assert_eq!(server.kind, 2, "SPAN_KIND_SERVER");
    assert_eq!(server.name, "POST /projects");
    assert_eq!(
        str_attr(&server.attributes, "http.request.method").as_deref(),
        Some("POST")
    );
    assert_eq!(
        str_attr(&server.attributes, "http.route").as_deref(),
        Some("/projects")
    );
    assert_eq!(
        str_attr(&server.attributes, "url.path").as_deref(),
        Some("/projects")
    );
    assert_eq!(
        int_attr(&server.attributes, "http.response.status_code"),
        Some(201)
    );
    assert_eq!(
        str_attr(&server.attributes, "user.id"),
        Some(pseudonym("user-1")),
        "the caller id is pseudonymised with the configured key"
    );
    assert_eq!(int_attr(&server.attributes, "project.id"), Some(project_id));
    assert_eq!(
        hex(&server.trace_id),
        header_parts[1],
        "echoed trace id is the span's"
    );
    assert_eq!(
        hex(&server.span_id),
        header_parts[2],
        "echoed span id is the span's"
    );
    assert!(
        server.end_time_unix_nano >= server.start_time_unix_nano && server.start_time_unix_nano > 0
    );

    // A child client span per database call.
    let db: Vec<&Span> = all_spans
        .iter()
        .filter(|s| s.parent_span_id == server.span_id)
        .collect();
    assert_eq!(db.len(), 1);
    assert_eq!(db[0].kind, 3, "SPAN_KIND_CLIENT");
    assert_eq!(db[0].name, "INSERT projects");
    assert_eq!(db[0].trace_id, server.trace_id);
    assert_eq!(
        str_attr(&db[0].attributes, "db.system.name").as_deref(),
        Some("sqlite")
    );

    // The route is the template, the path the raw path.
    let get_span = all_spans
        .iter()
        .find(|s| str_attr(&s.attributes, "request_id").as_deref() == Some("contract-get"))
        .expect("span of the GET");
    assert_eq!(get_span.name, "GET /projects/{id}");
    assert_eq!(
        str_attr(&get_span.attributes, "http.route").as_deref(),
        Some("/projects/{id}")
    );
    assert_eq!(
        str_attr(&get_span.attributes, "url.path"),
        Some(format!("/projects/{project_id}"))
    );

    // Every log record of the request carries its trace id, span id,
    // request id, a real timestamp, and what the request knew.
    let all_logs = logs(&sink);
    let of_request: Vec<&LogRecord> = all_logs
        .iter()
        .filter(|l| l.trace_id == server.trace_id)
        .collect();
    assert!(
        of_request.len() >= 2,
        "access record and 'project created': {of_request:?}"
    );
    for log in &of_request {
        assert_eq!(
            str_attr(&log.attributes, "request_id").as_deref(),
            Some("contract-create")
        );
        assert_eq!(
            str_attr(&log.attributes, "user.id"),
            Some(pseudonym("user-1"))
        );
        assert_eq!(int_attr(&log.attributes, "project.id"), Some(project_id));
        assert_eq!(log.span_id, server.span_id);
        assert!(log.time_unix_nano > 0, "record time set");
    }
    let access: Vec<&&LogRecord> = of_request
        .iter()
        .filter(|l| int_attr(&l.attributes, "http.response.status_code").is_some())
        .collect();
    assert_eq!(access.len(), 1, "one access record per request");
    assert_eq!(
        str_attr(&access[0].attributes, "http.route").as_deref(),
        Some("/projects")
    );
    assert_eq!(access[0].severity_text, "INFO");
    // Every record stamped with the request id belongs to the request's trace.
    for log in all_logs
        .iter()
        .filter(|l| str_attr(&l.attributes, "request_id").as_deref() == Some("contract-create"))
    {
        assert_eq!(log.trace_id, server.trace_id);
    }

    // The resource says who we are.
    let resource = sink.traces()[0].resource_spans[0].resource.clone().unwrap();
    assert_eq!(
        str_attr(&resource.attributes, "service.name").as_deref(),
        Some("alertingscout")
    );
    for key in [
        "service.version",
        "service.instance.id",
        "deployment.environment.name",
    ] {
        assert!(str_attr(&resource.attributes, key).is_some(), "{key}");
    }
}

async fn server_errors_carry_error_type_and_exception_fields(path: &str) {
    let sink = Sink::start(true).await.unwrap();
    let app = TestApp::spawn_on(
        path,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &sink.grpc_endpoint()),
            ("ALERTINGSCOUT_ADMIN_TOKEN", "t"),
        ],
    )
    .await;
    let set = app
        .client
        .post(app.url("/admin/faults"))
        .bearer_auth("t")
        .json(&json!({"route": "/projects", "error_rate": 1.0}))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), 200);
    let failed = app.get_with_id("/projects", "drill-1").await;
    assert_eq!(failed.status(), 500);
    let of_drill = |sink: &Sink| -> Vec<LogRecord> {
        logs(sink)
            .into_iter()
            .filter(|l| str_attr(&l.attributes, "request_id").as_deref() == Some("drill-1"))
            .collect()
    };
    // The fault record, the error record and the access record may come in
    // different export batches: wait for all three.
    assert!(
        eventually(WAIT, || of_drill(&sink).len() >= 3).await,
        "records of the failed request: {:?}",
        of_drill(&sink)
    );
    assert!(sink.wait_for(|c| c.spans >= 2, WAIT).await);

    let span = spans(&sink)
        .into_iter()
        .find(|s| str_attr(&s.attributes, "request_id").as_deref() == Some("drill-1"))
        .unwrap();
    assert_eq!(
        str_attr(&span.attributes, "error.type").as_deref(),
        Some("injected_fault")
    );
    assert_eq!(
        span.status.as_ref().map(|s| s.code),
        Some(2),
        "STATUS_CODE_ERROR"
    );

    let records = of_drill(&sink);
    let exception = records
        .iter()
        .find(|l| str_attr(&l.attributes, "exception.type").is_some())
        .expect("an error record with exception.*");
    assert_eq!(
        str_attr(&exception.attributes, "exception.type").as_deref(),
        Some("injected_fault")
    );
    assert!(str_attr(&exception.attributes, "exception.message").is_some());
    assert!(!str_attr(&exception.attributes, "exception.stacktrace")
        .unwrap_or_default()
        .is_empty());
    assert!(
        records
            .iter()
            .any(|l| str_attr(&l.attributes, "fault.kind").as_deref() == Some("error")),
        "the injected fault itself is logged"
    );
}

fn duration_metric(metrics: &[Metric]) -> Option<&Metric> {
    metrics
        .iter()
        .find(|m| m.name == "http.server.request.duration")
}

async fn metrics_follow_the_http_semantic_conventions(path: &str) {
    let sink = Sink::start(true).await.unwrap();
    let app = app_exporting_to(path, &sink).await;
    let project = app.create_project("p").await;
    let pid = project["id"].as_i64().unwrap();
    for _ in 0..3 {
        assert_eq!(app.get(&format!("/projects/{pid}")).await.status(), 200);
    }
    assert_eq!(app.get("/projects/99999").await.status(), 404);

    let mut found = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let metrics = latest_metrics(&sink);
        if let Some(Metric {
            data: Some(Data::Histogram(h)),
            ..
        }) = duration_metric(&metrics)
        {
            let count_for = |route: &str, status: i64| -> u64 {
                h.data_points
                    .iter()
                    .filter(|p| {
                        str_attr(&p.attributes, "http.route").as_deref() == Some(route)
                            && int_attr(&p.attributes, "http.response.status_code") == Some(status)
                    })
                    .map(|p| p.count)
                    .sum()
            };
            if count_for("/projects/{id}", 200) == 3 && count_for("/projects/{id}", 404) == 1 {
                found = true;
                break;
            }
        }
    }
    assert!(
        found,
        "duration histogram with per-route, per-status counts"
    );
    let metrics = latest_metrics(&sink);
    let duration = duration_metric(&metrics).unwrap();
    assert_eq!(duration.unit, "s");
    let Some(Data::Histogram(h)) = &duration.data else {
        panic!("histogram")
    };
    assert_eq!(h.aggregation_temporality, 2, "cumulative");
    for point in &h.data_points {
        assert!(
            point.explicit_bounds.contains(&1.0),
            "a bucket bound at exactly 1 s"
        );
        assert!(str_attr(&point.attributes, "http.request.method").is_some());
        assert!(
            str_attr(&point.attributes, "url.path").is_none(),
            "never the raw path"
        );
        assert!(
            str_attr(&point.attributes, "request_id").is_none(),
            "never the request id"
        );
    }

    let active = metrics
        .iter()
        .find(|m| m.name == "http.server.active_requests")
        .expect("active requests");
    assert_eq!(active.unit, "{request}");
    let Some(Data::Sum(sum)) = &active.data else {
        panic!("up-down counter")
    };
    assert!(!sum.is_monotonic);

    for (name, unit) in [
        ("process.cpu.time", "s"),
        ("process.cpu.utilization", "1"),
        ("process.memory.usage", "By"),
    ] {
        let metric = metrics
            .iter()
            .find(|m| m.name == name)
            .unwrap_or_else(|| panic!("{name}"));
        assert_eq!(metric.unit, unit, "{name}");
    }
}

/// PII kept out at the source: a raw caller id, an email or card number in the
/// path, and secrets in the query reach neither spans nor logs.
async fn caller_ids_are_pseudonyms_and_pii_in_the_url_is_never_recorded(path: &str) {
    let sink = Sink::start(true).await.unwrap();
    let app = app_exporting_to(path, &sink).await;
    let raw_user = "alice@example.com";
    let paths = [
        "/projects/alice@example.com?password=hunter2",
        "/projects/4111111111111111/todos?api_key=sk_live_abcdefgh12345678",
    ];
    for (i, path) in paths.iter().enumerate() {
        let response = app
            .client
            .get(app.url(path))
            .header("x-request-id", format!("pii-{i}"))
            .header("x-user-id", raw_user)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_client_error(), "{path}");
    }
    let ours =
        |attrs: &[KeyValue]| str_attr(attrs, "request_id").is_some_and(|id| id.starts_with("pii-"));
    assert!(
        eventually(WAIT, || {
            spans(&sink).iter().filter(|s| ours(&s.attributes)).count() == 2
                && logs(&sink).iter().filter(|l| ours(&l.attributes)).count() == 2
        })
        .await,
        "one span and exactly one log record per request"
    );
    let server_spans: Vec<Span> = spans(&sink)
        .into_iter()
        .filter(|s| ours(&s.attributes))
        .collect();
    let records: Vec<LogRecord> = logs(&sink)
        .into_iter()
        .filter(|l| ours(&l.attributes))
        .collect();
    let mut paths_seen: Vec<String> = server_spans
        .iter()
        .filter_map(|s| str_attr(&s.attributes, "url.path"))
        .collect();
    paths_seen.sort();
    assert_eq!(paths_seen, ["/projects/****", "/projects/****/todos"]);
    for attrs in server_spans
        .iter()
        .map(|s| &s.attributes)
        .chain(records.iter().map(|l| &l.attributes))
    {
        assert_eq!(str_attr(attrs, "user.id"), Some(pseudonym(raw_user)));
    }
    let everything = format!("{server_spans:?}{records:?}");
    for secret in [
        "alice@example.com",
        "4111111111111111",
        "hunter2",
        "sk_live_",
        "alice%40",
    ] {
        assert!(!everything.contains(secret), "{secret} was recorded");
    }
}

/// FR-002 without ids in labels: the duration histogram's data points carry
/// exemplars naming the request (trace and span id, request_id filtered).
#[tokio::test]
async fn duration_points_carry_exemplars_that_name_the_request() {
    // The lean path's alone: the SDK keeps no exemplars (telemetry::stock).
    let path = "lean";
    let sink = Sink::start(true).await.unwrap();
    let app = app_exporting_to(path, &sink).await;
    let request_id = "exemplar-req-1";
    let response = app.get_with_id("/health", request_id).await;
    assert_eq!(response.status(), 200);
    let traceparent = response
        .headers()
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .expect("traceparent")
        .to_owned();
    let trace_id = traceparent.split('-').nth(1).expect("trace id").to_owned();
    let span_id = traceparent.split('-').nth(2).expect("span id").to_owned();

    let health_exemplars = || {
        let metrics = latest_metrics(&sink);
        let Some(Metric {
            data: Some(Data::Histogram(h)),
            ..
        }) = duration_metric(&metrics)
        else {
            return Vec::new();
        };
        h.data_points
            .iter()
            .filter(|p| str_attr(&p.attributes, "http.route").as_deref() == Some("/health"))
            .flat_map(|p| p.exemplars.clone())
            .collect::<Vec<_>>()
    };
    assert!(
        eventually(WAIT, || !health_exemplars().is_empty()).await,
        "no exemplar on the /health duration points"
    );
    let exemplars = health_exemplars();
    let ours = exemplars
        .iter()
        .find(|e| hex(&e.trace_id) == trace_id)
        .unwrap_or_else(|| panic!("no exemplar with trace {trace_id}: {exemplars:?}"));
    assert_eq!(hex(&ours.span_id), span_id, "the server span");
    assert_eq!(
        str_attr(&ours.filtered_attributes, "request_id").as_deref(),
        Some(request_id)
    );
    assert!(ours.time_unix_nano > 0);
    assert!(
        matches!(ours.value, Some(ExemplarValue::AsDouble(v)) if v > 0.0 && v < 5.0),
        "{:?}",
        ours.value
    );
}

async fn ten_thousand_random_paths_add_only_a_handful_of_series(path: &str) {
    let sink = Sink::start(true).await.unwrap();
    let app = app_exporting_to(path, &sink).await;
    let paths: Vec<String> = (0..10_000)
        .map(|i| format!("/random/{i}/{}", uuid::Uuid::new_v4()))
        .collect();
    for chunk in paths.chunks(50) {
        let responses = join_all(chunk.iter().map(|p| app.client.get(app.url(p)).send())).await;
        for response in responses {
            assert_eq!(response.unwrap().status(), 404);
        }
    }
    let mut series = usize::MAX;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let metrics = latest_metrics(&sink);
        if let Some(Metric {
            data: Some(Data::Histogram(h)),
            ..
        }) = duration_metric(&metrics)
        {
            let total: u64 = h.data_points.iter().map(|p| p.count).sum();
            if total >= 10_000 {
                let sets: HashSet<String> = h
                    .data_points
                    .iter()
                    .map(|p| format!("{:?}", p.attributes))
                    .collect();
                series = sets.len();
                break;
            }
        }
    }
    assert!(
        series <= 3,
        "random paths must fold into the fixed route, got {series} series"
    );
}

async fn http_protobuf_export_works_too(path: &str) {
    let sink = Sink::start(true).await.unwrap();
    let endpoint = sink.http_endpoint().unwrap();
    let app = TestApp::spawn_on(
        path,
        &[
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
        ],
    )
    .await;
    let response = app.get_with_id("/health", "over-http").await;
    assert_eq!(response.status(), 200);
    assert!(
        sink.wait_for(
            |c| c.spans >= 1 && c.log_records >= 1 && c.metric_data_points >= 1,
            WAIT
        )
        .await
    );
    assert!(spans(&sink)
        .iter()
        .any(|s| str_attr(&s.attributes, "request_id").as_deref() == Some("over-http")));
}

async fn sigterm_flushes_everything_still_queued(path: &str) {
    let sink = Sink::start(false).await.unwrap();
    let mut app = TestApp::spawn_on(
        path,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &sink.grpc_endpoint()),
            // Nothing would be sent for a minute but for the shutdown flush.
            ("OTEL_BSP_SCHEDULE_DELAY", "60000"),
            ("OTEL_BLRP_SCHEDULE_DELAY", "60000"),
        ],
    )
    .await;
    for _ in 0..25 {
        assert_eq!(app.get("/health").await.status(), 200);
    }
    let status = tokio::task::spawn_blocking(move || app.terminate())
        .await
        .unwrap();
    assert!(status.success());
    assert!(
        sink.wait_for(
            |c| c.spans >= 25 && c.log_records >= 25,
            Duration::from_secs(5)
        )
        .await,
        "flushed at shutdown: {:?}",
        sink.counts()
    );
}

async fn the_direct_prometheus_endpoint_is_off_by_default_and_serves_semconv_names_when_on(
    path: &str,
) {
    let app = TestApp::spawn_on(
        path,
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", crate::helpers::DEAD_ENDPOINT)],
    )
    .await;
    assert_eq!(app.get("/metrics").await.status(), 404);

    let app = TestApp::spawn_on(
        path,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", crate::helpers::DEAD_ENDPOINT),
            ("ALERTINGSCOUT_PROMETHEUS_METRICS", "on"),
        ],
    )
    .await;
    app.create_project("p").await;
    let text = app.get("/metrics").await.text().await.unwrap();
    let line = text
        .lines()
        .find(|l| {
            l.starts_with("http_server_request_duration_seconds_count")
                && l.contains(r#"http_route="/projects""#)
                && l.contains(r#"http_request_method="POST""#)
        })
        .unwrap_or_else(|| panic!("no duration series for POST /projects in:\n{text}"));
    assert!(
        line.contains(r#"http_response_status_code="201""#),
        "{line}"
    );
    assert!(
        line.trim_end().ends_with(" 1"),
        "one request counted: {line}"
    );
    assert!(text.contains(r#"le="1""#), "a bucket bound at exactly 1 s");
}

/// What one request leaves behind, by shape: per span (name, kind, sorted attribute
/// keys, status code) and per log record (body, severity, sorted attribute keys).
async fn shapes_on(path: &str) -> (Vec<String>, Vec<String>) {
    let sink = Sink::start(true).await.unwrap();
    let app = app_exporting_to(path, &sink).await;
    let response = app
        .client
        .post(app.url("/projects"))
        .header("x-request-id", "shape-create")
        .header("x-user-id", "user-1")
        .json(&json!({"name": "Shape"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let project: Value = response.json().await.unwrap();
    let id = project["id"].as_i64().unwrap();
    assert_eq!(
        app.get_with_id(&format!("/projects/{id}/nope"), "shape-404")
            .await
            .status(),
        404
    );
    let ours = |attrs: &[KeyValue]| {
        matches!(
            str_attr(attrs, "request_id").as_deref(),
            Some("shape-create" | "shape-404")
        )
    };
    assert!(
        eventually(WAIT, || spans(&sink).len() >= 3
            && logs(&sink).iter().filter(|l| ours(&l.attributes)).count() >= 3)
        .await,
        "telemetry did not arrive on {path}: {:?}",
        sink.counts()
    );
    let keys = |attrs: &[KeyValue]| {
        let mut keys: Vec<&str> = attrs.iter().map(|kv| kv.key.as_str()).collect();
        keys.sort_unstable();
        let all = keys.len();
        keys.dedup();
        assert_eq!(all, keys.len(), "attribute keys must be unique: {keys:?}");
        keys.join(",")
    };
    let mut span_shapes: Vec<String> = spans(&sink)
        .iter()
        .map(|s| {
            let status = s.status.as_ref().map(|st| st.code).unwrap_or_default();
            format!(
                "{} kind={} status={status} [{}]",
                s.name,
                s.kind,
                keys(&s.attributes)
            )
        })
        .collect();
    span_shapes.sort();
    let body = |l: &LogRecord| match l.body.as_ref().and_then(|b| b.value.as_ref()) {
        Some(V::StringValue(s)) => s.clone(),
        _ => String::new(),
    };
    let mut log_shapes: Vec<String> = sink
        .logs()
        .into_iter()
        .flat_map(|r| r.resource_logs)
        .flat_map(|rl| rl.scope_logs)
        .flat_map(|sl| {
            let scope = sl.scope.map(|s| s.name).unwrap_or_default();
            sl.log_records.into_iter().map(move |l| (scope.clone(), l))
        })
        .filter(|(_, l)| ours(&l.attributes))
        .map(|(scope, l)| {
            let traced = l.trace_id.len() == 16 && l.span_id.len() == 8;
            let timed = l.time_unix_nano > 0 && l.observed_time_unix_nano > 0;
            format!(
                "{scope} {} {} {} event={} traced={traced} timed={timed} [{}]",
                l.severity_number,
                l.severity_text,
                body(&l),
                l.event_name,
                keys(&l.attributes)
            )
        })
        .collect();
    log_shapes.sort();
    (span_shapes, log_shapes)
}

/// Issue 14: the stock path is the same telemetry, not a near copy.
#[tokio::test]
async fn both_paths_emit_the_same_spans_and_log_records() {
    let (lean_spans, lean_logs) = shapes_on("lean").await;
    let (sdk_spans, sdk_logs) = shapes_on("sdk").await;
    assert_eq!(lean_spans, sdk_spans, "spans differ between the paths");
    assert_eq!(lean_logs, sdk_logs, "log records differ between the paths");
    assert!(lean_spans
        .iter()
        .any(|s| s.starts_with("POST /projects kind=2")));
    assert!(
        lean_spans.iter().any(|s| s.contains("kind=3")),
        "a database span"
    );
}

/// With stdout logging on, each request is one access line on stdout and one access
/// record over OTLP: the lean path queues its record itself and keeps the bridge
/// from sending the stdout event a second time.
async fn each_request_is_one_access_line_and_one_access_record(path: &str) {
    let sink = Sink::start(true).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let stdout = dir.path().join("stdout.jsonl");
    let app = TestApp::spawn_writing(
        &[
            ("ALERTINGSCOUT_OTLP_EXPORTER", path),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &sink.grpc_endpoint()),
            ("ALERTINGSCOUT_LOG_STDOUT", "on"),
        ],
        Some(std::fs::File::create(&stdout).unwrap()),
    )
    .await;
    for i in 0..3 {
        let id = format!("stdout-{i}");
        assert_eq!(app.get_with_id("/health", &id).await.status(), 200);
    }
    // By body: a second copy through the bridge would lack the request's ids.
    let access = |l: &LogRecord| {
        matches!(l.body.as_ref().and_then(|b| b.value.as_ref()),
            Some(V::StringValue(s)) if s == "request completed")
    };
    assert!(
        eventually(WAIT, || logs(&sink).iter().filter(|l| access(l)).count()
            >= 3)
        .await,
        "access records did not arrive: {:?}",
        sink.counts()
    );
    // One more export interval for a second copy, were there one.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let records: Vec<LogRecord> = logs(&sink).into_iter().filter(access).collect();
    assert_eq!(records.len(), 3, "{records:?}");
    assert!(
        records
            .iter()
            .all(|l| str_attr(&l.attributes, "request_id")
                .is_some_and(|id| id.starts_with("stdout-")))
    );
    let lines: Vec<Value> = std::fs::read_to_string(&stdout)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|l: &Value| l["message"] == "request completed")
        .collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(line["http.route"], "/health", "{line}");
        assert_eq!(line["span"]["request_id"], format!("stdout-{i}"), "{line}");
    }
}

/// The contract holds on both export paths (ALERTINGSCOUT_OTLP_EXPORTER): each case
/// runs as `lean::name` and `sdk::name`.
macro_rules! on_both_paths {
    ($($name:ident),* $(,)?) => {
        mod lean {
            $(#[tokio::test]
            async fn $name() {
                super::$name("lean").await
            })*
        }
        mod sdk {
            $(#[tokio::test]
            async fn $name() {
                super::$name("sdk").await
            })*
        }
    };
}

on_both_paths!(
    spans_logs_and_response_headers_agree_on_trace_and_request_ids,
    server_errors_carry_error_type_and_exception_fields,
    metrics_follow_the_http_semantic_conventions,
    caller_ids_are_pseudonyms_and_pii_in_the_url_is_never_recorded,
    ten_thousand_random_paths_add_only_a_handful_of_series,
    http_protobuf_export_works_too,
    sigterm_flushes_everything_still_queued,
    the_direct_prometheus_endpoint_is_off_by_default_and_serves_semconv_names_when_on,
    each_request_is_one_access_line_and_one_access_record
);
