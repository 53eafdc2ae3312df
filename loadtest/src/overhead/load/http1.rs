//! A minimal blocking HTTP/1.1 keep-alive client. The load generator shares a core with
//! the OTLP receiver, so it sends preformatted bytes and parses only the status line,
//! headers and body framing: nothing else costs CPU.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

pub struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    closed: bool,
}

pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

#[derive(Debug, PartialEq)]
enum Framing {
    Length(usize),
    Chunked,
}

#[derive(Debug, PartialEq)]
struct Head {
    status: u16,
    len: usize,
    framing: Framing,
    close: bool,
}

impl Conn {
    pub fn connect(addr: SocketAddr) -> io::Result<Conn> {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
        stream.set_nodelay(true)?;
        // A stuck server must fail the run, not hang the benchmark forever.
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        Ok(Conn {
            stream,
            buf: Vec::with_capacity(16 * 1024),
            closed: false,
        })
    }

    /// Sends one request and returns the status; the body is read and discarded.
    /// Err means the connection is unusable and must be replaced.
    pub fn status(&mut self, req: &[u8]) -> io::Result<u16> {
        self.exchange(req, false).map(|r| r.status)
    }

    /// Sends one request and returns status and body.
    pub fn request(&mut self, req: &[u8]) -> io::Result<Response> {
        self.exchange(req, true)
    }

    fn exchange(&mut self, req: &[u8], want_body: bool) -> io::Result<Response> {
        if self.closed {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "server sent connection: close",
            ));
        }
        self.stream.write_all(req)?;
        loop {
            if let Some(head) = parse_head(&self.buf)? {
                if let Some((consumed, body)) =
                    frame_body(&self.buf[head.len..], &head.framing, want_body)?
                {
                    self.buf.drain(..head.len + consumed);
                    // The response was served and counts; the connection is not reusable.
                    self.closed = head.close;
                    return Ok(Response {
                        status: head.status,
                        body,
                    });
                }
            }
            self.fill()?;
        }
    }

    fn fill(&mut self) -> io::Result<()> {
        let mut chunk = [0u8; 16 * 1024];
        let n = self.stream.read(&mut chunk)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed mid-response",
            ));
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }
}

fn parse_head(buf: &[u8]) -> io::Result<Option<Head>> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut resp = httparse::Response::new(&mut headers);
    let len = match resp.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e.to_string())),
    };
    let status = resp.code.unwrap_or(0);
    let mut framing = Framing::Length(0);
    let mut close = false;
    for h in resp.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            let n = std::str::from_utf8(h.value)
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "bad content-length"))?;
            framing = Framing::Length(n);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding")
            && contains_token(h.value, b"chunked")
        {
            framing = Framing::Chunked;
        } else if h.name.eq_ignore_ascii_case("connection") && contains_token(h.value, b"close") {
            close = true;
        }
    }
    Ok(Some(Head {
        status,
        len,
        framing,
        close,
    }))
}

fn contains_token(value: &[u8], token: &[u8]) -> bool {
    value
        .split(|b| *b == b',')
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(token))
}

/// Some((bytes consumed, body)) once the whole body is in `buf`.
fn frame_body(
    buf: &[u8],
    framing: &Framing,
    want_body: bool,
) -> io::Result<Option<(usize, Vec<u8>)>> {
    match framing {
        Framing::Length(n) => Ok((buf.len() >= *n).then(|| {
            let body = if want_body {
                buf[..*n].to_vec()
            } else {
                Vec::new()
            };
            (*n, body)
        })),
        Framing::Chunked => dechunk(buf),
    }
}

fn dechunk(buf: &[u8]) -> io::Result<Option<(usize, Vec<u8>)>> {
    let mut pos = 0;
    let mut body = Vec::new();
    loop {
        let Some(eol) = find_crlf(&buf[pos..]) else {
            return Ok(None);
        };
        let size_line = &buf[pos..pos + eol];
        let hex = size_line.split(|b| *b == b';').next().unwrap_or(b"");
        let size = std::str::from_utf8(hex)
            .ok()
            .and_then(|s| usize::from_str_radix(s.trim(), 16).ok())
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "bad chunk size"))?;
        pos += eol + 2;
        if size == 0 {
            // Trailers (rare) end with an empty line; without trailers that is just CRLF.
            loop {
                let Some(eol) = find_crlf(&buf[pos..]) else {
                    return Ok(None);
                };
                pos += eol + 2;
                if eol == 0 {
                    return Ok(Some((pos, body)));
                }
            }
        }
        if buf.len() < pos + size + 2 {
            return Ok(None);
        }
        body.extend_from_slice(&buf[pos..pos + size]);
        pos += size + 2;
    }
}

fn find_crlf(b: &[u8]) -> Option<usize> {
    b.windows(2).position(|w| w == b"\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_length_response() {
        let raw = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 15\r\n\r\n{\"status\":\"ok\"}";
        let head = parse_head(raw).unwrap().unwrap();
        assert_eq!(head.status, 200);
        assert_eq!(head.framing, Framing::Length(15));
        let (used, body) = frame_body(&raw[head.len..], &head.framing, true)
            .unwrap()
            .unwrap();
        assert_eq!(used, 15);
        assert_eq!(body, b"{\"status\":\"ok\"}");
        assert!(
            frame_body(&raw[head.len..raw.len() - 1], &head.framing, true)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn partial_head_waits() {
        assert!(parse_head(b"HTTP/1.1 201 Created\r\ncontent-le")
            .unwrap()
            .is_none());
    }

    #[test]
    fn chunked_response() {
        let raw = b"HTTP/1.1 201 Created\r\ntransfer-encoding: chunked\r\nconnection: keep-alive\r\n\r\n4\r\n{\"id\r\n6;ext=1\r\n\":\"a\"}\r\n0\r\n\r\nHTTP/1.1";
        let head = parse_head(raw).unwrap().unwrap();
        assert_eq!(head.status, 201);
        assert_eq!(head.framing, Framing::Chunked);
        assert!(!head.close);
        let rest = &raw[head.len..];
        let (used, body) = frame_body(rest, &head.framing, true).unwrap().unwrap();
        assert_eq!(body, b"{\"id\":\"a\"}");
        assert_eq!(&rest[used..], b"HTTP/1.1");
        assert!(dechunk(&rest[..rest.len() - 12]).unwrap().is_none());
    }

    #[test]
    fn connection_close_is_noticed() {
        let raw = b"HTTP/1.1 503 Service Unavailable\r\nConnection: keep-alive, Close\r\ncontent-length: 0\r\n\r\n";
        let head = parse_head(raw).unwrap().unwrap();
        assert!(head.close);
        assert_eq!(head.status, 503);
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(parse_head(b"SSH-2.0-OpenSSH\r\n\r\n").is_err());
    }
}
