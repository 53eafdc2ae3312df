use serde_json::{json, Value};

use crate::helpers::{error_of, TestApp};

#[tokio::test]
async fn projects_can_be_created_read_listed_and_deleted() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .post(app.url("/projects"))
        .header("x-user-id", "user-7")
        .json(&json!({"name": "  Apollo ", "description": "moon"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["name"], "Apollo");
    assert_eq!(created["description"], "moon");
    assert_eq!(created["created_by"], "user-7");
    let id = created["id"].as_i64().unwrap();

    let fetched: Value = app
        .get(&format!("/projects/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(fetched, created);

    app.create_project("Gemini").await;
    let list: Vec<Value> = app.get("/projects").await.json().await.unwrap();
    assert_eq!(list.len(), 2);

    assert_eq!(app.delete(&format!("/projects/{id}")).await.status(), 204);
    assert_eq!(app.get(&format!("/projects/{id}")).await.status(), 404);
    assert_eq!(app.delete(&format!("/projects/{id}")).await.status(), 404);
}

#[tokio::test]
async fn bad_project_input_gets_a_4xx_naming_the_field_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let cases = [
        (json!({}), 422, "invalid_field", "name"),
        (json!({"name": ""}), 422, "invalid_field", "name"),
        (
            json!({"name": "x".repeat(201)}),
            422,
            "invalid_field",
            "name",
        ),
        (json!({"name": 42}), 422, "invalid_field", "name"),
        (
            json!({"name": "ok", "description": 5}),
            422,
            "invalid_field",
            "description",
        ),
        (
            json!({"name": "ok", "owner": "me"}),
            422,
            "invalid_field",
            "owner",
        ),
        (json!(["name"]), 400, "invalid_body", "body"),
    ];
    for (body, status, code, field) in cases {
        let response = app.post_json("/projects", &body).await;
        assert_eq!(response.status(), status, "{body}");
        assert_eq!(
            error_of(response).await,
            (code.to_owned(), Some(field.to_owned())),
            "{body}"
        );
    }
    // 200 characters is fine, counted in characters, not bytes.
    assert_eq!(
        app.post_json("/projects", &json!({"name": "é".repeat(200)}))
            .await
            .status(),
        201
    );

    let list: Vec<Value> = app.get("/projects").await.json().await.unwrap();
    assert_eq!(list.len(), 1, "no rejected request may write");
}

#[tokio::test]
async fn malformed_requests_get_their_own_status_codes() {
    let app = TestApp::spawn().await;
    // Invalid JSON: 400.
    let response = app
        .client
        .post(app.url("/projects"))
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(error_of(response).await.0, "invalid_json");

    // Wrong content type: 415.
    let response = app
        .client
        .post(app.url("/projects"))
        .header("content-type", "text/plain")
        .body("{\"name\": \"x\"}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 415);
    assert_eq!(
        error_of(response).await,
        ("unsupported_media_type".into(), Some("content-type".into()))
    );

    // Body over the limit: 413.
    let huge = json!({"name": "x", "description": "y".repeat(100_000)});
    let response = app.post_json("/projects", &huge).await;
    assert_eq!(response.status(), 413);
    assert_eq!(
        error_of(response).await,
        ("payload_too_large".into(), Some("body".into()))
    );

    // Headers over the limit: 431.
    let response = app
        .client
        .get(app.url("/projects"))
        .header("x-padding", "z".repeat(20_000))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 431);
    assert_eq!(
        error_of(response).await,
        ("headers_too_large".into(), Some("headers".into()))
    );

    // Ids that are not ids: 400 naming the path parameter; unknown ids: 404.
    let response = app.get("/projects/abc").await;
    assert_eq!(response.status(), 400);
    assert_eq!(
        error_of(response).await,
        ("invalid_path_parameter".into(), Some("id".into()))
    );
    let response = app.get("/projects/999").await;
    assert_eq!(response.status(), 404);
    assert_eq!(
        error_of(response).await,
        ("not_found".into(), Some("id".into()))
    );

    // Unknown routes: 404 JSON; wrong method: 405.
    assert_eq!(app.get("/nothing/here").await.status(), 404);
    assert_eq!(
        app.client
            .put(app.url("/projects"))
            .send()
            .await
            .unwrap()
            .status(),
        405
    );

    // A bad x-user-id is a client error naming the header.
    let response = app
        .client
        .post(app.url("/projects"))
        .header("x-user-id", "has space")
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    assert_eq!(error_of(response).await.1.as_deref(), Some("x-user-id"));

    let list: Vec<Value> = app.get("/projects").await.json().await.unwrap();
    assert!(list.is_empty(), "nothing may have been written");
}
