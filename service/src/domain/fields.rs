//! Field-level parsing helpers shared by the domain types.

use serde_json::{Map, Value};

use crate::error::ApiError;

/// A parsed JSON object body, consumed field by field so unknown fields can be
/// reported by name.
pub struct BodyObject(Map<String, Value>);

impl BodyObject {
    pub fn new(value: Value) -> Result<Self, ApiError> {
        match value {
            Value::Object(map) => Ok(BodyObject(map)),
            _ => Err(ApiError::NotAnObject),
        }
    }

    /// `Some(value)` when the field is present (including `null`).
    pub fn take(&mut self, field: &str) -> Option<Value> {
        self.0.remove(field)
    }

    /// Fails on the first field nobody took.
    pub fn finish(self) -> Result<(), ApiError> {
        match self.0.keys().next() {
            Some(field) => Err(ApiError::invalid(field.clone(), "unknown field")),
            None => Ok(()),
        }
    }

    /// A required string of `min..=max` characters (after trimming).
    pub fn required_text(&mut self, field: &str, max: usize) -> Result<String, ApiError> {
        match self.take(field) {
            None | Some(Value::Null) => Err(ApiError::invalid(field, "is required")),
            Some(value) => text(field, value, 1, max),
        }
    }

    /// An optional string of at most `max` characters; `null` means absent.
    pub fn optional_text(&mut self, field: &str, max: usize) -> Result<Option<String>, ApiError> {
        match self.take(field) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => text(field, value, 0, max).map(Some),
        }
    }
}

/// A string whose trimmed length is within bounds, in characters.
pub fn text(field: &str, value: Value, min: usize, max: usize) -> Result<String, ApiError> {
    let Value::String(s) = value else {
        return Err(ApiError::invalid(field, "must be a string"));
    };
    let trimmed = s.trim();
    let chars = trimmed.chars().count();
    if chars < min {
        return Err(ApiError::invalid(field, "must not be empty"));
    }
    if chars > max {
        return Err(ApiError::invalid(
            field,
            format!("must be at most {max} characters (got {chars})"),
        ));
    }
    Ok(trimmed.to_owned())
}

/// A server-assigned id, parsed from a path segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Id(pub i64);

impl Id {
    pub fn parse(field: &'static str, raw: &str) -> Result<Id, ApiError> {
        match raw.parse::<i64>() {
            Ok(n) if n > 0 => Ok(Id(n)),
            _ => Err(ApiError::InvalidPathId {
                field,
                value: raw.chars().take(64).collect(),
            }),
        }
    }
}

impl std::fmt::Display for Id {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_must_be_positive_integers() {
        assert_eq!(Id::parse("id", "42").ok(), Some(Id(42)));
        for bad in ["0", "-1", "abc", "1.5", ""] {
            assert!(Id::parse("id", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn unknown_fields_are_named() {
        let mut body = BodyObject::new(json!({"name": "a", "colour": "red"})).unwrap();
        body.required_text("name", 10).unwrap();
        let err = body.finish().unwrap_err();
        assert_eq!(err.field(), Some("colour"));
    }

    #[test]
    fn non_objects_are_rejected() {
        assert!(BodyObject::new(json!([1, 2])).is_err());
    }
}
