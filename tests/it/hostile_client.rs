//! `serve` against hostile clients, at the connection level: slow heads, trickled bodies,
//! idle connections, more connections than the cap, floods of header lines, shutdown with
//! half-open connections, and the binary's signals. Each test asserts the bound it names, at
//! and past it, with short bounds set through `Config::connection`.

use std::time::Duration;

use ecr_contract::serve::{
    Config, ConnectionLimits, Fault, MAX_HEAD_BYTES, MAX_HEADERS, Server, always, spawn,
};
use ecr_contract::wire::{CONTENT_TYPE, Operation};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout};

use crate::support::binary;

/// A bound under test, short so the suite runs in seconds.
const BOUND: Duration = Duration::from_secs(1);

/// Far above every bound under test: what "never" means here.
const NEVER: Duration = Duration::from_secs(60);

/// How long a test waits for what must happen within [`BOUND`]: generous, for a loaded machine.
const PATIENCE: Duration = Duration::from_secs(10);

/// Slack for timers firing a little early or the test's clock starting a little late.
const SLACK: Duration = Duration::from_millis(100);

/// A server whose bounds are all [`NEVER`] but those `limits` shortens.
async fn server(limits: impl FnOnce(&mut ConnectionLimits)) -> Server {
    let mut connection = ConnectionLimits {
        header_read_timeout: NEVER,
        body_timeout: NEVER,
        idle_timeout: NEVER,
        shutdown_deadline: NEVER,
        ..ConnectionLimits::default()
    };
    limits(&mut connection);
    spawn(Config {
        connection,
        ..Config::default()
    })
    .await
    .expect("serve starts")
}

/// The head of a DescribeRepositories request with a body of `length` bytes, and `extra`
/// header lines; four lines of its own.
fn head(length: usize, extra: &str) -> String {
    let target = Operation::DescribeRepositories.target();
    format!(
        "POST / HTTP/1.1\r\nhost: ecr\r\ncontent-type: {CONTENT_TYPE}\r\nx-amz-target: {target}\r\n\
         content-length: {length}\r\n{extra}\r\n"
    )
}

/// A whole DescribeRepositories request.
fn request() -> String {
    head(2, "") + "{}"
}

async fn connect(server: &Server) -> TcpStream {
    TcpStream::connect(server.addr()).await.expect("connects")
}

/// Reads one answer's head and body (by its content-length); `None` if the server closes first.
async fn answer(stream: &mut TcpStream) -> Option<String> {
    let mut bytes = Vec::new();
    let mut chunk = [0; 4096];
    loop {
        let text = String::from_utf8_lossy(&bytes).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length: ")?
                        .parse()
                        .ok()
                })
                .unwrap_or(0);
            if bytes.len() >= end + 4 + length {
                return Some(text);
            }
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => bytes.extend_from_slice(&chunk[..n]),
        }
    }
}

/// The status of the next answer on `stream`, within [`PATIENCE`].
async fn status(stream: &mut TcpStream) -> u16 {
    let text = timeout(PATIENCE, answer(stream))
        .await
        .expect("an answer in time")
        .expect("an answer, not a close");
    text[9..12].parse().expect("a status")
}

/// Waits for the server to close `stream`, reading and dropping what it sends; panics unless it
/// does within [`PATIENCE`] of `since`. Returns how long after `since` it closed.
async fn closed(stream: &mut TcpStream, since: Instant) -> Duration {
    let mut sink = [0; 4096];
    let drained = async { while !matches!(stream.read(&mut sink).await, Ok(0) | Err(_)) {} };
    timeout(PATIENCE, drained).await.expect("closed in time");
    since.elapsed()
}

#[tokio::test]
async fn half_a_request_head_is_closed_within_the_header_read_timeout() {
    let server = server(|l| l.header_read_timeout = BOUND).await;
    let mut slow = connect(&server).await;
    let start = Instant::now();
    slow.write_all(b"POST / HTTP/1.1\r\nhost: ecr\r\n")
        .await
        .expect("sent");
    let trickle = async {
        for i in 0.. {
            tokio::time::sleep(BOUND / 8).await;
            if slow
                .write_all(format!("x-{i}: 1\r\n").as_bytes())
                .await
                .is_err()
            {
                break;
            }
        }
    };
    let _ = timeout(PATIENCE, trickle).await;
    let elapsed = closed(&mut slow, start).await;
    assert!(elapsed >= BOUND - SLACK, "closed after {elapsed:?}");

    let mut in_time = connect(&server).await;
    let whole = request();
    let (first, rest) = whole.split_at(20);
    in_time.write_all(first.as_bytes()).await.expect("sent");
    tokio::time::sleep(BOUND / 2).await;
    in_time.write_all(rest.as_bytes()).await.expect("sent");
    assert_eq!(
        status(&mut in_time).await,
        200,
        "a head sent within the bound"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_trickled_body_is_cut_after_the_body_timeout() {
    let server = server(|l| l.body_timeout = BOUND).await;
    let mut slow = connect(&server).await;
    slow.write_all(head(1000, "").as_bytes())
        .await
        .expect("sent");
    let start = Instant::now();
    let trickle = async {
        for _ in 0..1000 {
            tokio::time::sleep(BOUND / 8).await;
            if slow.write_all(b" ").await.is_err() {
                break;
            }
        }
    };
    let _ = timeout(BOUND * 2, trickle).await;
    let text = timeout(PATIENCE, answer(&mut slow)).await.expect("in time");
    let text = text.expect("an answer before the close");
    assert!(text.starts_with("HTTP/1.1 400"), "{text}");
    assert!(text.contains("SerializationException") && text.contains("not received within"));
    let elapsed = closed(&mut slow, start).await;
    assert!(elapsed >= BOUND - SLACK, "cut after {elapsed:?}");

    let mut in_time = connect(&server).await;
    in_time
        .write_all(head(2, "").as_bytes())
        .await
        .expect("sent");
    tokio::time::sleep(BOUND / 2).await;
    in_time.write_all(b"{}").await.expect("sent");
    assert_eq!(
        status(&mut in_time).await,
        200,
        "a body sent within the bound"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn an_idle_connection_is_closed_after_the_idle_timeout_but_a_slow_answer_is_not() {
    let server = server(|l| l.idle_timeout = BOUND).await;
    let mut kept = connect(&server).await;
    kept.write_all(request().as_bytes()).await.expect("sent");
    assert_eq!(status(&mut kept).await, 200);
    let answered = Instant::now();
    let elapsed = closed(&mut kept, answered).await;
    assert!(elapsed >= BOUND - SLACK, "closed after {elapsed:?}");

    let mut silent = connect(&server).await;
    let connected = Instant::now();
    let elapsed = closed(&mut silent, connected).await;
    assert!(elapsed >= BOUND - SLACK, "closed after {elapsed:?}");

    server.endpoint().fault_on(
        Operation::DescribeRepositories,
        always(),
        Fault::Delay(BOUND * 2),
    );
    let mut waiting = connect(&server).await;
    waiting.write_all(request().as_bytes()).await.expect("sent");
    assert_eq!(
        status(&mut waiting).await,
        200,
        "an answer slower than the bound"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn connections_over_the_cap_wait_and_are_served_once_others_close() {
    let server = server(|l| l.max_connections = 2).await;
    let mut holders = vec![connect(&server).await, connect(&server).await];
    for holder in &mut holders {
        holder.write_all(request().as_bytes()).await.expect("sent");
        assert_eq!(status(holder).await, 200, "under the cap");
    }
    let mut waiting = connect(&server).await;
    waiting.write_all(request().as_bytes()).await.expect("sent");
    let early = timeout(BOUND, answer(&mut waiting)).await;
    assert!(early.is_err(), "served over the cap: {early:?}");
    holders.pop();
    assert_eq!(status(&mut waiting).await, 200, "served once a slot frees");
    server.shutdown().await;
}

#[tokio::test]
async fn header_lines_up_to_the_bound_are_served_and_past_it_answered_431() {
    let server = server(|_| {}).await;
    let lines = |n: usize| {
        (0..n)
            .map(|i| format!("x-pad-{i}: 1\r\n"))
            .collect::<String>()
    };
    for (extra, expected) in [(MAX_HEADERS - 4, 200), (MAX_HEADERS - 3, 431)] {
        let mut stream = connect(&server).await;
        let request = head(2, &lines(extra)) + "{}";
        stream.write_all(request.as_bytes()).await.expect("sent");
        assert_eq!(status(&mut stream).await, expected, "{} lines", extra + 4);
    }
    server.shutdown().await;
}

#[tokio::test]
async fn a_head_up_to_the_bound_is_served_and_past_it_answered_431() {
    let server = server(|_| {}).await;
    let bare = head(2, "x-pad: \r\n").len();
    for (size, expected) in [(MAX_HEAD_BYTES, 200), (MAX_HEAD_BYTES + 1, 431)] {
        let pad = format!("x-pad: {}\r\n", "p".repeat(size - bare));
        let request = head(2, &pad) + "{}";
        assert_eq!(request.len() - 2, size);
        let mut stream = connect(&server).await;
        stream.write_all(request.as_bytes()).await.expect("sent");
        assert_eq!(
            status(&mut stream).await,
            expected,
            "a head of {size} bytes"
        );
    }
    let mut endless = connect(&server).await;
    let start = Instant::now();
    let line = format!("POST / HTTP/1.1\r\nx-endless: {}", "e".repeat(1 << 20));
    let (mut read, mut write) = endless.split();
    let (_, text) = tokio::join!(write.write_all(line.as_bytes()), async {
        let mut bytes = Vec::new();
        let _ = timeout(PATIENCE, read.read_to_end(&mut bytes)).await;
        String::from_utf8_lossy(&bytes).into_owned()
    });
    assert!(
        start.elapsed() < PATIENCE,
        "a never-ending header line hangs"
    );
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 431"),
        "{text}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn shutdown_answers_requests_in_flight_and_closes_half_open_connections_by_the_deadline() {
    let server = server(|l| l.shutdown_deadline = BOUND).await;
    let mut half_open = Vec::new();
    for _ in 0..3 {
        let mut stream = connect(&server).await;
        stream
            .write_all(b"POST / HTTP/1.1\r\nhost: e")
            .await
            .expect("sent");
        half_open.push(stream);
    }
    // Answered, so accepted, and so are the half-open ones before it (the backlog is FIFO).
    let mut in_flight = connect(&server).await;
    in_flight
        .write_all(request().as_bytes())
        .await
        .expect("sent");
    assert_eq!(status(&mut in_flight).await, 200);
    server.endpoint().fault_on(
        Operation::DescribeRepositories,
        always(),
        Fault::Delay(BOUND / 2),
    );
    in_flight
        .write_all(request().as_bytes())
        .await
        .expect("sent");
    // Time for the request to reach the endpoint; its answer takes BOUND / 2 from there.
    tokio::time::sleep(BOUND / 4).await;
    let start = Instant::now();
    let (_, status) = tokio::join!(
        async {
            timeout(PATIENCE, server.shutdown())
                .await
                .expect("shutdown within the deadline");
        },
        status(&mut in_flight)
    );
    let elapsed = start.elapsed();
    assert_eq!(status, 200, "the request in flight is answered");
    assert!(elapsed >= BOUND - SLACK, "shut down after {elapsed:?}");
    for stream in &mut half_open {
        closed(stream, start).await;
    }
}

/// Starts the binary on a free loopback port, waiting for its URL.
fn serve_binary() -> (std::process::Child, String) {
    use std::io::{BufRead, BufReader};
    let mut child = binary()
        .args(["serve", "--port", "0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("serve starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("a line");
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"))
        .to_owned();
    (child, url)
}

/// Sends `signal` to `child` and waits (at most [`PATIENCE`] past `SHUTDOWN_DEADLINE`) for it
/// to exit; returns its exit status and stderr.
fn stop(mut child: std::process::Child, signal: &str) -> (Option<i32>, String) {
    use std::io::Read;
    let sent = std::process::Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success());
    let deadline = std::time::Instant::now() + ecr_contract::serve::SHUTDOWN_DEADLINE + PATIENCE;
    let exit = loop {
        if let Some(exit) = child.try_wait().expect("waits") {
            break exit;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("serve still running after {signal}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    let _ = child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr);
    (exit.code(), stderr)
}

#[test]
fn the_binary_exits_0_on_sigterm_with_a_half_open_connection() {
    let (child, url) = serve_binary();
    let address = url.trim_start_matches("http://");
    let mut half_open = std::net::TcpStream::connect(address).expect("connects");
    std::io::Write::write_all(&mut half_open, b"POST / HTTP/1.1\r\nhost: e").expect("sent");
    let (code, stderr) = stop(child, "-TERM");
    assert_eq!(code, Some(0), "{stderr}");
}

#[test]
fn the_binary_exits_0_on_sigint_and_warns_of_nothing_on_loopback() {
    let (child, _) = serve_binary();
    let (code, stderr) = stop(child, "-INT");
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
}

#[test]
fn the_binary_warns_when_its_host_is_not_loopback_and_signatures_are_not_verified() {
    // 192.0.2.1 (TEST-NET-1) is on no interface here: the bind fails after the warning, so
    // no port is opened beyond loopback.
    let output = binary()
        .args(["serve", "--host", "192.0.2.1", "--port", "0"])
        .output()
        .expect("serve runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr
            .contains("warning: --host 192.0.2.1 is not loopback and signatures are not verified")
            && stderr.contains("anyone who can reach the port can read and change"),
        "{stderr}"
    );
}
