//! Requests in flight, as a server sees them: a target limited to `w` writes and `r` reads
//! never has more of either open at once, however many its callers send together.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use ecr_contract::remote::HttpTarget;
use ecr_contract::wire::Operation;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

/// Requests open at the server now, and the most ever open, writes and reads apart.
#[derive(Default)]
struct Open {
    now: [AtomicUsize; 2],
    most: [AtomicUsize; 2],
}

/// A server that holds every request 30 ms before its empty JSON answer, counting what is
/// open: index 0 for reads (BatchGetImage), 1 for writes (anything else).
async fn counting_server() -> (String, Arc<Open>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let url = format!("http://{}", listener.local_addr().expect("an address"));
    let open = Arc::new(Open::default());
    let counts = Arc::clone(&open);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let open = Arc::clone(&counts);
            tokio::spawn(async move {
                let mut buffer = Vec::new();
                loop {
                    // One request: its head, then the body its Content-Length says.
                    let mut chunk = [0u8; 4096];
                    let head_end = loop {
                        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                            break end + 4;
                        }
                        match stream.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                        }
                    };
                    let head = String::from_utf8_lossy(&buffer[..head_end]).to_ascii_lowercase();
                    let length: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    while buffer.len() < head_end + length {
                        match stream.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                        }
                    }
                    buffer.drain(..head_end + length);
                    let kind = usize::from(!head.contains(".batchgetimage"));
                    let n = open.now[kind].fetch_add(1, Ordering::SeqCst) + 1;
                    open.most[kind].fetch_max(n, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(30)).await;
                    open.now[kind].fetch_sub(1, Ordering::SeqCst);
                    let answer = "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.1\r\ncontent-length: 2\r\n\r\n{}";
                    if stream.write_all(answer.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (url, open)
}

/// Sends 12 PutImage and 12 BatchGetImage through `target` all at once; the most writes and
/// reads the server saw open together.
async fn most_open(target: HttpTarget, url_open: &Open) -> (usize, usize) {
    let sends = (0..24).map(|i| {
        let operation = match i % 2 {
            0 => Operation::PutImage,
            _ => Operation::BatchGetImage,
        };
        let target = target.clone();
        async move {
            let exchange = target.send(operation, b"{}".to_vec()).await;
            assert_eq!(exchange.expect("an answer").status, 200);
        }
    });
    futures_util::future::join_all(sends).await;
    (
        url_open.most[1].load(Ordering::SeqCst),
        url_open.most[0].load(Ordering::SeqCst),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_keeps_writes_and_reads_in_flight_within_their_limits() {
    let (url, open) = counting_server().await;
    let target = HttpTarget::new(&url, "us-east-1", None, Duration::from_secs(10))
        .expect("a client")
        .in_flight(2, 5);
    assert_eq!(most_open(target, &open).await, (2, 5));
    // Without limits the same sends are all open at once: the limits are what held them.
    let (url, open) = counting_server().await;
    let target =
        HttpTarget::new(&url, "us-east-1", None, Duration::from_secs(10)).expect("a client");
    let (writes, reads) = most_open(target, &open).await;
    assert!(writes > 2 && reads > 5, "{writes} writes, {reads} reads");
}
