use serde::Serialize;
use serde_json::Value;

use super::fields::BodyObject;
use crate::error::ApiError;

pub const NAME_MAX: usize = 200;
pub const DESCRIPTION_MAX: usize = 2000;

/// A project name: 1-200 characters, trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectName(String);

impl ProjectName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A validated `POST /projects` body.
#[derive(Debug, Clone)]
pub struct NewProject {
    pub name: ProjectName,
    pub description: Option<String>,
}

impl NewProject {
    pub fn parse(body: Value) -> Result<Self, ApiError> {
        let mut body = BodyObject::new(body)?;
        let name = ProjectName(body.required_text("name", NAME_MAX)?);
        let description = body.optional_text("description", DESCRIPTION_MAX)?;
        body.finish()?;
        Ok(NewProject { name, description })
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Project {
    pub id: i64,
    pub name: String,
    pub description: Option<String>,
    pub created_by: Option<String>,
    pub created_at: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_are_checked_for_length() {
        let ok = NewProject::parse(json!({"name": "  Apollo  "})).unwrap();
        assert_eq!(ok.name.as_str(), "Apollo");
        let cases = [
            json!({}),
            json!({"name": ""}),
            json!({"name": "   "}),
            json!({"name": 7}),
            json!({"name": "x".repeat(201)}),
        ];
        for body in cases {
            let err = NewProject::parse(body.clone()).unwrap_err();
            assert_eq!(err.field(), Some("name"), "{body}");
        }
        assert!(NewProject::parse(json!({"name": "é".repeat(200)})).is_ok());
    }
}
