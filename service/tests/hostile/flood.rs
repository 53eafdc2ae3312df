//! Header and body floods over real TCP (the app served in-process by
//! `Application::run_until_stopped`, hyper included): oversized bodies 413,
//! oversized header sets 431, slow clients 408 or closed, and normal requests
//! keep being answered quickly while slow clients hold connections.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use alertingscout::startup::Application;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

use crate::support;

struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The app on a random port with these read timeouts and its own database.
async fn serve(header_timeout: u64, body_timeout: u64) -> Server {
    let mut settings = support::settings();
    let dir = tempfile::tempdir().expect("temp dir");
    settings.database = dir.path().join("flood.sqlite");
    // The directory lives as long as the process (the server task may outlive the test body).
    std::mem::forget(dir);
    settings.header_read_timeout_seconds = header_timeout;
    settings.body_read_timeout_seconds = body_timeout;
    let app = Application::build(&settings, support::telemetry())
        .await
        .expect("app");
    let addr = app.local_addr().expect("address");
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(app.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    Server {
        addr,
        stop: Some(stop),
    }
}

/// What came back on a connection before it closed (or `wait` passed).
struct Raw {
    status: Option<u16>,
    head: String,
    body: Vec<u8>,
    closed: bool,
}

impl Raw {
    fn parse(bytes: &[u8], closed: bool) -> Raw {
        let split = bytes.windows(4).position(|w| w == b"\r\n\r\n");
        let (head, body) = match split {
            Some(at) => (&bytes[..at], bytes[at + 4..].to_vec()),
            None => (bytes, Vec::new()),
        };
        let head = String::from_utf8_lossy(head).into_owned();
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse::<u16>().ok());
        Raw {
            status,
            head,
            body,
            closed,
        }
    }

    fn json_error_code(&self) -> Option<String> {
        let body: serde_json::Value = serde_json::from_slice(&self.body).ok()?;
        body["error"]["code"].as_str().map(str::to_owned)
    }
}

/// Writes `request` (write errors ignored: the server may answer and close
/// before reading it all) and reads until the server closes or `wait` passes.
async fn exchange(addr: SocketAddr, request: Vec<u8>, wait: Duration) -> Raw {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (mut reader, mut writer) = stream.into_split();
    let writing = tokio::spawn(async move {
        let _ = writer.write_all(&request).await;
        // Kept open until the reader is done: a half-close is not a client going away.
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(writer);
    });
    let raw = read_until_closed(&mut reader, wait).await;
    writing.abort();
    raw
}

async fn read_until_closed(reader: &mut tokio::net::tcp::OwnedReadHalf, wait: Duration) -> Raw {
    let mut bytes = Vec::new();
    let mut buf = [0u8; 8192];
    let deadline = Instant::now() + wait;
    let closed = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, reader.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break true,
            Ok(Ok(n)) => bytes.extend_from_slice(&buf[..n]),
            Err(_) => break false,
        }
    };
    Raw::parse(&bytes, closed)
}

fn head(method: &str, path: &str, extra: &[String], content_length: Option<usize>) -> Vec<u8> {
    let mut head = format!("{method} {path} HTTP/1.1\r\nhost: test\r\nconnection: close\r\n");
    if let Some(length) = content_length {
        head.push_str(&format!(
            "content-type: application/json\r\ncontent-length: {length}\r\n"
        ));
    }
    for line in extra {
        head.push_str(line);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    head.into_bytes()
}

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn oversized_bodies_get_413_with_a_json_body() {
    let server = serve(10, 10).await;
    let body = format!("{{\"name\":\"{}\"}}", "x".repeat(70_000));
    let mut request = head("POST", "/projects", &[], Some(body.len()));
    request.extend(body.as_bytes());
    let raw = exchange(server.addr, request, WAIT).await;
    assert_eq!(raw.status, Some(413), "{}", raw.head);
    assert_eq!(raw.json_error_code().as_deref(), Some("payload_too_large"));

    // Chunked, no length announced: counted as it arrives.
    let mut request = b"POST /projects HTTP/1.1\r\nhost: test\r\nconnection: close\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..20 {
        request.extend(format!("{:x}\r\n{}\r\n", 4096, "x".repeat(4096)).as_bytes());
    }
    request.extend(b"0\r\n\r\n");
    let raw = exchange(server.addr, request, WAIT).await;
    assert_eq!(raw.status, Some(413), "{}", raw.head);
    assert_eq!(raw.json_error_code().as_deref(), Some("payload_too_large"));
}

#[tokio::test]
async fn oversized_header_sets_get_431() {
    let server = serve(10, 10).await;
    // Over our 16 KiB limit, under hyper's: our JSON 431.
    let big: Vec<String> = (0..40)
        .map(|i| format!("x-filler-{i}: {}", "a".repeat(500)))
        .collect();
    let raw = exchange(server.addr, head("GET", "/health", &big, None), WAIT).await;
    assert_eq!(raw.status, Some(431), "{}", raw.head);
    assert_eq!(raw.json_error_code().as_deref(), Some("headers_too_large"));

    // More than hyper's 100 headers, or a head past its ~400 KiB buffer:
    // hyper answers 431 itself, before any layer runs, without a body, and
    // closes the connection.
    let many: Vec<String> = (0..150).map(|i| format!("x-h{i}: v")).collect();
    let raw = exchange(server.addr, head("GET", "/health", &many, None), WAIT).await;
    assert_eq!(raw.status, Some(431), "{}", raw.head);
    assert!(raw.body.is_empty() && raw.closed, "{:?}", raw.body);
    let huge = vec![format!("x-huge: {}", "a".repeat(500_000))];
    let raw = exchange(server.addr, head("GET", "/health", &huge, None), WAIT).await;
    assert_eq!(raw.status, Some(431), "{}", raw.head);
    assert!(raw.closed);
}

/// Sends `bytes` one per `every`, stopping at the first write error (the
/// server closed).
async fn dribble(writer: &mut tokio::net::tcp::OwnedWriteHalf, bytes: &[u8], every: Duration) {
    for byte in bytes {
        if writer.write_all(&[*byte]).await.is_err() {
            return;
        }
        tokio::time::sleep(every).await;
    }
}

#[tokio::test]
async fn a_body_sent_one_byte_a_second_gets_408_and_the_connection_closes() {
    let server = serve(10, 1).await;
    let body = br#"{"name":"slow client"}"#;
    let stream = TcpStream::connect(server.addr).await.expect("connect");
    let (mut reader, mut writer) = stream.into_split();
    writer
        .write_all(&head("POST", "/projects", &[], Some(body.len())))
        .await
        .expect("head");
    let started = Instant::now();
    let sending =
        tokio::spawn(async move { dribble(&mut writer, body, Duration::from_secs(1)).await });
    let raw = read_until_closed(&mut reader, WAIT).await;
    sending.abort();
    assert_eq!(raw.status, Some(408), "{}", raw.head);
    assert_eq!(raw.json_error_code().as_deref(), Some("request_timeout"));
    assert!(raw.head.to_ascii_lowercase().contains("connection: close"));
    assert!(raw.closed, "the connection is closed after the 408");
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(5), "408 after {elapsed:?}");
    println!("slow body: 408 after {elapsed:?}");
}

#[tokio::test]
async fn headers_sent_one_byte_a_second_are_cut_off_without_a_response() {
    let server = serve(1, 10).await;
    let stream = TcpStream::connect(server.addr).await.expect("connect");
    let (mut reader, mut writer) = stream.into_split();
    let started = Instant::now();
    let sending = tokio::spawn(async move {
        let request = head("GET", "/health", &[], None);
        dribble(&mut writer, &request, Duration::from_secs(1)).await
    });
    let raw = read_until_closed(&mut reader, WAIT).await;
    sending.abort();
    let elapsed = started.elapsed();
    // hyper has no 408 for a header timeout: it closes the connection, and
    // the client sees the connection end without a response.
    assert!(raw.closed, "still open after {elapsed:?}");
    assert_eq!(raw.status, None, "{}", raw.head);
    assert!(elapsed < Duration::from_secs(4), "closed after {elapsed:?}");
    println!("slow headers: closed without a response after {elapsed:?}");
}

#[tokio::test]
async fn normal_requests_stay_fast_while_slow_clients_dribble() {
    const SLOW_HEADERS: usize = 100;
    const SLOW_BODIES: usize = 50;
    const REQUESTS: usize = 50;
    // Timeouts longer than the test: every slow client holds its connection
    // throughout.
    let server = serve(60, 60).await;
    let mut slow = Vec::new();
    for i in 0..SLOW_HEADERS + SLOW_BODIES {
        let stream = TcpStream::connect(server.addr).await.expect("connect");
        let (reader, mut writer) = stream.into_split();
        slow.push(tokio::spawn(async move {
            let _reader = reader;
            if i < SLOW_HEADERS {
                let request = head("GET", "/health", &[], None);
                dribble(&mut writer, &request, Duration::from_secs(1)).await;
            } else {
                let body = br#"{"name":"a slow body of a few dozen bytes, one a second"}"#;
                let _ = writer
                    .write_all(&head("POST", "/projects", &[], Some(body.len())))
                    .await;
                dribble(&mut writer, body, Duration::from_secs(1)).await;
            }
        }));
    }
    // Let every slow client get going.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let client = reqwest::Client::new();
    let mut worst = Duration::ZERO;
    for i in 0..REQUESTS {
        let started = Instant::now();
        let response = if i % 2 == 0 {
            client
                .get(format!("http://{}/health", server.addr))
                .send()
                .await
        } else {
            client
                .post(format!("http://{}/projects", server.addr))
                .json(&serde_json::json!({"name": "while others dribble"}))
                .send()
                .await
        }
        .expect("answered");
        assert!(response.status().is_success(), "{}", response.status());
        worst = worst.max(started.elapsed());
    }
    println!(
        "{REQUESTS} normal requests beside {} slow clients: slowest {worst:?}",
        SLOW_HEADERS + SLOW_BODIES
    );
    assert!(
        worst < support::SLOW_REQUEST,
        "a normal request took {worst:?}"
    );
    for task in slow {
        task.abort();
    }
}

#[tokio::test]
async fn an_idle_keep_alive_connection_closes_after_the_header_read_timeout() {
    let server = serve(1, 10).await;
    let stream = TcpStream::connect(server.addr).await.expect("connect");
    let (mut reader, mut writer) = stream.into_split();
    writer
        .write_all(b"GET /health HTTP/1.1\r\nhost: test\r\n\r\n")
        .await
        .expect("request");
    // The response, then nothing: the wait for the next request's head is
    // what the timeout bounds, so an idle connection goes too.
    let started = Instant::now();
    let raw = read_until_closed(&mut reader, WAIT).await;
    let elapsed = started.elapsed();
    assert_eq!(raw.status, Some(200), "{}", raw.head);
    assert!(raw.closed, "still open after {elapsed:?}");
    assert!(elapsed < Duration::from_secs(4), "closed after {elapsed:?}");
    println!("idle keep-alive: closed after {elapsed:?}");
}
