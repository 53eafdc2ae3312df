//! The client against a fake Prometheus: what it sends, how answers decode,
//! and that every error names the query.

use std::time::Duration;

use axum::extract::{Form, Path, Query};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::*;

async fn fake() -> Url {
    async fn query(Form(form): Form<Vec<(String, String)>>) -> (StatusCode, Json<Value>) {
        let q = form
            .iter()
            .find(|(k, _)| k == "query")
            .map(|(_, v)| v.as_str())
            .unwrap_or("");
        match q {
            "up" => (
                StatusCode::OK,
                Json(json!({"status": "success", "data": {"resultType": "vector",
                    "result": [{"metric": {"job": "a"}, "value": [1700000000.0, "1"]}]}})),
            ),
            _ => (
                StatusCode::BAD_REQUEST,
                Json(json!({"status": "error", "errorType": "bad_data",
                    "error": "1:4: parse error: unexpected end of input"})),
            ),
        }
    }
    async fn query_range(Form(form): Form<Vec<(String, String)>>) -> Json<Value> {
        // Echo the step back as a label so the test sees what was sent.
        let step = form
            .iter()
            .find(|(k, _)| k == "step")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        Json(json!({"status": "success", "data": {"resultType": "matrix",
            "result": [{"metric": {"step": step}, "values": [[1700000000, "NaN"], [1700000005, "+Inf"]]}]}}))
    }
    async fn labels(
        Path(label): Path<String>,
        Query(q): Query<Vec<(String, String)>>,
    ) -> Json<Value> {
        let matchers: Vec<&str> = q
            .iter()
            .filter(|(k, _)| k == "match[]")
            .map(|(_, v)| v.as_str())
            .collect();
        Json(json!({"status": "success", "data": [label, matchers.join("|")]}))
    }
    let app = Router::new()
        .route("/api/v1/query", post(query))
        .route("/api/v1/query_range", post(query_range))
        .route("/api/v1/label/{label}/values", get(labels))
        .route(
            "/api/v1/status/buildinfo",
            get(|| async { Json(json!({"status": "success", "data": {"version": "2.42.0"}})) }),
        )
        .route(
            "/api/v1/series",
            post(|| async { (StatusCode::BAD_GATEWAY, "<html>proxy error</html>") }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}").parse().expect("url")
}

fn client(base: Url) -> Prometheus {
    Prometheus::new(base, Duration::from_secs(5)).expect("client")
}

#[tokio::test]
async fn answers_decode_into_typed_results() {
    let p = client(fake().await);
    let now = chrono::Utc::now();
    let QueryData::Vector(v) = p.query("up", now).await.expect("vector") else {
        panic!("a vector")
    };
    assert_eq!(v[0].labels["job"], "a");
    let matrix = p
        .query_range(
            "rate(x[1m])",
            now - chrono::Duration::minutes(5),
            now,
            Duration::from_secs(5),
        )
        .await
        .expect("matrix")
        .into_series();
    assert_eq!(matrix[0].labels["step"], "5");
    assert!(matrix[0].samples[0].v.is_nan());
    assert_eq!(matrix[0].samples[1].v, f64::INFINITY);
    let values = p
        .label_values("http_route", &["m{job=\"a\"}"], now, now)
        .await
        .expect("values");
    assert_eq!(values, vec!["http_route", "m{job=\"a\"}"]);
    assert_eq!(p.version().await.expect("version"), "2.42.0");
}

#[tokio::test]
async fn errors_name_the_query() {
    let p = client(fake().await);
    let now = chrono::Utc::now();
    let refused = p
        .query("sum(", now)
        .await
        .expect_err("bad query")
        .to_string();
    assert_eq!(
        refused,
        "Prometheus refused query `sum(`: bad_data: 1:4: parse error: unexpected end of input"
    );
    let status = p
        .series(&["up"], now, now)
        .await
        .expect_err("502")
        .to_string();
    assert!(
        status.contains("HTTP 502 to series up: <html>proxy error"),
        "{status}"
    );

    let closed = client("http://127.0.0.1:1".parse().expect("url"));
    let down = closed
        .query("up", now)
        .await
        .expect_err("nothing listens")
        .to_string();
    assert!(
        down.starts_with("Prometheus at http://127.0.0.1:1/ did not answer query `up`:"),
        "{down}"
    );
}
