//! BatchGetImage throughput of `ecr-contract serve` against `moto_server`, side by side in
//! one run: the same load generator (reqwest, 32 concurrent requests in flight), the same
//! seeded state, the same requests, both servers in their own process on loopback.
//!
//! `cargo bench --bench serve_vs_moto` (needs moto in target/py: see tests/clients/requirements.txt).
//! `BENCH_SECONDS` sets the measuring time per server (default 5).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const CONCURRENCY: usize = 32;
const TARGET: &str = "AmazonEC2ContainerRegistry_V20150921";

struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_serve() -> (Process, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ecr-contract"))
        .args(["serve", "--port", "0"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("ecr-contract serve starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("a line");
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("a URL")
        .to_owned();
    (Process(child), url)
}

fn start_moto() -> (Process, String) {
    let moto = concat!(env!("CARGO_MANIFEST_DIR"), "/target/py/bin/moto_server");
    assert!(
        std::path::Path::new(moto).exists(),
        "{moto} is missing: python3 -m venv target/py && target/py/bin/pip install -r tests/clients/requirements.txt"
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("a free port")
        .local_addr()
        .expect("addr")
        .port();
    let child = Command::new(moto)
        .args(["-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("moto starts");
    (Process(child), format!("http://127.0.0.1:{port}"))
}

async fn call(
    client: &reqwest::Client,
    url: &str,
    operation: &str,
    body: &Value,
) -> Result<(u16, Value), reqwest::Error> {
    let response = client
        .post(url)
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", format!("{TARGET}.{operation}"))
        // moto reads the region from the credential scope; the signature is not checked.
        .header("authorization", "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/ecr/aws4_request, SignedHeaders=host, Signature=0")
        .body(serde_json::to_vec(body).expect("JSON"))
        .send()
        .await?;
    let status = response.status().as_u16();
    let bytes = response.bytes().await?;
    Ok((
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    ))
}

async fn wait_until_up(client: &reqwest::Client, url: &str) {
    for _ in 0..200 {
        if call(client, url, "DescribeRepositories", &json!({}))
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{url} did not come up");
}

/// The same state on both servers: one repository, a Docker schema 2 image with two tags.
async fn seed(client: &reqwest::Client, url: &str) -> String {
    call(
        client,
        url,
        "CreateRepository",
        &json!({"repositoryName": "bench/app"}),
    )
    .await
    .expect("create");
    let manifest = ecr_contract::strategy::fixture()
        .image("s2")
        .expect("s2")
        .manifest
        .clone();
    for tag in ["v1", "latest"] {
        let body = json!({"repositoryName": "bench/app", "imageManifest": manifest, "imageTag": tag,
                          "imageManifestMediaType": "application/vnd.docker.distribution.manifest.v2+json"});
        let (status, answer) = call(client, url, "PutImage", &body).await.expect("put");
        assert_eq!(status, 200, "{answer}");
    }
    ecr_contract::model::ImageDigest::of(manifest.as_bytes()).to_string()
}

/// Requests per second over `seconds`, and the mean latency.
async fn measure(url: &str, seconds: u64, digest: &str) -> (f64, Duration) {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CONCURRENCY)
        .build()
        .expect("client");
    let body = json!({"repositoryName": "bench/app", "imageIds": [{"imageTag": "v1"}, {"imageDigest": digest}, {"imageTag": "absent"}]});
    let done = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let start = Instant::now();
    let workers: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let (client, url, body, done, errors) = (
                client.clone(),
                url.to_owned(),
                body.clone(),
                done.clone(),
                errors.clone(),
            );
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    match call(&client, &url, "BatchGetImage", &body).await {
                        Ok((200, answer))
                            if answer["images"].as_array().is_some_and(|i| !i.is_empty()) =>
                        {
                            done.fetch_add(1, Ordering::Relaxed)
                        }
                        _ => errors.fetch_add(1, Ordering::Relaxed),
                    };
                }
            })
        })
        .collect();
    for w in workers {
        w.await.expect("worker");
    }
    let elapsed = start.elapsed();
    let (done, errors) = (done.load(Ordering::Relaxed), errors.load(Ordering::Relaxed));
    assert_eq!(errors, 0, "{url}: {errors} requests failed");
    #[allow(clippy::cast_precision_loss)]
    let rate = done as f64 / elapsed.as_secs_f64();
    let latency =
        elapsed * u32::try_from(CONCURRENCY).unwrap_or(1) / u32::try_from(done.max(1)).unwrap_or(1);
    (rate, latency)
}

/// The model's share: answering and encoding the benchmark's request in-process, per request.
fn model_time_per_request() -> Duration {
    use ecr_contract::model::{Profile, batch_get_image};
    let fixture = ecr_contract::strategy::fixture();
    let registry = ecr_contract::strategy::build_registry(&fixture.calls());
    let digest = fixture.image("s2").expect("s2").digest.clone();
    let request = ecr_contract::wire::BatchGetImageRequest {
        repository_name: Some("team/app".into()),
        image_ids: Some(vec![
            ecr_contract::wire::ImageIdentifier::tag("v1"),
            ecr_contract::wire::ImageIdentifier::digest(digest),
            ecr_contract::wire::ImageIdentifier::tag("absent"),
        ]),
        ..Default::default()
    };
    let rounds = 100_000u32;
    let start = Instant::now();
    for _ in 0..rounds {
        let answer =
            batch_get_image(&registry, std::hint::black_box(&request)).answer(&Profile::default());
        std::hint::black_box(serde_json::to_vec(&answer.ok()).expect("encodes"));
    }
    start.elapsed() / rounds
}

#[allow(clippy::print_stdout)]
fn main() {
    let seconds: u64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let client = reqwest::Client::new();
        let (_serve, serve_url) = start_serve();
        let (_moto, moto_url) = start_moto();
        wait_until_up(&client, &serve_url).await;
        wait_until_up(&client, &moto_url).await;
        let serve_digest = seed(&client, &serve_url).await;
        let moto_digest = seed(&client, &moto_url).await;
        // Warm both up, then measure each alone.
        measure(&serve_url, 1, &serve_digest).await;
        measure(&moto_url, 1, &moto_digest).await;
        let (serve_rate, serve_latency) = measure(&serve_url, seconds, &serve_digest).await;
        let (moto_rate, moto_latency) = measure(&moto_url, seconds, &moto_digest).await;
        println!("BatchGetImage, 3 ids per request, {CONCURRENCY} in flight, {seconds} s each, loopback, same load generator");
        println!("ecr-contract serve: {serve_rate:>9.0} requests/s   mean latency {serve_latency:?}");
        println!("moto_server:        {moto_rate:>9.0} requests/s   mean latency {moto_latency:?}");
        println!("ratio serve/moto:   {:>9.1}", serve_rate / moto_rate);
        let model = model_time_per_request();
        let per_request = Duration::from_secs_f64(1.0 / serve_rate);
        println!(
            "model + encoding:   {model:?} per request, {:.0}% of serve's {per_request:?} per request at full load",
            100.0 * model.as_secs_f64() / per_request.as_secs_f64()
        );
    });
}
