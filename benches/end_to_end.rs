//! End to end: a whole `check` run (200 random sequences, the CLI's default) against the
//! embedded server on loopback, against the limit of that server and the network: the very
//! same requests, recorded once, sent one after another by a plain reqwest loop that does not
//! sign, decode or check. Both in one process, each on a fresh server.
//!
//! A run's rate is its BatchGetImage probes (each one a checked case: a contract case, a
//! random sequence's request, the authentication probe) per second of the whole run; the
//! setup calls (repositories, layer uploads, pushes, deletes) between them are part of both
//! runs, so the ratio is the harness's own cost: signing, decoding, the model mirror, the
//! oracle and the generators.
//!
//! `cargo bench --bench end_to_end`

mod support;

use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode};
use ecr_contract::serve::{Config, Responder, spawn};
use ecr_contract::wire::CONTENT_TYPE;
use tokio::runtime::Runtime;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer};

/// The CLI's default number of random sequences.
const CASES: u32 = 200;
const SEED: u64 = 7;

/// One request as sent: its `X-Amz-Target` and body.
type Sent = (String, Vec<u8>);

/// Runs `check` once against a wiremock server answering from the model, and returns every
/// request it sent, in order, with the number of probes.
async fn record() -> (Vec<Sent>, usize) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(Responder::new(support::embedded(false).endpoint()))
        .mount(&server)
        .await;
    let report = support::check(&server.uri(), CASES, SEED).await;
    let sent = server
        .received_requests()
        .await
        .expect("recording is on")
        .into_iter()
        .map(|r| {
            let target = r.headers.get("x-amz-target").and_then(|v| v.to_str().ok());
            (target.unwrap_or_default().to_owned(), r.body)
        })
        .collect();
    (sent, report.probes)
}

/// Sends `requests` one after another and reads each answer, nothing more; returns how many
/// were answered 200.
async fn replay(client: &reqwest::Client, url: &str, requests: &[Sent]) -> usize {
    let mut ok = 0;
    for (target, body) in requests {
        let response = client
            .post(url)
            .header("content-type", CONTENT_TYPE)
            .header("x-amz-target", target)
            .body(body.clone())
            .send()
            .await
            .expect("an answer");
        ok += usize::from(response.status() == 200);
        response.bytes().await.expect("a body");
    }
    ok
}

/// Times `iters` runs of `job`, each on a fresh server started (untimed) from `config`.
fn timed<F, Fut>(runtime: &Runtime, config: &Config, iters: u64, job: F) -> Duration
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = ()>,
{
    runtime.block_on(async {
        let mut total = Duration::ZERO;
        for _ in 0..iters {
            let server = spawn(config.clone()).await.expect("the server starts");
            let start = Instant::now();
            job(server.url()).await;
            total += start.elapsed();
            server.shutdown().await;
        }
        total
    })
}

fn end_to_end(c: &mut Criterion, runtime: &Runtime, requests: &[Sent]) {
    let mut group = c.benchmark_group("end_to_end");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8));
    let client = &reqwest::Client::new();
    let plain = support::embedded(false);
    group.bench_function("replay", |b| {
        b.iter_custom(|iters| {
            timed(runtime, &plain, iters, |url| async move {
                assert!(replay(client, &url, requests).await > 0);
            })
        });
    });
    group.bench_function("check", |b| {
        b.iter_custom(|iters| {
            timed(runtime, &plain, iters, |url| async move {
                support::check(&url, CASES, SEED).await;
            })
        });
    });
    // The harness's cost without SigV4 signing (the server does not verify).
    group.bench_function("check_unsigned", |b| {
        b.iter_custom(|iters| {
            timed(runtime, &plain, iters, |url| async move {
                support::check_with(&url, CASES, SEED, None).await;
            })
        });
    });
    // The CLI's default: the server verifies every signature.
    group.bench_function("check_verifying", |b| {
        b.iter_custom(|iters| {
            timed(runtime, &support::embedded(true), iters, |url| async move {
                support::check(&url, CASES, SEED).await;
            })
        });
    });
    group.finish();
}

#[allow(clippy::print_stdout)]
fn main() {
    let estimates = support::Estimates::start();
    let runtime = Runtime::new().expect("a runtime");
    let (requests, probes) = runtime.block_on(record());
    let mut criterion = Criterion::default().configure_from_args();
    end_to_end(&mut criterion, &runtime, &requests);
    criterion.final_summary();
    println!(
        "\none check run, --cases {CASES} --seed {SEED}: {} requests, {probes} of them BatchGetImage probes",
        requests.len()
    );
    println!(
        "{:<44} {:>10} {:>10} {:>9}",
        "", "per run", "probes/s", "of limit"
    );
    let limit = estimates.nanos("end_to_end/replay");
    for (name, id) in [
        ("plain loop: same requests, unsigned (limit)", "replay"),
        ("check, server not verifying", "check"),
        ("check, unsigned (server not verifying)", "check_unsigned"),
        (
            "check, server verifying (the CLI default)",
            "check_verifying",
        ),
    ] {
        let nanos = estimates.nanos(&format!("end_to_end/{id}"));
        let rate = nanos.map(|t| probes as f64 * 1e9 / t);
        println!(
            "{name:<44} {:>10} {:>10} {:>9}",
            support::time(nanos),
            rate.map_or("-".into(), |r| format!("{r:.0}")),
            support::ratio(limit, nanos),
        );
    }
}
