//! The attributes every request of one route and method shares (its
//! `http.request.method`, `http.route`, and for spans `url.scheme`), encoded once
//! per (route, method) and copied into each record: encoding them field by field
//! cost about 120 instructions an attribute on the export thread.

use std::collections::HashMap;

use super::proto::Buf;

/// At most this many blocks are kept: the routes are the router's templates and
/// the methods a fixed set, so a live service stays far below it; past it the
/// attributes are encoded as they come.
const MAX_BLOCKS: usize = 1_024;

/// Encoded attribute blocks by the span name of their route and method (leaked
/// once per pair by `telemetry::route`, so its address names the pair).
#[derive(Debug, Default)]
pub struct RouteAttributes {
    blocks: HashMap<usize, Block, rustc_hash::FxBuildHasher>,
}

#[derive(Debug)]
struct Block {
    method: &'static str,
    route: Box<str>,
    bytes: Box<[u8]>,
}

impl RouteAttributes {
    /// Writes what `encode` writes for `method` and `route`: the block kept
    /// under `name` when it was made for the same pair, else `encode`'s bytes
    /// (kept for the next record of the pair).
    pub fn put(
        &mut self,
        name: &'static str,
        method: &'static str,
        route: &str,
        buf: &mut Buf,
        encode: impl FnOnce(&mut Buf),
    ) {
        let key = name.as_ptr() as usize;
        if let Some(block) = self.blocks.get(&key) {
            // The pair is checked, not assumed: a name is only a hint.
            if block.method == method && &*block.route == route {
                buf.extend_from_slice(&block.bytes);
                return;
            }
        }
        let start = buf.len();
        encode(buf);
        if self.blocks.len() < MAX_BLOCKS && !self.blocks.contains_key(&key) {
            self.blocks.insert(
                key,
                Block {
                    method,
                    route: route.into(),
                    bytes: buf[start..].into(),
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode<'a>(method: &'a str, route: &'a str) -> impl FnOnce(&mut Buf) + 'a {
        move |buf: &mut Buf| {
            buf.extend_from_slice(method.as_bytes());
            buf.push(b' ');
            buf.extend_from_slice(route.as_bytes());
        }
    }

    #[test]
    fn a_block_is_reused_only_for_its_own_method_and_route() {
        let mut blocks = RouteAttributes::default();
        let name: &'static str = "GET /a";
        let cases = [
            ("GET", "/a", "GET /a"),
            ("GET", "/a", "GET /a"),   // from the block
            ("POST", "/a", "POST /a"), // same name, other method: encoded
            ("GET", "/b", "GET /b"),   // same name, other route: encoded
            ("GET", "/a", "GET /a"),
        ];
        for (method, route, expected) in cases {
            let mut buf = b"head|".to_vec();
            blocks.put(name, method, route, &mut buf, encode(method, route));
            assert_eq!(
                buf,
                format!("head|{expected}").as_bytes(),
                "{method} {route}"
            );
        }
        assert_eq!(blocks.blocks.len(), 1);
        // A kept block is copied without calling the encoder.
        let mut buf = Vec::new();
        blocks.put(name, "GET", "/a", &mut buf, |_| panic!("encoded again"));
        assert_eq!(buf, b"GET /a");
    }

    #[test]
    fn the_blocks_are_bounded() {
        let mut blocks = RouteAttributes::default();
        let names: Vec<&'static str> = (0..MAX_BLOCKS + 10)
            .map(|i| &*Box::leak(format!("GET /r{i}").into_boxed_str()))
            .collect();
        for name in &names {
            let mut buf = Vec::new();
            blocks.put(name, "GET", &name[4..], &mut buf, encode("GET", &name[4..]));
            assert_eq!(buf, name.as_bytes());
        }
        assert_eq!(blocks.blocks.len(), MAX_BLOCKS);
    }
}
