//! `serve` taking a push through the registry API, against the plain-HTTP limit, in one
//! process on loopback:
//!
//! - the push: an image of [`LAYERS`] layers of 10 MiB, each uploaded in 5 MiB chunks (`POST`,
//!   two `PATCH`es, `PUT ?digest=`), then its manifest, as `docker push` and skopeo do;
//! - the limit: the same chunks sent with the same client to a server that reads and discards
//!   them.
//!
//! It prints the median of [`BENCH_ROUNDS`] rounds of each, their ratio (`limit / push`: at
//! least 0.5 is the aim), and the peak resident memory (`/proc/self/statm`) while
//! [`CLIENTS`] clients push at once into a `serve` whose byte budget is
//! [`BUDGET`]: memory is bounded by the budget, not by the image size times the clients.
//!
//! Not a criterion benchmark, and not run by `cargo bench`: `cargo bench --bench push`
//! (`BENCH_ROUNDS`, default 3).

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ecr_contract::model::{ImageDigest, Limits};
use ecr_contract::serve::{Config, STATE_LIMITS, spawn};
use ecr_contract::wire::{CONTENT_TYPE, Operation};

/// Layers of the image pushed.
const LAYERS: usize = 10;
/// The size of a layer: 10 MiB.
const LAYER: usize = 10 * 1024 * 1024;
/// The chunk size: 5 MiB, ECR's smallest part.
const CHUNK: usize = 5 * 1024 * 1024;
/// Clients pushing at once in the memory run.
const CLIENTS: usize = 4;
/// The byte budget of the memory run: 256 MiB, less than the clients' images together.
const BUDGET: u64 = 256 * 1024 * 1024;

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(async {
        let rounds = std::env::var("BENCH_ROUNDS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(3usize);
        let layers: Vec<Vec<u8>> = (0..LAYERS).map(|i| layer(i as u8)).collect();
        let sink = discard_server().await;
        let (mut pushes, mut limits) = (Vec::new(), Vec::new());
        for round in 0..rounds {
            let server = spawn(Config::default()).await.expect("serve starts");
            let started = Instant::now();
            push(&server.url(), &format!("bench/round{round}"), &layers)
                .await
                .expect("the push");
            pushes.push(started.elapsed());
            server.shutdown().await;
            let started = Instant::now();
            discard(&sink, &layers).await;
            limits.push(started.elapsed());
        }
        let (push_time, limit_time) = (median(&mut pushes), median(&mut limits));
        let mib = (LAYERS * LAYER) as f64 / (1024.0 * 1024.0);
        println!(
            "push of {LAYERS} x 10 MiB in 5 MiB chunks: {:.0} ms ({:.0} MiB/s); discarding server: {:.0} ms ({:.0} MiB/s); ratio {:.2}",
            push_time.as_secs_f64() * 1e3,
            mib / push_time.as_secs_f64(),
            limit_time.as_secs_f64() * 1e3,
            mib / limit_time.as_secs_f64(),
            limit_time.as_secs_f64() / push_time.as_secs_f64()
        );
        memory(Arc::new(layers)).await;
    });
}

/// A layer of [`LAYER`] bytes that differs with `seed`.
fn layer(seed: u8) -> Vec<u8> {
    (0..LAYER)
        .map(|i| (i as u8).wrapping_mul(31) ^ seed)
        .collect()
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// The repository `name` created, then every layer pushed in chunks and the manifest PUT;
/// the first refusal, if any.
async fn push(url: &str, name: &str, layers: &[Vec<u8>]) -> Result<(), String> {
    let url = url.to_owned();
    let http = reqwest::Client::new();
    let aws = |operation: Operation, body: String| {
        http.post(&url)
            .header("content-type", CONTENT_TYPE)
            .header("x-amz-target", operation.target())
            .body(body)
            .send()
    };
    let create = serde_json::json!({"repositoryName": name}).to_string();
    aws(Operation::CreateRepository, create)
        .await
        .expect("created");
    let token = aws(Operation::GetAuthorizationToken, "{}".into())
        .await
        .expect("a token")
        .json::<serde_json::Value>()
        .await
        .expect("JSON");
    let token = token["authorizationData"][0]["authorizationToken"]
        .as_str()
        .expect("a token")
        .to_owned();
    let auth = format!("Basic {token}");
    let mut digests = Vec::new();
    for bytes in layers {
        let started = http
            .post(format!("{url}/v2/{name}/blobs/uploads/"))
            .header("authorization", &auth)
            .send()
            .await
            .expect("started");
        let mut location = location(&url, &started);
        for (i, chunk) in bytes.chunks(CHUNK).enumerate() {
            let start = i * CHUNK;
            let answer = http
                .patch(&location)
                .header("authorization", &auth)
                .header(
                    "content-range",
                    format!("{start}-{}", start + chunk.len() - 1),
                )
                .body(chunk.to_vec())
                .send()
                .await
                .expect("a chunk");
            if !answer.status().is_success() {
                return Err(format!("a chunk: HTTP {}", answer.status()));
            }
            location = self::location(&url, &answer);
        }
        let digest = ImageDigest::of(bytes).to_string();
        let done = http
            .put(format!("{location}?digest={digest}"))
            .header("authorization", &auth)
            .send()
            .await
            .expect("completed");
        if done.status() != 201 {
            return Err(format!("completing: HTTP {}", done.status()));
        }
        digests.push(digest);
    }
    let descriptor = |d: &str| serde_json::json!({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d, "size": LAYER});
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digests[0], "size": LAYER},
        "layers": digests.iter().map(|d| descriptor(d)).collect::<Vec<_>>(),
    });
    let put = http
        .put(format!("{url}/v2/{name}/manifests/v1"))
        .header("authorization", &auth)
        .header("content-type", "application/vnd.oci.image.manifest.v1+json")
        .body(manifest.to_string())
        .send()
        .await
        .expect("the manifest");
    match put.status().as_u16() {
        201 => Ok(()),
        status => Err(format!("the manifest: HTTP {status}")),
    }
}

fn location(url: &str, answer: &reqwest::Response) -> String {
    let location = answer
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("a Location");
    match location.starts_with('/') {
        true => format!("{url}{location}"),
        false => location.to_owned(),
    }
}

/// A server that reads each request's body whole and answers `202`.
async fn discard_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let url = format!("http://{}", listener.local_addr().expect("an address"));
    let app = axum::Router::new().fallback(|body: axum::body::Bytes| async move {
        std::hint::black_box(body.len());
        axum::http::StatusCode::ACCEPTED
    });
    let app = app.layer(axum::extract::DefaultBodyLimit::disable());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// The push's chunks sent to the discarding server.
async fn discard(url: &str, layers: &[Vec<u8>]) {
    let http = reqwest::Client::new();
    for bytes in layers {
        for chunk in bytes.chunks(CHUNK) {
            let answer = http
                .patch(format!("{url}/upload"))
                .body(chunk.to_vec())
                .send()
                .await
                .expect("discarded");
            assert_eq!(answer.status(), 202);
        }
    }
}

/// Peak resident memory while [`CLIENTS`] push at once under a [`BUDGET`] byte budget (the
/// pushes past it are refused, and that is the point).
async fn memory(layers: Arc<Vec<Vec<u8>>>) {
    let before = support::resident_kib() * 1024;
    let server = spawn(Config {
        limits: Limits {
            stored_bytes: BUDGET,
            ..STATE_LIMITS
        },
        ..Config::default()
    })
    .await
    .expect("serve starts");
    let peak = Arc::new(AtomicU64::new(before));
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, stop) = (Arc::clone(&peak), Arc::clone(&stop));
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                peak.fetch_max(support::resident_kib() * 1024, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let pushes: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let (url, layers) = (server.url(), Arc::clone(&layers));
            tokio::spawn(async move { push(&url, &format!("bench/client{i}"), &layers).await })
        })
        .collect();
    let mut refused = 0;
    for push in pushes {
        refused += usize::from(!matches!(push.await, Ok(Ok(()))));
    }
    stop.store(true, Ordering::SeqCst);
    let _ = sampler.join();
    let stored = server.endpoint().registry().usage().stored_bytes;
    println!(
        "{CLIENTS} clients pushing {} MiB each under a {} MiB budget ({refused} refused): {} MiB stored; resident memory {} MiB before, {} MiB at the peak (the layers the clients send, 100 MiB, included)",
        LAYERS * LAYER / (1024 * 1024),
        BUDGET / (1024 * 1024),
        stored / (1024 * 1024),
        before / (1024 * 1024),
        peak.load(Ordering::SeqCst) / (1024 * 1024)
    );
    server.shutdown().await;
}
