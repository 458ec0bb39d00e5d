//! `serve` under hostile load, in one process on loopback:
//!
//! - throughput: well-behaved clients (keep-alive, one request after another) for a window
//!   with no slow connection, then for a window with [`SLOW`] connections that each hold half
//!   a request head open, adding a header line now and then, and reconnecting when the server
//!   cuts them. Each round runs both windows, interleaved; the ratio printed is the median of
//!   the rounds' ratios (`with / without`; at least 0.8 is the aim).
//! - soak: clients pushing and deleting images for `BENCH_SOAK_SECONDS` (default 20), the
//!   process's resident memory (`/proc/self/statm`) sampled every second.
//!
//! Not a criterion benchmark, and not run by `cargo bench`: `cargo bench --bench hostile`
//! (`BENCH_ROUNDS`, default 3; `BENCH_SOAK_SECONDS`).

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ecr_contract::serve::{Config, Server, spawn};
use ecr_contract::wire::{CONTENT_TYPE, Operation};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// Slow connections in the hostile window.
const SLOW: usize = 300;

/// Well-behaved clients, each on its own keep-alive connection.
const CLIENTS: usize = 8;

/// How long each window measures.
const WINDOW: Duration = Duration::from_secs(8);

/// How often a slow connection adds a header line: well inside the header-read timeout, so
/// only that timeout (not the idle one) cuts it.
const TRICKLE: Duration = Duration::from_secs(1);

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(async {
        let server = spawn(Config::default()).await.expect("serve starts");
        throughput(&server).await;
        soak(&server).await;
        server.shutdown().await;
    });
}

async fn throughput(server: &Server) {
    let rounds = env_number("BENCH_ROUNDS", 3);
    let mut ratios = Vec::new();
    for round in 0..rounds {
        let calm = well_behaved(server).await;
        let stop = Arc::new(AtomicBool::new(false));
        let slow: Vec<_> = (0..SLOW)
            .map(|_| tokio::spawn(slow_connection(server.addr(), Arc::clone(&stop))))
            .collect();
        tokio::time::sleep(TRICKLE).await;
        let hostile = well_behaved(server).await;
        stop.store(true, Ordering::SeqCst);
        for task in slow {
            let _ = task.await;
        }
        let ratio = hostile / calm;
        println!(
            "round {round}: {calm:.0} requests/s alone, {hostile:.0} with {SLOW} slow connections: {ratio:.2}"
        );
        ratios.push(ratio);
    }
    ratios.sort_by(f64::total_cmp);
    println!(
        "hostile/throughput: median ratio {:.2} over {rounds} rounds",
        ratios[ratios.len() / 2]
    );
}

/// Requests per second [`CLIENTS`] well-behaved clients get through in a [`WINDOW`].
async fn well_behaved(server: &Server) -> f64 {
    let done = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (url, done) = (server.url(), Arc::clone(&done));
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                while start.elapsed() < WINDOW {
                    let (status, _) =
                        call(&client, &url, Operation::DescribeRepositories, "{}").await;
                    assert_eq!(status, 200);
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for client in clients {
        client.await.expect("a client");
    }
    done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

/// Holds half a request head open until `stop`, reconnecting when the server cuts it.
async fn slow_connection(addr: std::net::SocketAddr, stop: Arc<AtomicBool>) {
    let mut line = 0u64;
    while !stop.load(Ordering::SeqCst) {
        let Ok(mut stream) = TcpStream::connect(addr).await else {
            tokio::time::sleep(TRICKLE).await;
            continue;
        };
        let mut sent = stream.write_all(b"POST / HTTP/1.1\r\nhost: ecr\r\n").await;
        while sent.is_ok() && !stop.load(Ordering::SeqCst) {
            tokio::time::sleep(TRICKLE).await;
            line += 1;
            sent = stream
                .write_all(format!("x-{line}: 1\r\n").as_bytes())
                .await;
        }
    }
}

async fn call(client: &reqwest::Client, url: &str, op: Operation, body: &str) -> (u16, String) {
    let response = client
        .post(url)
        .header("content-type", CONTENT_TYPE)
        .header("x-amz-target", op.target())
        .body(body.to_owned())
        .send()
        .await
        .expect("an answer");
    let status = response.status().as_u16();
    (status, response.text().await.expect("a body"))
}

/// Pushes and deletes for `BENCH_SOAK_SECONDS`, printing resident memory as it goes.
async fn soak(server: &Server) {
    let seconds = env_number("BENCH_SOAK_SECONDS", 20);
    let client = reqwest::Client::new();
    let url = server.url();
    let create = r#"{"repositoryName":"soak/app"}"#;
    call(&client, &url, Operation::CreateRepository, create).await;
    let stop = Arc::new(AtomicBool::new(false));
    let pushes = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..CLIENTS as u64)
        .map(|worker| {
            tokio::spawn(push_and_delete(
                url.clone(),
                worker,
                Arc::clone(&stop),
                Arc::clone(&pushes),
            ))
        })
        .collect();
    let start = Instant::now();
    let mut samples = Vec::new();
    while start.elapsed() < Duration::from_secs(seconds) {
        tokio::time::sleep(Duration::from_secs(1)).await;
        samples.push(support::resident_kib());
    }
    stop.store(true, Ordering::SeqCst);
    for worker in workers {
        worker.await.expect("a worker");
    }
    let warm = samples[samples.len() / 10];
    let last = samples[samples.len() - 1];
    let peak = samples.iter().copied().max().unwrap_or(0);
    println!(
        "hostile/soak: {} pushes and as many deletes in {seconds} s; resident {warm} KiB after {} s, peak {peak} KiB, last {last} KiB ({:+.1}% from the first)",
        pushes.load(Ordering::Relaxed),
        samples.len() / 10 + 1,
        (last as f64 / warm as f64 - 1.0) * 100.0,
    );
}

async fn push_and_delete(url: String, worker: u64, stop: Arc<AtomicBool>, pushes: Arc<AtomicU64>) {
    let client = reqwest::Client::new();
    let mut i = 0u64;
    while !stop.load(Ordering::SeqCst) {
        i += 1;
        let manifest = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"x","size":{i},"digest":"sha256:00"}},"layers":[]}}"#
        );
        let tag = format!("w{worker}-{i}");
        let put = serde_json::json!({"repositoryName": "soak/app", "imageTag": tag, "imageManifest": manifest});
        let (status, body) = call(&client, &url, Operation::PutImage, &put.to_string()).await;
        assert_eq!(status, 200, "{body}");
        let delete =
            serde_json::json!({"repositoryName": "soak/app", "imageIds": [{"imageTag": tag}]});
        let (status, body) = call(
            &client,
            &url,
            Operation::BatchDeleteImage,
            &delete.to_string(),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        pushes.fetch_add(1, Ordering::Relaxed);
    }
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
