//! The parts every export request repeats: the resource, encoded once, and
//! instrumentation scopes.

use opentelemetry::InstrumentationScope;
use opentelemetry_sdk::Resource;

use super::proto::*;
use super::values::put_kv;

const RESOURCE_ATTRIBUTES: u32 = 1;
const SCOPE_NAME: u32 = 1;
const SCOPE_VERSION: u32 = 2;
const SCOPE_ATTRIBUTES: u32 = 3;

/// The body of an OTLP `Resource` message, encoded once at start.
#[derive(Debug, Clone, Default)]
pub struct EncodedResource(Vec<u8>);

impl EncodedResource {
    pub fn new(resource: &Resource) -> Self {
        let mut buf = Vec::new();
        for (key, value) in resource.iter() {
            put_kv(RESOURCE_ATTRIBUTES, key.as_str(), value, &mut buf);
        }
        EncodedResource(buf)
    }

    pub fn body(&self) -> &[u8] {
        &self.0
    }
}

/// An `InstrumentationScope` named `name` (the log bridge names scopes after the
/// event's target), written in one pass like the records.
pub fn put_scope(tag: u32, name: &str, scope: &InstrumentationScope, buf: &mut Buf) {
    put_nested(tag, 1, buf, |buf| {
        put_bytes(SCOPE_NAME, name.as_bytes(), buf);
        put_bytes(SCOPE_VERSION, scope.version().unwrap_or("").as_bytes(), buf);
        for kv in scope.attributes() {
            put_kv(SCOPE_ATTRIBUTES, kv.key.as_str(), &kv.value, buf);
        }
    });
}

/// Groups `items` by scope in first-seen order into `groups` (first index, members),
/// reusing its vectors' room: `same` says whether two items share a scope.
pub fn group_by_scope<T>(
    items: &[T],
    same: impl Fn(&T, &T) -> bool,
    groups: &mut Vec<(usize, Vec<usize>)>,
) {
    groups.clear();
    for (i, item) in items.iter().enumerate() {
        match groups
            .iter_mut()
            .find(|(first, _)| same(&items[*first], item))
        {
            Some((_, members)) => members.push(i),
            None => groups.push((i, vec![i])),
        }
    }
}
