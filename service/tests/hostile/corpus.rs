//! The committed seed corpus (`service/tests/corpus/`): nasty bodies and
//! header values found by hand or by the property tests, replayed on every
//! run with the same checks. Add a file or a line to keep a case for good.

use std::path::Path;

use axum::body::Body;
use axum::http::{HeaderValue, Method, Request};

use crate::support::{self, Answer};

fn corpus() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus"))
}

fn check(answer: &Answer, what: &str) {
    assert!(
        !answer.status.is_server_error(),
        "{what}: {} {:?}",
        answer.status,
        String::from_utf8_lossy(&answer.body)
    );
    if answer.status.is_client_error() {
        if let Err(problem) = answer.error() {
            panic!("{what}: {problem}");
        }
    }
    let id = answer.header("x-request-id").unwrap_or_default();
    assert!(
        !id.is_empty()
            && id.len() <= 128
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')),
        "{what}: echoed request id {id:?}"
    );
}

async fn fixture() -> (i64, i64) {
    let post = |uri: String, body: &'static str| {
        Request::post(uri)
            .header("content-type", "application/json")
            .body(Body::from(body))
            .expect("request")
    };
    let project = support::send(post("/projects".into(), r#"{"name":"corpus"}"#)).await;
    let project = project.json().and_then(|v| v["id"].as_i64()).expect("id");
    let todo = support::send(post(
        format!("/projects/{project}/todos"),
        r#"{"title":"corpus"}"#,
    ))
    .await;
    let todo = todo.json().and_then(|v| v["id"].as_i64()).expect("id");
    (project, todo)
}

#[tokio::test]
async fn every_corpus_body_gets_a_client_error_or_success_never_a_5xx() {
    let (project, todo) = fixture().await;
    let mut files: Vec<_> = std::fs::read_dir(corpus().join("bodies"))
        .expect("corpus/bodies")
        .map(|entry| entry.expect("entry").path())
        .collect();
    files.sort();
    assert!(files.len() >= 10, "the corpus is there");
    for file in &files {
        let body = std::fs::read(file).expect("read");
        for (method, uri) in [
            (Method::POST, "/projects".to_owned()),
            (Method::POST, format!("/projects/{project}/todos")),
            (Method::PATCH, format!("/todos/{todo}")),
        ] {
            let request = Request::builder()
                .method(method.clone())
                .uri(&uri)
                .header("content-type", "application/json")
                .body(Body::from(body.clone()))
                .expect("request");
            let answer = support::send(request).await;
            check(&answer, &format!("{method} {uri} {}", file.display()));
        }
    }
}

#[tokio::test]
async fn every_corpus_header_value_is_survived_in_every_identity_header() {
    let lines = std::fs::read(corpus().join("headers.txt")).expect("corpus/headers.txt");
    let values: Vec<&[u8]> = lines
        .split(|&b| b == b'\n')
        .filter(|line| !line.is_empty() && !line.starts_with(b"#"))
        .collect();
    assert!(values.len() >= 10, "the corpus is there");
    for value in values {
        let value = HeaderValue::from_bytes(value).expect("a valid header value");
        for header in ["x-request-id", "x-user-id", "traceparent", "tracestate"] {
            for (method, uri, body) in [
                (Method::GET, "/health", ""),
                (Method::POST, "/projects", r#"{"name":"corpus"}"#),
            ] {
                let request = Request::builder()
                    .method(method.clone())
                    .uri(uri)
                    .header("content-type", "application/json")
                    .header(header, value.clone())
                    .body(Body::from(body))
                    .expect("request");
                let answer = support::send(request).await;
                check(&answer, &format!("{method} {uri} with {header}: {value:?}"));
            }
        }
    }
}
