//! The endpoints under test and their preformatted requests.

use std::fmt;
use std::io::Write;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Endpoint {
    /// GET /health: the cheapest route, so telemetry's share is the largest.
    Health,
    /// POST /projects: JSON parsing, validation, an SQLite insert and a DB child span.
    CreateProject,
    /// GET /projects/{id}: a read with a DB child span.
    GetProject,
}

impl FromStr for Endpoint {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "health" => Ok(Endpoint::Health),
            "post" => Ok(Endpoint::CreateProject),
            "get" => Ok(Endpoint::GetProject),
            other => Err(format!(
                "unknown endpoint {other:?} (expected health, post or get)"
            )),
        }
    }
}

impl Endpoint {
    /// What one answered request yields with telemetry on, as (spans, log records):
    /// the server span and the access record, plus on POST /projects the database span
    /// and "project created", on GET /projects/{id} the database span.
    pub fn records_per_request(self) -> (u64, u64) {
        match self {
            Endpoint::Health => (1, 1),
            Endpoint::CreateProject => (2, 2),
            Endpoint::GetProject => (2, 1),
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Endpoint::Health => "GET /health",
            Endpoint::CreateProject => "POST /projects",
            Endpoint::GetProject => "GET /projects/{id}",
        })
    }
}

/// Builds request bytes. GET requests are formatted once; POST bodies carry a sequence
/// number (the name the brief asks for) and are written into a reused buffer.
#[derive(Clone, Debug)]
pub struct RequestBuilder {
    endpoint: Endpoint,
    fixed: Vec<u8>,
    host: String,
}

impl RequestBuilder {
    /// `project_id` is required for GetProject (the id of a project created beforehand).
    pub fn new(endpoint: Endpoint, host: &str, project_id: Option<&str>) -> RequestBuilder {
        let fixed = match endpoint {
            Endpoint::Health => get("/health", host),
            Endpoint::GetProject => get(&format!("/projects/{}", project_id.unwrap_or("0")), host),
            Endpoint::CreateProject => Vec::new(),
        };
        RequestBuilder {
            endpoint,
            fixed,
            host: host.to_owned(),
        }
    }

    /// The request for sequence number `seq`, valid until the next call.
    pub fn build<'a>(&'a self, seq: u64, scratch: &'a mut Vec<u8>) -> &'a [u8] {
        match self.endpoint {
            Endpoint::Health | Endpoint::GetProject => &self.fixed,
            Endpoint::CreateProject => {
                scratch.clear();
                create_project(&self.host, seq, scratch);
                scratch
            }
        }
    }
}

fn get(path: &str, host: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nhost: {host}\r\nx-user-id: bench\r\n\r\n").into_bytes()
}

pub fn create_project(host: &str, seq: u64, out: &mut Vec<u8>) {
    let mut body = [0u8; 128];
    let mut cursor = std::io::Cursor::new(&mut body[..]);
    // 128 bytes hold any u64; a write error is impossible, and a short body still parses.
    let _ = write!(
        cursor,
        "{{\"name\":\"bench project {seq}\",\"description\":\"overhead benchmark\"}}"
    );
    let len = cursor.position() as usize;
    let _ = write!(
        out,
        "POST /projects HTTP/1.1\r\nhost: {host}\r\nx-user-id: bench\r\ncontent-type: application/json\r\ncontent-length: {len}\r\n\r\n"
    );
    out.extend_from_slice(&body[..len]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn post_request_is_well_formed() {
        let b = RequestBuilder::new(Endpoint::CreateProject, "127.0.0.1:9", None);
        let mut scratch = Vec::new();
        let raw = b.build(42, &mut scratch).to_vec();
        let mut headers = [httparse::EMPTY_HEADER; 8];
        let mut req = httparse::Request::new(&mut headers);
        let httparse::Status::Complete(n) = req.parse(&raw).unwrap() else {
            panic!("partial")
        };
        assert_eq!(req.method, Some("POST"));
        let body: serde_json::Value = serde_json::from_slice(&raw[n..]).unwrap();
        assert_eq!(body["name"], "bench project 42");
        let cl = req
            .headers
            .iter()
            .find(|h| h.name == "content-length")
            .unwrap();
        assert_eq!(
            std::str::from_utf8(cl.value).unwrap(),
            (raw.len() - n).to_string()
        );
    }

    #[test]
    fn get_by_id_uses_the_id() {
        let b = RequestBuilder::new(Endpoint::GetProject, "h", Some("abc"));
        let mut scratch = Vec::new();
        assert!(b
            .build(0, &mut scratch)
            .starts_with(b"GET /projects/abc HTTP/1.1\r\n"));
    }

    #[test]
    fn parses_names() {
        assert_eq!("post".parse::<Endpoint>(), Ok(Endpoint::CreateProject));
        assert!("put".parse::<Endpoint>().is_err());
    }
}
