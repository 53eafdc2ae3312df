use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

use super::extract::{Caller, JsonBody, PathId};
use super::AppState;
use crate::domain::{Id, NewProject, Project};
use crate::error::ApiError;
use crate::telemetry::request_context::record_project;

pub fn not_found(id: Id) -> ApiError {
    ApiError::NotFound {
        resource: "project",
        id: id.to_string(),
    }
}

pub async fn create(
    State(state): State<AppState>,
    Caller(user): Caller,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Project>), ApiError> {
    let project = NewProject::parse(body)?;
    let created = state
        .db
        .call(crate::db_op!("INSERT", "projects"), move |s| {
            s.create_project(&project, user.as_deref())
        })
        .await?;
    record_project(created.id);
    tracing::info!(project.id = created.id, "project created");
    Ok((StatusCode::CREATED, Json(created)))
}

pub async fn list(State(state): State<AppState>) -> Result<Json<Vec<Project>>, ApiError> {
    let projects = state
        .db
        .call(crate::db_op!("SELECT", "projects"), |s| s.list_projects())
        .await?;
    Ok(Json(projects))
}

pub async fn get(
    State(state): State<AppState>,
    PathId(id): PathId,
) -> Result<Json<Project>, ApiError> {
    record_project(id.0);
    let found = state
        .db
        .call(crate::db_op!("SELECT", "projects"), move |s| {
            s.get_project(id)
        })
        .await?;
    found.map(Json).ok_or_else(|| not_found(id))
}

pub async fn delete(
    State(state): State<AppState>,
    PathId(id): PathId,
) -> Result<StatusCode, ApiError> {
    record_project(id.0);
    let deleted = state
        .db
        .call(crate::db_op!("DELETE", "projects"), move |s| {
            s.delete_project(id)
        })
        .await?;
    if deleted {
        tracing::info!(project.id = id.0, "project deleted");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_found(id))
    }
}
