//! What a request knows about itself (request id, caller, the project and
//! todo it touches), carried in the OpenTelemetry `Context` so that every log
//! record emitted while the request runs can be stamped with it, and the
//! server span and access log can report it.

use std::sync::atomic::{AtomicI64, Ordering::Relaxed};
use std::sync::Arc;

use opentelemetry::Context;

use super::request_id::{header_token, RequestId};

pub const USER_ID_HEADER: &str = "x-user-id";
/// The same as a header name: a lookup by `HeaderName` skips parsing the string
/// on every request.
pub const USER_ID: axum::http::HeaderName = axum::http::HeaderName::from_static(USER_ID_HEADER);

#[derive(Debug)]
pub struct RequestFacts {
    pub request_id: RequestId,
    pub user_id: Option<Arc<str>>,
    project_id: AtomicI64,
    todo_id: AtomicI64,
}

impl RequestFacts {
    pub fn new(request_id: RequestId, user_id: Option<Arc<str>>) -> Self {
        RequestFacts {
            request_id,
            user_id,
            project_id: AtomicI64::new(0),
            todo_id: AtomicI64::new(0),
        }
    }

    pub fn project_id(&self) -> Option<i64> {
        Some(self.project_id.load(Relaxed)).filter(|id| *id > 0)
    }

    pub fn todo_id(&self) -> Option<i64> {
        Some(self.todo_id.load(Relaxed)).filter(|id| *id > 0)
    }
}

/// A caller id as the `x-user-id` header gives it: 1-128 visible ASCII characters.
pub fn parse_user_id(raw: &[u8]) -> Option<Arc<str>> {
    header_token(raw, 128, |b| b.is_ascii_graphic())
}

/// Ids with 13 or more digits are not ours (SQLite row ids count up from 1) and
/// have the shape of a card number: such an id a client sent is not recorded (the
/// URL path has it, masked).
const MAX_RECORDED_ID: i64 = 999_999_999_999;

/// Notes the project the current request works on.
pub fn record_project(id: i64) {
    if id > MAX_RECORDED_ID {
        return;
    }
    Context::map_current(|cx| {
        if let Some(facts) = cx.get::<RequestFacts>() {
            facts.project_id.store(id, Relaxed);
        }
    });
}

/// Notes the todo the current request works on.
pub fn record_todo(id: i64) {
    if id > MAX_RECORDED_ID {
        return;
    }
    Context::map_current(|cx| {
        if let Some(facts) = cx.get::<RequestFacts>() {
            facts.todo_id.store(id, Relaxed);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_are_recorded_through_the_current_context() {
        let cx = Context::new().with_value(RequestFacts::new(RequestId::generate(), None));
        let _guard = cx.clone().attach();
        record_project(7);
        record_todo(9);
        let facts = cx.get::<RequestFacts>().unwrap();
        assert_eq!(facts.project_id(), Some(7));
        assert_eq!(facts.todo_id(), Some(9));
    }

    #[test]
    fn user_ids_must_be_visible_ascii() {
        assert!(parse_user_id(b"user-42").is_some());
        assert!(parse_user_id(b"").is_none());
        assert!(parse_user_id(b"a b").is_none());
        assert!(parse_user_id("é".as_bytes()).is_none());
    }
}
