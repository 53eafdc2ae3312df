use crate::helpers::TestApp;

#[tokio::test]
async fn a_well_formed_request_id_is_echoed_and_a_bad_one_replaced() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .get(app.url("/health"))
        .header("x-request-id", "drill-42.a_b")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "drill-42.a_b");

    for bad in ["bad id with spaces!", &"x".repeat(129)] {
        let response = app
            .client
            .get(app.url("/health"))
            .header("x-request-id", bad)
            .send()
            .await
            .unwrap();
        let echoed = response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        assert_ne!(echoed, bad);
        let uuid = uuid::Uuid::parse_str(&echoed).expect("a generated UUID");
        assert_eq!(uuid.get_version_num(), 7);
    }

    let a = app.get("/health").await.headers()["x-request-id"].clone();
    let b = app.get("/health").await.headers()["x-request-id"].clone();
    assert_ne!(a, b, "every request gets its own id");
}

#[tokio::test]
async fn an_incoming_traceparent_is_continued_in_the_echoed_header() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .get(app.url("/health"))
        .header(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )
        .send()
        .await
        .unwrap();
    let echoed = response.headers()["traceparent"].to_str().unwrap();
    let parts: Vec<&str> = echoed.split('-').collect();
    assert_eq!(parts.len(), 4);
    assert_eq!(parts[1], "4bf92f3577b34da6a3ce929d0e0e4736", "same trace");
    assert_ne!(parts[2], "00f067aa0ba902b7", "our own span id");

    let fresh = app.get("/health").await;
    let fresh = fresh.headers()["traceparent"].to_str().unwrap();
    assert_ne!(
        fresh.split('-').nth(1),
        Some("4bf92f3577b34da6a3ce929d0e0e4736")
    );
}
