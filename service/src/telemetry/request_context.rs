//! What a request knows about itself (request id, caller, the project and
//! todo it touches), current on the thread while the request's future is polled
//! (as its OpenTelemetry `Context` is) so that every log record emitted while the
//! request runs can be stamped with it, and the server span and access log can
//! report it.
//!
//! A thread-local of its own rather than a value in the OTel `Context`: putting
//! it there cost about 540 instructions per request (a new entry map, three
//! allocations) and a map lookup at each read.

use std::cell::RefCell;
use std::sync::atomic::{AtomicI64, Ordering::Relaxed};
use std::sync::Arc;

use super::export::Scalar;
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

    /// The facts as they are now, for a record made now.
    pub fn ids(&self) -> RequestIds {
        RequestIds {
            request_id: self.request_id.shared(),
            user_id: self.user_id.clone(),
            project_id: self.project_id(),
            todo_id: self.todo_id(),
        }
    }
}

/// What a lean log record says about its request (the access record, an event's):
/// the facts when it was made.
#[derive(Debug, Clone)]
pub struct RequestIds {
    pub request_id: Arc<str>,
    pub user_id: Option<Arc<str>>,
    pub project_id: Option<i64>,
    pub todo_id: Option<i64>,
}

impl RequestIds {
    /// The ids as attributes, in the order `logs::RequestContextProcessor` adds
    /// them after a record's own; a project or todo id the record already `named`
    /// is not repeated (OTLP attribute keys are unique).
    pub fn for_each(
        &self,
        named: impl Fn(&str) -> bool,
        mut f: impl FnMut(&'static str, Scalar<'_>),
    ) {
        f("request_id", Scalar::Str(&self.request_id));
        if let Some(user) = &self.user_id {
            f("user.id", Scalar::Str(user));
        }
        if let Some(id) = self.project_id.filter(|_| !named("project.id")) {
            f("project.id", Scalar::Int(id));
        }
        if let Some(id) = self.todo_id.filter(|_| !named("todo.id")) {
            f("todo.id", Scalar::Int(id));
        }
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Arc<RequestFacts>>> = const { RefCell::new(None) };
}

/// Makes `facts` current on this thread until the guard drops; the facts current
/// before come back then (nested requests, as the OTel context's attach).
#[must_use = "the facts are current only while the guard lives"]
pub fn enter(facts: &Arc<RequestFacts>) -> Entered {
    let previous = CURRENT.with(|current| current.replace(Some(Arc::clone(facts))));
    Entered { previous }
}

/// Restores the facts current before [`enter`].
pub struct Entered {
    previous: Option<Arc<RequestFacts>>,
}

impl Drop for Entered {
    fn drop(&mut self) {
        let previous = self.previous.take();
        // The thread-local is gone only while the thread exits: nothing to restore.
        let _ = CURRENT.try_with(|current| current.replace(previous));
    }
}

/// Calls `f` with the current request's facts, if a request is being polled.
pub fn with_current<R>(f: impl FnOnce(&RequestFacts) -> R) -> Option<R> {
    CURRENT
        .try_with(|current| current.borrow().as_deref().map(f))
        .ok()
        .flatten()
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
    with_current(|facts| facts.project_id.store(id, Relaxed));
}

/// Notes the todo the current request works on.
pub fn record_todo(id: i64) {
    if id > MAX_RECORDED_ID {
        return;
    }
    with_current(|facts| facts.todo_id.store(id, Relaxed));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_are_recorded_while_current_and_the_previous_come_back() {
        let outer = Arc::new(RequestFacts::new(RequestId::generate(), None));
        let inner = Arc::new(RequestFacts::new(RequestId::generate(), None));
        record_project(5); // no request current: nothing to note, no panic
        {
            let _outer = enter(&outer);
            {
                let _inner = enter(&inner);
                record_project(7);
                record_todo(9);
            }
            record_project(8);
        }
        record_todo(10);
        assert_eq!((inner.project_id(), inner.todo_id()), (Some(7), Some(9)));
        assert_eq!((outer.project_id(), outer.todo_id()), (Some(8), None));
        assert!(with_current(|_| ()).is_none());
    }

    #[test]
    fn user_ids_must_be_visible_ascii() {
        assert!(parse_user_id(b"user-42").is_some());
        assert!(parse_user_id(b"").is_none());
        assert!(parse_user_id(b"a b").is_none());
        assert!(parse_user_id("é".as_bytes()).is_none());
    }
}
