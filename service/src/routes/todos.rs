use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

use super::extract::{Caller, JsonBody, PathId};
use super::projects::not_found as project_not_found;
use super::AppState;
use crate::domain::{Id, NewTodo, Todo, TodoPatch};
use crate::error::ApiError;
use crate::telemetry::request_context::{record_project, record_todo};

fn not_found(id: Id) -> ApiError {
    ApiError::NotFound {
        resource: "todo",
        id: id.to_string(),
    }
}

pub async fn create(
    State(state): State<AppState>,
    PathId(project): PathId,
    Caller(user): Caller,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Todo>), ApiError> {
    record_project(project.0);
    let todo = NewTodo::parse(body)?;
    let created = state
        .db
        .call(crate::db_op!("INSERT", "todos"), move |s| {
            s.create_todo(project, &todo, user.as_deref())
        })
        .await?
        .ok_or_else(|| project_not_found(project))?;
    record_todo(created.id);
    tracing::info!(todo.id = created.id, "todo created");
    Ok((StatusCode::CREATED, Json(created)))
}

pub async fn list(
    State(state): State<AppState>,
    PathId(project): PathId,
) -> Result<Json<Vec<Todo>>, ApiError> {
    record_project(project.0);
    state
        .db
        .call(crate::db_op!("SELECT", "todos"), move |s| {
            s.list_todos(project)
        })
        .await?
        .map(Json)
        .ok_or_else(|| project_not_found(project))
}

pub async fn get(
    State(state): State<AppState>,
    PathId(id): PathId,
) -> Result<Json<Todo>, ApiError> {
    record_todo(id.0);
    let todo = state
        .db
        .call(crate::db_op!("SELECT", "todos"), move |s| s.get_todo(id))
        .await?
        .ok_or_else(|| not_found(id))?;
    record_project(todo.project_id);
    Ok(Json(todo))
}

pub async fn update(
    State(state): State<AppState>,
    PathId(id): PathId,
    JsonBody(body): JsonBody,
) -> Result<Json<Todo>, ApiError> {
    record_todo(id.0);
    let patch = TodoPatch::parse(body)?;
    let todo = state
        .db
        .call(crate::db_op!("UPDATE", "todos"), move |s| {
            s.update_todo(id, &patch)
        })
        .await?
        .ok_or_else(|| not_found(id))?;
    record_project(todo.project_id);
    Ok(Json(todo))
}

pub async fn delete(
    State(state): State<AppState>,
    PathId(id): PathId,
) -> Result<StatusCode, ApiError> {
    record_todo(id.0);
    if state
        .db
        .call(crate::db_op!("DELETE", "todos"), move |s| s.delete_todo(id))
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_found(id))
    }
}
