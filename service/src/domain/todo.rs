use serde::Serialize;
use serde_json::Value;

use super::fields::{text, BodyObject};
use crate::error::ApiError;

pub const TITLE_MAX: usize = 500;
pub const NOTES_MAX: usize = 10_000;

/// A todo title: 1-500 characters, trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TodoTitle(String);

impl TodoTitle {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A validated `POST /projects/{project_id}/todos` body.
#[derive(Debug, Clone)]
pub struct NewTodo {
    pub title: TodoTitle,
    pub notes: Option<String>,
    pub done: bool,
}

impl NewTodo {
    pub fn parse(body: Value) -> Result<Self, ApiError> {
        let mut body = BodyObject::new(body)?;
        let title = TodoTitle(body.required_text("title", TITLE_MAX)?);
        let notes = body.optional_text("notes", NOTES_MAX)?;
        let done = match body.take("done") {
            None | Some(Value::Null) => false,
            Some(value) => flag("done", value)?,
        };
        body.finish()?;
        Ok(NewTodo { title, notes, done })
    }
}

/// A validated `PATCH /todos/{id}` body: absent fields stay as they are,
/// `"notes": null` clears the notes.
#[derive(Debug, Clone, Default)]
pub struct TodoPatch {
    pub title: Option<TodoTitle>,
    pub notes: Option<Option<String>>,
    pub done: Option<bool>,
}

impl TodoPatch {
    pub fn parse(body: Value) -> Result<Self, ApiError> {
        let mut body = BodyObject::new(body)?;
        let title = match body.take("title") {
            None => None,
            Some(Value::Null) => return Err(ApiError::invalid("title", "must not be null")),
            Some(value) => Some(TodoTitle(text("title", value, 1, TITLE_MAX)?)),
        };
        let notes = match body.take("notes") {
            None => None,
            Some(Value::Null) => Some(None),
            Some(value) => Some(Some(text("notes", value, 0, NOTES_MAX)?)),
        };
        let done = match body.take("done") {
            None => None,
            Some(value) => Some(flag("done", value)?),
        };
        body.finish()?;
        let patch = TodoPatch { title, notes, done };
        if patch.title.is_none() && patch.notes.is_none() && patch.done.is_none() {
            return Err(ApiError::invalid(
                "body",
                "nothing to update: give title, notes or done",
            ));
        }
        Ok(patch)
    }
}

fn flag(field: &str, value: Value) -> Result<bool, ApiError> {
    value
        .as_bool()
        .ok_or_else(|| ApiError::invalid(field, "must be true or false"))
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Todo {
    pub id: i64,
    pub project_id: i64,
    pub title: String,
    pub notes: Option<String>,
    pub done: bool,
    pub created_by: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn new_todos_need_a_title() {
        let todo = NewTodo::parse(json!({"title": "write tests", "done": true})).unwrap();
        assert_eq!(todo.title.as_str(), "write tests");
        assert!(todo.done);
        let cases = [
            (json!({}), "title"),
            (json!({"title": "x".repeat(501)}), "title"),
            (json!({"title": "ok", "done": "yes"}), "done"),
            (json!({"title": "ok", "notes": 3}), "notes"),
            (json!({"title": "ok", "priority": 1}), "priority"),
        ];
        for (body, field) in cases {
            let err = NewTodo::parse(body.clone()).unwrap_err();
            assert_eq!(err.field(), Some(field), "{body}");
        }
    }

    #[test]
    fn patches_distinguish_absent_from_null() {
        let patch = TodoPatch::parse(json!({"notes": null})).unwrap();
        assert_eq!(patch.notes, Some(None));
        let patch = TodoPatch::parse(json!({"done": true})).unwrap();
        assert_eq!(patch.notes, None);
        assert_eq!(patch.done, Some(true));
        assert!(TodoPatch::parse(json!({})).is_err());
        assert_eq!(
            TodoPatch::parse(json!({"title": null}))
                .unwrap_err()
                .field(),
            Some("title")
        );
    }
}
