//! Property tests: generated hostile headers and bodies through the real
//! router (`PATCH /admin/telemetry` too, see its property). Whatever comes in: never a 5xx, never a panic (CatchPanicLayer
//! would make it a 500), every 4xx has a JSON error body, a field error names
//! the field, and the echoed request id is the sent one only when it is valid.
//!
//! 256 cases per property by default (well under a minute in a debug build);
//! `PROPTEST_CASES=20000 cargo test -p alertingscout --test hostile props`
//! runs longer. A failure is kept in `props.regressions` beside this file and
//! replayed first on every run (commit it with the fix).

use std::collections::BTreeSet;
use std::sync::LazyLock;

use axum::body::Body;
use axum::http::{HeaderValue, Method, Request};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use serde_json::{json, Map, Value};

use crate::support::{self, Answer, ADMIN_TOKEN};

static RT: LazyLock<tokio::runtime::Runtime> = LazyLock::new(support::runtime);

/// A project and a todo that exist, for the routes that need one.
static FIXTURE: LazyLock<(i64, i64)> = LazyLock::new(|| {
    RT.block_on(async {
        let project = support::send(json_request(
            Method::POST,
            "/projects",
            br#"{"name":"hostile fixture"}"#.to_vec(),
        ))
        .await;
        assert_eq!(project.status, 201, "{:?}", project.json());
        let project_id = project.json().and_then(|v| v["id"].as_i64()).expect("id");
        let todo = support::send(json_request(
            Method::POST,
            &format!("/projects/{project_id}/todos"),
            br#"{"title":"hostile fixture"}"#.to_vec(),
        ))
        .await;
        assert_eq!(todo.status, 201, "{:?}", todo.json());
        let todo_id = todo.json().and_then(|v| v["id"].as_i64()).expect("id");
        (project_id, todo_id)
    })
});

fn config() -> ProptestConfig {
    // PROPTEST_CASES wins (ProptestConfig::default reads it); 256 otherwise.
    let cases = match std::env::var("PROPTEST_CASES") {
        Ok(_) => ProptestConfig::default().cases,
        Err(_) => 256,
    };
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        ..ProptestConfig::default()
    }
}

fn json_request(method: Method, uri: &str, body: Vec<u8>) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(Body::from(body))
        .expect("request")
}

// ---- generators ----------------------------------------------------------

/// Any bytes a header value may hold (visible ASCII, space, tab, obs-text:
/// invalid UTF-8 included), short or over the 16 KiB header limit.
fn header_bytes() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        8 => 0x20u8..=0x7e,
        2 => 0x80u8..=0xff,
        1 => Just(b'\t'),
    ];
    prop_oneof![
        6 => prop::collection::vec(byte.clone(), 0..64),
        2 => prop::collection::vec(byte.clone(), 100..300),
        1 => prop::collection::vec(byte, 15_000..20_000),
    ]
}

/// Header values a valid one is one step from: the id alphabet, sometimes
/// too long, unicode, or shaped like PII.
fn near_valid_token() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        "[A-Za-z0-9._-]{1,140}".prop_map(String::into_bytes),
        "[A-Za-z0-9._-]{0,8}[ /{}\"\\\\é☃\u{202e}]{1,3}[A-Za-z0-9._-]{0,8}"
            .prop_map(String::into_bytes),
        "[0-9]{13,19}".prop_map(String::into_bytes),
        "(sk_live_|AKIA)[A-Za-z0-9]{16,24}".prop_map(String::into_bytes),
        "\\PC{1,40}".prop_map(String::into_bytes),
    ]
}

fn hostile_header() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![header_bytes(), near_valid_token()]
}

/// W3C traceparent near misses: each part valid, wrong or swapped.
fn traceparent() -> impl Strategy<Value = Vec<u8>> {
    let version = prop_oneof!["00", "01", "ff", "[0-9a-fA-F]{2}", "[0-9a-z]{1,3}"];
    let trace_id = prop_oneof![
        4 => "[0-9a-f]{32}",
        1 => Just("0".repeat(32)),
        1 => "[0-9A-F]{32}",
        1 => "[0-9a-z]{0,40}",
    ];
    let span_id = prop_oneof![
        4 => "[0-9a-f]{16}",
        1 => Just("0".repeat(16)),
        1 => "[0-9a-z]{0,20}",
    ];
    let flags = prop_oneof!["0[01]", "[0-9a-f]{2}", "[0-9a-z]{0,3}"];
    let separator = prop_oneof![8 => Just("-"), 1 => Just("_"), 1 => Just("--"), 1 => Just("")];
    let suffix = prop_oneof![8 => Just(String::new()), 1 => "-[0-9a-z]{0,10}", 1 => " {1,3}"];
    let structured = (version, trace_id, span_id, flags, separator, suffix).prop_map(
        |(version, trace, span, flags, sep, suffix)| {
            format!("{version}{sep}{trace}{sep}{span}{sep}{flags}{suffix}").into_bytes()
        },
    );
    prop_oneof![3 => structured, 1 => header_bytes()]
}

/// A JSON value of any type, nested, with the API's field names as likely
/// keys so wrong types reach each field's check.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        "\\PC{0,30}".prop_map(Value::String),
        "[ \t\n]{0,3}\\PC{0,3}[ \t\n]{0,3}".prop_map(Value::String),
        (0usize..12_000).prop_map(|n| Value::String("é".repeat(n))),
    ];
    leaf.prop_recursive(6, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

const FIELDS: [&str; 15] = [
    "name",
    "description",
    "title",
    "notes",
    "done",
    "route",
    "error_rate",
    "delay_ms",
    "panic_rate",
    // PATCH /admin/telemetry's sections and their fields.
    "traces",
    "logs",
    "metrics",
    "export",
    "sample_ratio",
    "access_log_off",
];

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(FIELDS.to_vec()).prop_map(str::to_owned),
        1 => "\\PC{0,12}",
    ]
}

/// A top-level object: the API's fields with any values, some missing, some
/// extra.
fn body_object() -> impl Strategy<Value = Value> {
    prop::collection::btree_map(key(), json_value(), 0..6)
        .prop_map(|m| Value::Object(m.into_iter().collect()))
}

/// Raw bodies no generated value produces: nesting past serde's recursion
/// limit, numbers past f64 and u64, broken UTF-8 and JSON, huge bodies.
fn raw_body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        (1usize..20_000).prop_map(|n| format!("{}{}", "[".repeat(n), "]".repeat(n)).into_bytes()),
        (1usize..5_000).prop_map(|n| {
            let mut s = String::new();
            for _ in 0..n {
                s.push_str("{\"name\":");
            }
            s.push_str("\"x\"");
            s.push_str(&"}".repeat(n));
            s.into_bytes()
        }),
        (1usize..3_000).prop_map(|n| format!("{{\"title\":{}}}", "9".repeat(n)).into_bytes()),
        "-?[0-9]{1,4}(\\.[0-9]{1,4})?[eE][+-]?[0-9]{3,7}"
            .prop_map(|n| format!("{{\"name\":\"a\",\"done\":{n}}}").into_bytes()),
        prop::collection::vec(any::<u8>(), 0..200),
        "\\PC{0,100}".prop_map(String::into_bytes),
        prop::collection::vec(any::<u8>(), 0..40).prop_map(|junk| {
            let mut body = b"{\"name\":\"".to_vec();
            body.extend(junk);
            body.extend(b"\"}");
            body
        }),
        (65_000usize..70_000)
            .prop_map(|n| format!("{{\"name\":\"{}\"}}", "x".repeat(n)).into_bytes()),
        Just(Vec::new()),
    ]
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => body_object().prop_map(|v| serde_json::to_vec(&v).expect("serialisable")),
        1 => json_value().prop_map(|v| serde_json::to_vec(&v).expect("serialisable")),
        2 => raw_body(),
    ]
}

fn content_type() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        8 => Just(b"application/json".to_vec()),
        1 => Just(b"application/merge-patch+json; charset=utf-8".to_vec()),
        1 => Just(b"text/plain".to_vec()),
        1 => header_bytes(),
    ]
}

/// A path id: valid, absent, non-numeric, negative, huge, percent-encoded junk.
fn path_id() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => Just("{fixture}".to_owned()),
        1 => (1i64..1_000_000).prop_map(|n| n.to_string()),
        1 => prop::sample::select(vec!["0", "-1", "1.5", "1e3", "+1", "99999999999999999999", "%FF", "%00", "%2F", "%C3%28"]).prop_map(str::to_owned),
        1 => prop::collection::vec(any::<u8>(), 1..20).prop_map(|b| percent_encode(&b)),
    ]
}

fn percent_encode(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

// ---- oracles -------------------------------------------------------------

/// A request id the service may keep: 1-128 of `[A-Za-z0-9._-]`.
fn id_shaped(raw: &[u8]) -> bool {
    (1..=128).contains(&raw.len())
        && raw
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn is_uuid_v7(id: &str) -> bool {
    uuid::Uuid::parse_str(id).is_ok_and(|u| u.get_version_num() == 7)
}

/// Every answer: no 5xx, a 4xx with a JSON error body, a request id that is
/// either the sent valid one or a new UUIDv7, and a well-formed traceparent.
fn check_common(answer: &Answer, sent_id: Option<&[u8]>) -> Result<(), TestCaseError> {
    prop_assert!(
        !answer.status.is_server_error(),
        "5xx: {} {:?}",
        answer.status,
        String::from_utf8_lossy(&answer.body)
    );
    if answer.status.is_client_error() {
        if let Err(problem) = answer.error() {
            prop_assert!(false, "{}", problem);
        }
    }
    let echoed = answer.header("x-request-id");
    prop_assert!(echoed.is_some(), "no x-request-id echoed");
    let echoed = echoed.unwrap_or_default();
    match sent_id {
        Some(sent) if id_shaped(sent) => prop_assert!(
            echoed.as_bytes() == sent || is_uuid_v7(echoed),
            "valid id {:?} neither kept nor replaced by a UUIDv7: {:?}",
            String::from_utf8_lossy(sent),
            echoed
        ),
        _ => prop_assert!(is_uuid_v7(echoed), "not a generated id: {:?}", echoed),
    }
    let traceparent = answer.header("traceparent").unwrap_or_default();
    prop_assert!(
        well_formed_traceparent(traceparent),
        "traceparent {:?}",
        traceparent
    );
    Ok(())
}

fn well_formed_traceparent(value: &str) -> bool {
    let parts: Vec<&str> = value.split('-').collect();
    let hex = |s: &str, n: usize| {
        s.len() == n
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    parts.len() == 4
        && parts[0] == "00"
        && hex(parts[1], 32)
        && parts[1] != "0".repeat(32)
        && hex(parts[2], 16)
        && parts[2] != "0".repeat(16)
        && hex(parts[3], 2)
}

/// A 422 names a field that the request had or should have had.
fn check_field(answer: &Answer, body: &[u8]) -> Result<(), TestCaseError> {
    let Ok((code, field)) = answer.error() else {
        return Ok(());
    };
    match answer.status.as_u16() {
        422 => {
            let field = field.unwrap_or_default();
            let mut known: BTreeSet<String> = FIELDS.iter().map(|f| f.to_string()).collect();
            known.extend(["body".to_owned(), "x-user-id".to_owned()]);
            if let Ok(Value::Object(sent)) = serde_json::from_slice::<Value>(body) {
                known.extend(sent.keys().cloned());
            }
            // Nested fields are named "section.field".
            let top = field.split('.').next().unwrap_or_default().to_owned();
            prop_assert!(
                known.contains(&field) || known.contains(&top),
                "422 {} names {:?}, not a field of the request",
                code,
                field
            );
        }
        // Errors about one part of the request name it; an unknown route or
        // a wrong method is about none.
        400 | 413 | 415 | 401 | 408 | 431 => prop_assert!(
            field.as_deref().is_some_and(|f| !f.is_empty()),
            "{} {} names no field",
            answer.status,
            code
        ),
        404 if code == "not_found" => prop_assert_eq!(field.as_deref(), Some("id")),
        _ => {}
    }
    Ok(())
}

/// The header size the 431 limit counts: names and values.
fn headers_size(headers: &[(&str, &[u8])]) -> usize {
    headers
        .iter()
        .map(|(name, value)| name.len() + value.len())
        .sum()
}

const MAX_HEADER_BYTES: usize = 16 * 1024;

fn request_with(
    method: Method,
    uri: &str,
    headers: &[(&str, &[u8])],
    body: Vec<u8>,
) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        let value =
            HeaderValue::from_bytes(value).expect("generated values are valid header values");
        builder = builder.header(*name, value);
    }
    builder.body(Body::from(body)).expect("request")
}

fn uri_for(template: &str, id: &str) -> String {
    let (project, todo) = *FIXTURE;
    let id = match id {
        "{fixture}" if template.starts_with("/todos") => todo.to_string(),
        "{fixture}" => project.to_string(),
        other => other.to_owned(),
    };
    template.replace("{}", &id)
}

// ---- properties ----------------------------------------------------------

proptest! {
    #![proptest_config(config())]

    #[test]
    fn request_ids_are_kept_only_when_valid(
        value in hostile_header(),
        route in prop::sample::select(vec!["/health", "/projects", "/projects/{}", "/nowhere/{}"]),
    ) {
        let uri = uri_for(route, "{fixture}");
        let answer = RT.block_on(support::send(request_with(Method::GET, &uri, &[("x-request-id", &value)], Vec::new())));
        check_common(&answer, Some(&value))?;
        check_field(&answer, &[])?;
        prop_assert!(matches!(answer.status.as_u16(), 200 | 404 | 431), "{}", answer.status);
    }

    #[test]
    fn user_ids_are_checked_and_named(value in hostile_header(), todo in any::<bool>()) {
        let (project, _) = *FIXTURE;
        let (uri, body) = if todo {
            (format!("/projects/{project}/todos"), br#"{"title":"t"}"#.to_vec())
        } else {
            ("/projects".to_owned(), br#"{"name":"p"}"#.to_vec())
        };
        let headers: [(&str, &[u8]); 2] = [("x-user-id", &value), ("content-type", b"application/json")];
        let answer = RT.block_on(support::send(request_with(Method::POST, &uri, &headers, body.clone())));
        check_common(&answer, None)?;
        check_field(&answer, &body)?;
        let valid = (1..=128).contains(&value.len()) && value.iter().all(u8::is_ascii_graphic);
        if headers_size(&headers) > MAX_HEADER_BYTES {
            prop_assert_eq!(answer.status.as_u16(), 431);
        } else if valid {
            prop_assert_eq!(answer.status.as_u16(), 201);
        } else {
            prop_assert_eq!(answer.status.as_u16(), 422);
            let field = answer.error().ok().and_then(|e| e.1);
            prop_assert_eq!(field.as_deref(), Some("x-user-id"));
        }
    }

    #[test]
    fn trace_context_is_continued_or_restarted(
        parent in traceparent(),
        state in prop::option::of(header_bytes()),
    ) {
        let mut headers: Vec<(&str, &[u8])> = vec![("traceparent", &parent)];
        if let Some(state) = &state {
            headers.push(("tracestate", state));
        }
        let answer = RT.block_on(support::send(request_with(Method::GET, "/health", &headers, Vec::new())));
        check_common(&answer, None)?;
        let oversized = headers_size(&headers) > MAX_HEADER_BYTES;
        prop_assert_eq!(answer.status.as_u16(), if oversized { 431 } else { 200 });
        // A strictly valid version-00 parent is continued: same trace id.
        let sent = String::from_utf8_lossy(&parent);
        if well_formed_traceparent(&sent) && !oversized {
            let echoed = answer.header("traceparent").unwrap_or_default();
            prop_assert_eq!(echoed.get(3..35), sent.get(3..35), "trace id not continued");
        }
    }

    #[test]
    fn json_bodies_never_fail_the_server(
        body in body(),
        content_type in content_type(),
        id in path_id(),
        route in prop::sample::select(vec![
            (Method::POST, "/projects"),
            (Method::POST, "/projects/{}/todos"),
            (Method::PATCH, "/todos/{}"),
        ]),
    ) {
        let (method, template) = route;
        let uri = uri_for(template, &id);
        let answer = RT.block_on(support::send(request_with(
            method,
            &uri,
            &[("content-type", &content_type)],
            body.clone(),
        )));
        check_common(&answer, None)?;
        check_field(&answer, &body)?;
        prop_assert!(
            matches!(answer.status.as_u16(), 200 | 201 | 400 | 404 | 413 | 415 | 422 | 431),
            "{} for {:?}",
            answer.status,
            String::from_utf8_lossy(&body[..body.len().min(200)])
        );
    }

    #[test]
    fn admin_bodies_never_fail_the_server(
        body in body(),
        token in prop_oneof![4 => Just(ADMIN_TOKEN.as_bytes().to_vec()), 1 => header_bytes()],
    ) {
        let mut authorization = b"Bearer ".to_vec();
        authorization.extend(&token);
        let request = request_with(
            Method::POST,
            "/admin/faults",
            &[("content-type", b"application/json"), ("authorization", &authorization)],
            body.clone(),
        );
        // Its own app: a valid rule here must not inject faults into the
        // other properties' requests.
        let answer = RT.block_on(admin_send(request));
        check_common(&answer, None)?;
        check_field(&answer, &body)?;
        prop_assert!(
            matches!(answer.status.as_u16(), 200 | 400 | 401 | 413 | 422 | 431),
            "{}",
            answer.status
        );
    }

    #[test]
    fn telemetry_switch_bodies_never_fail_the_server(body in body()) {
        // The switches are process-wide (they sit in the telemetry every
        // router of this binary shares): only bodies the parser refuses go
        // through the router, so no case changes what the other properties
        // see; accepted ones are checked at the parser.
        let parsed = serde_json::from_slice::<Value>(&body)
            .map(alertingscout::telemetry::switches::SwitchUpdate::parse);
        if let Ok(Ok(_)) = parsed {
            return Ok(());
        }
        if let Ok(Err(error)) = &parsed {
            prop_assert!(error.status().is_client_error(), "{:?}", error);
        }
        let mut authorization = b"Bearer ".to_vec();
        authorization.extend(ADMIN_TOKEN.as_bytes());
        let request = request_with(
            Method::PATCH,
            "/admin/telemetry",
            &[("content-type", b"application/json"), ("authorization", &authorization)],
            body.clone(),
        );
        let answer = RT.block_on(admin_send(request));
        check_common(&answer, None)?;
        check_field(&answer, &body)?;
        prop_assert!(
            matches!(answer.status.as_u16(), 400 | 413 | 422),
            "{}",
            answer.status
        );
        // Within the body limit, the router answers what the parser says.
        if let (Ok(Err(error)), true) = (&parsed, body.len() <= 64 * 1024) {
            prop_assert_eq!(answer.status, error.status());
            let field = answer.error().ok().and_then(|e| e.1);
            prop_assert_eq!(field.as_deref(), error.field(), "the parser's field");
        }
    }

    #[test]
    fn any_method_and_path_gets_a_json_answer(
        method in prop_oneof![
            prop::sample::select(vec!["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"]).prop_map(str::to_owned),
            "[A-Z]{1,12}",
            "[!#$%&'*+.^_`|~0-9a-z]{1,20}",
        ],
        segments in prop::collection::vec(
            prop_oneof![
                prop::sample::select(vec!["projects", "todos", "health", "telemetry", "admin", "faults", "metrics", "ready", "1", ""]).prop_map(str::to_owned),
                prop::collection::vec(any::<u8>(), 0..12).prop_map(|b| percent_encode(&b)),
            ],
            0..5,
        ),
        query in prop::option::of("[a-z0-9=&%]{0,30}"),
    ) {
        let method = Method::from_bytes(method.as_bytes()).expect("a token");
        let mut uri = format!("/{}", segments.join("/"));
        if let Some(query) = &query {
            uri.push('?');
            uri.push_str(query);
        }
        prop_assume!(uri.parse::<axum::http::Uri>().is_ok());
        // Not /metrics's GET: it answers text, and is not hostile input.
        let head = method == Method::HEAD;
        let answer = RT.block_on(support::send(request_with(method, &uri, &[], Vec::new())));
        let metrics_text = answer.status.is_success() && uri.starts_with("/metrics");
        if !head && !metrics_text {
            check_common(&answer, None)?;
            check_field(&answer, &[])?;
        }
        prop_assert!(!answer.status.is_server_error(), "{} {}", answer.status, uri);
    }
}

async fn admin_send(request: Request<Body>) -> Answer {
    use tower::ServiceExt;
    static ADMIN: LazyLock<axum::Router> = LazyLock::new(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut settings = support::settings();
        settings.database = dir.path().join("admin.sqlite");
        // The directory lives as long as the process.
        std::mem::forget(dir);
        alertingscout::startup::app(&settings, support::telemetry()).expect("app")
    });
    let response = ADMIN.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("body")
        .to_vec();
    Answer {
        status,
        headers,
        body,
    }
}
