//! End to end: a whole `check` run (200 random sequences, the CLI's default) against the
//! embedded server on loopback, against the limit of that server and the network: the very
//! same requests, recorded once, sent one after another by a plain reqwest loop that does not
//! sign, decode or check. All in one process, each run on a fresh server.
//!
//! A run's rate is its BatchGetImage probes (each one a checked case: a contract case, a
//! random sequence's request, the authentication probe) per second of the whole run; the
//! setup calls (repositories, layer uploads, pushes, deletes) between them are part of both
//! runs, so the ratio is the harness's own cost: signing, decoding, the model mirror, the
//! oracle and the generators.
//!
//! Not a criterion benchmark: criterion measures one benchmark for ten seconds, then the
//! next, and on a shared machine the load changed between them (one run put check at 29% of
//! the limit, the next at 69%). Here each round runs every variant once, interleaved, and a
//! ratio is the median of the ratios of the same round.
//!
//! `cargo bench --bench end_to_end` (`BENCH_ROUNDS`, default 10).

mod support;

use std::time::{Duration, Instant};

use std::sync::{Arc, Mutex};

use ecr_contract::serve::{Endpoint, spawn};
use ecr_contract::wire::CONTENT_TYPE;
use tokio::runtime::Runtime;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// The CLI's default number of random sequences.
const CASES: u32 = 200;
const SEED: u64 = 7;

/// One request as sent: its `X-Amz-Target` and body.
type Sent = (String, Vec<u8>);

/// The model's endpoint behind wiremock, keeping the status of every answer in order.
struct Recording {
    endpoint: Endpoint,
    statuses: Arc<Mutex<Vec<u16>>>,
}

impl Respond for Recording {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let reply = self.endpoint.handle(
            request.method.as_str(),
            request.url.path(),
            &request.headers,
            &request.body,
        );
        self.statuses
            .lock()
            .expect("not poisoned")
            .push(reply.status);
        ResponseTemplate::new(reply.status).set_body_raw(reply.body, CONTENT_TYPE)
    }
}

/// Runs `check` once against a wiremock server answering from the model, and returns every
/// request it sent, in order, the status each was answered with, and the number of probes.
async fn record() -> (Vec<Sent>, Vec<u16>, usize) {
    let server = MockServer::start().await;
    let statuses = Arc::new(Mutex::new(Vec::new()));
    let recording = Recording {
        endpoint: support::embedded(false).endpoint(),
        statuses: Arc::clone(&statuses),
    };
    Mock::given(method("POST"))
        .respond_with(recording)
        .mount(&server)
        .await;
    let report = support::check(&server.uri(), CASES, SEED).await;
    let sent: Vec<Sent> = server
        .received_requests()
        .await
        .expect("recording is on")
        .into_iter()
        // The AWS JSON API only: the registry API's ping (a GET, answered 404 here, so the
        // run finds no registry API) is not part of the traffic replayed.
        .filter(|r| r.method == wiremock::http::Method::POST)
        .map(|r| {
            let target = r.headers.get("x-amz-target").and_then(|v| v.to_str().ok());
            (target.unwrap_or_default().to_owned(), r.body)
        })
        .collect();
    let statuses = statuses.lock().expect("not poisoned").clone();
    assert_eq!(statuses.len(), sent.len(), "one status per request");
    (sent, statuses, report.probes)
}

/// Sends `requests` one after another and reads each answer, nothing more; returns the
/// status of each, which must be the recorded ones for the replay to be the same traffic.
async fn replay(client: &reqwest::Client, url: &str, requests: &[Sent]) -> Vec<u16> {
    let mut statuses = Vec::with_capacity(requests.len());
    for (target, body) in requests {
        let response = client
            .post(url)
            .header("content-type", CONTENT_TYPE)
            .header("x-amz-target", target)
            .body(body.clone())
            .send()
            .await
            .expect("an answer");
        statuses.push(response.status().as_u16());
        response.bytes().await.expect("a body");
    }
    statuses
}

/// The four ways of running the same traffic, in the order each round runs them.
const VARIANTS: [(&str, &str); 4] = [
    ("replay", "plain loop: same requests, unsigned (limit)"),
    ("check", "check, server not verifying"),
    ("check_unsigned", "check, unsigned (server not verifying)"),
    (
        "check_verifying",
        "check, server verifying (the CLI default)",
    ),
];

/// Runs variant `v` once on a fresh server (started untimed) and returns its wall time.
async fn run_once(
    v: usize,
    requests: &[Sent],
    recorded: &[u16],
    client: &reqwest::Client,
) -> Duration {
    let config = support::embedded(VARIANTS[v].0 == "check_verifying");
    let server = spawn(config).await.expect("the server starts");
    let url = server.url();
    let start = Instant::now();
    match VARIANTS[v].0 {
        "replay" => {
            let statuses = replay(client, &url, requests).await;
            let same = statuses
                .iter()
                .zip(recorded)
                .filter(|(a, b)| a == b)
                .count();
            assert_eq!(
                same,
                recorded.len(),
                "the replay answered otherwise than the recorded run"
            );
        }
        "check_unsigned" => drop(support::check_with(&url, CASES, SEED, None).await),
        _ => drop(support::check(&url, CASES, SEED).await),
    }
    let elapsed = start.elapsed();
    server.shutdown().await;
    elapsed
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

#[allow(clippy::print_stdout)]
fn main() {
    // As criterion: without `--bench` (`cargo test --benches`), or with `--test`, one round
    // shows that the benchmark works.
    let has = |flag: &str| std::env::args().any(|a| a == flag);
    let rounds = match !has("--bench") || has("--test") {
        true => 1,
        false => std::env::var("BENCH_ROUNDS")
            .ok()
            .and_then(|r| r.parse().ok())
            .unwrap_or(10),
    };
    let runtime = Runtime::new().expect("a runtime");
    let client = reqwest::Client::new();
    let (requests, recorded, probes) = runtime.block_on(record());
    // times[v][r]: variant v in round r. Each round runs every variant once, starting with
    // a different one, so that load from elsewhere falls on all of them alike.
    let mut times = vec![Vec::new(); VARIANTS.len()];
    for r in 0..rounds {
        for k in 0..VARIANTS.len() {
            let v = (r + k) % VARIANTS.len();
            let t = runtime.block_on(run_once(v, &requests, &recorded, &client));
            times[v].push(t.as_secs_f64());
        }
    }
    println!(
        "one check run, --cases {CASES} --seed {SEED}: {} requests, {probes} of them BatchGetImage probes; median of {rounds} interleaved rounds",
        requests.len()
    );
    println!(
        "{:<44} {:>10} {:>10} {:>9}",
        "", "per run", "probes/s", "of limit"
    );
    for (v, (_, name)) in VARIANTS.iter().enumerate() {
        let ratios = (0..rounds).map(|r| times[0][r] / times[v][r]).collect();
        let t = median(times[v].clone());
        println!(
            "{name:<44} {:>10} {:>10.0} {:>9.2}",
            support::time(Some(t * 1e9)),
            probes as f64 / t,
            median(ratios),
        );
    }
}
