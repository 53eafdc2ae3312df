use serde_json::{json, Value};

use crate::helpers::{error_of, TestApp};

#[tokio::test]
async fn todos_live_and_die_with_their_project() {
    let app = TestApp::spawn().await;
    let project = app.create_project("Apollo").await;
    let pid = project["id"].as_i64().unwrap();
    let response = app
        .post_json(
            &format!("/projects/{pid}/todos"),
            &json!({"title": "launch", "notes": "T-10"}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let todo: Value = response.json().await.unwrap();
    assert_eq!(todo["done"], false);
    assert_eq!(todo["project_id"], pid);
    let tid = todo["id"].as_i64().unwrap();

    let list: Vec<Value> = app
        .get(&format!("/projects/{pid}/todos"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list, vec![todo.clone()]);
    let fetched: Value = app
        .get(&format!("/todos/{tid}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(fetched, todo);

    let patched: Value = app
        .patch_json(&format!("/todos/{tid}"), &json!({"done": true}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(patched["done"], true);
    assert_eq!(patched["notes"], "T-10", "absent fields are kept");
    let cleared: Value = app
        .patch_json(
            &format!("/todos/{tid}"),
            &json!({"notes": null, "title": "land"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(cleared["notes"], Value::Null);
    assert_eq!(cleared["title"], "land");

    assert_eq!(app.delete(&format!("/todos/{tid}")).await.status(), 204);
    assert_eq!(app.get(&format!("/todos/{tid}")).await.status(), 404);

    let again = app.create_todo(pid, "again").await;
    assert_eq!(app.delete(&format!("/projects/{pid}")).await.status(), 204);
    let gone = app.get(&format!("/todos/{}", again["id"])).await;
    assert_eq!(gone.status(), 404, "deleting a project deletes its todos");
}

#[tokio::test]
async fn bad_todo_input_is_rejected_with_the_field_named() {
    let app = TestApp::spawn().await;
    let pid = app.create_project("p").await["id"].as_i64().unwrap();
    let path = format!("/projects/{pid}/todos");
    let cases = [
        (json!({}), "title"),
        (json!({"title": "  "}), "title"),
        (json!({"title": "t".repeat(501)}), "title"),
        (json!({"title": "ok", "done": "yes"}), "done"),
        (json!({"title": "ok", "notes": ["a"]}), "notes"),
    ];
    for (body, field) in cases {
        let response = app.post_json(&path, &body).await;
        assert_eq!(response.status(), 422, "{body}");
        assert_eq!(error_of(response).await.1.as_deref(), Some(field), "{body}");
    }
    assert_eq!(
        app.post_json(&path, &json!({"title": "t".repeat(500)}))
            .await
            .status(),
        201
    );

    // Unknown project: 404 on create and list.
    let response = app
        .post_json("/projects/999/todos", &json!({"title": "x"}))
        .await;
    assert_eq!(response.status(), 404);
    assert_eq!(app.get("/projects/999/todos").await.status(), 404);
    assert_eq!(app.get("/projects/zero/todos").await.status(), 400);

    // Patches: empty, null title, unknown todo.
    let tid = app.create_todo(pid, "x").await["id"].as_i64().unwrap();
    let response = app.patch_json(&format!("/todos/{tid}"), &json!({})).await;
    assert_eq!(response.status(), 422);
    let response = app
        .patch_json(&format!("/todos/{tid}"), &json!({"title": null}))
        .await;
    assert_eq!(error_of(response).await.1.as_deref(), Some("title"));
    assert_eq!(
        app.patch_json("/todos/424242", &json!({"done": true}))
            .await
            .status(),
        404
    );

    let list: Vec<Value> = app.get(&path).await.json().await.unwrap();
    assert_eq!(list.len(), 2, "only the two valid todos were written");
    let unchanged: Value = app
        .get(&format!("/todos/{tid}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(unchanged["title"], "x");
}
