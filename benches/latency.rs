//! Latency: a `check` run against the embedded server as the CLI starts it (verifying
//! signatures), with 0, 20 and 150 ms added before every answer (`Fault::Delay` on every
//! request), to show what a remote endpoint costs a run that sends its requests one after
//! another. For each run: the requests the server received, per operation, and the wall
//! time. One more run at 20 ms is paced at ECR's quotas, as `check` paces an endpoint off
//! this machine, to show what pacing costs a run that sends one request at a time.
//!
//! A default run (200 random sequences) at 150 ms takes about a quarter of an hour, so the
//! delayed runs use fewer random sequences by default (`BENCH_LATENCY_CASES`, default 10),
//! and the full run's time at each latency is extrapolated from the delayed run's time per
//! request and the request count of a full run at 0 ms (`BENCH_CASES`, default 200). Set
//! `BENCH_LATENCY_CASES=200` to measure the full runs instead.
//!
//! `cargo bench --bench latency` (runs only when named).

mod support;

use std::time::{Duration, Instant};

use ecr_contract::Suite;
use ecr_contract::check::REMOTE_JOBS;
use ecr_contract::remote::Rates;
use ecr_contract::serve::{Fault, always, spawn};
use ecr_contract::strategy::REGION;
use ecr_contract::wire::Credentials;
use ecr_contract::wire::Operation;

const SEED: u64 = 7;
const LATENCIES_MS: [u64; 3] = [0, 20, 150];

/// One measured run: its random sequences, requests per operation, probes and wall time.
struct Run {
    cases: u32,
    requests: Vec<(Operation, u64)>,
    probes: usize,
    wall: Duration,
}

impl Run {
    fn total(&self) -> u64 {
        self.requests.iter().map(|(_, n)| n).sum()
    }

    fn of(&self, operation: Operation) -> u64 {
        self.requests
            .iter()
            .find(|(o, _)| *o == operation)
            .map_or(0, |(_, n)| *n)
    }
}

async fn measure(delay: Duration, cases: u32) -> Run {
    measure_at(delay, cases, &Rates::unlimited(), 1).await
}

/// As [`measure`], with requests paced at `rates` and `jobs` parts of the run at once.
async fn measure_at(delay: Duration, cases: u32, rates: &Rates, jobs: usize) -> Run {
    let server = spawn(support::embedded(true))
        .await
        .expect("the server starts");
    if !delay.is_zero() {
        server
            .endpoint()
            .fault_on_any(always(), Fault::Delay(delay));
    }
    let start = Instant::now();
    let suite = Suite::new(server.url())
        .region(REGION)
        .credentials(Credentials::placeholder())
        .timeout(Duration::from_secs(30))
        .cases(cases)
        .seed(SEED)
        .rates(rates.clone())
        .jobs(jobs);
    let probes = support::check_suite(suite).await.probes;
    let wall = start.elapsed();
    let requests = Operation::ALL
        .iter()
        .map(|op| (*op, server.endpoint().requests(*op)))
        .filter(|(_, n)| *n > 0)
        .collect();
    server.shutdown().await;
    Run {
        cases,
        requests,
        probes,
        wall,
    }
}

fn env(name: &str, default: u32) -> u32 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[allow(clippy::print_stdout)]
fn main() {
    // As criterion: without `--bench` (`cargo test --benches`), or with `--test`, one small
    // run per latency shows that the benchmark works.
    let has = |flag: &str| std::env::args().any(|a| a == flag);
    let testing = !has("--bench") || has("--test");
    let (full_cases, delayed_cases, latencies) = match testing {
        true => (2, 1, &LATENCIES_MS[..2]),
        false => (
            env("BENCH_CASES", 200),
            env("BENCH_LATENCY_CASES", 10),
            &LATENCIES_MS[..],
        ),
    };
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let full = runtime.block_on(measure(Duration::ZERO, full_cases));
    println!(
        "check --cases {} --seed {SEED} against the embedded server at 0 ms: {} requests, {} probes, {:.2} s",
        full.cases,
        full.total(),
        full.probes,
        full.wall.as_secs_f64()
    );
    for (operation, n) in &full.requests {
        println!(
            "  {:<28} {n:>6} {:>5.1}%",
            operation.name(),
            100.0 * *n as f64 / full.total() as f64
        );
    }
    println!(
        "  BatchGetImage share {:.1}%, PutImage {}",
        100.0 * full.of(Operation::BatchGetImage) as f64 / full.total() as f64,
        full.of(Operation::PutImage)
    );
    println!(
        "\n{:>8} {:>7} {:>5} {:>6} {:>9} {:>10} {:>13} {:>22}",
        "latency",
        "pacing",
        "jobs",
        "cases",
        "requests",
        "wall (s)",
        "ms/request",
        "full run (s, extrap.)"
    );
    let (paced, unlimited) = (Rates::ecr_quotas(), Rates::unlimited());
    // One at a time, then eight at once as against an endpoint off this machine.
    let runs = latencies
        .iter()
        .flat_map(|&ms| [(ms, false, 1), (ms, false, REMOTE_JOBS)])
        .chain([(20, true, REMOTE_JOBS)]);
    for (ms, pace, jobs) in runs {
        let delay = Duration::from_millis(ms);
        let rates = if pace { &paced } else { &unlimited };
        let run = runtime.block_on(measure_at(delay, delayed_cases, rates, jobs));
        let per_request = run.wall.as_secs_f64() / run.total() as f64;
        let extrapolated = match run.cases == full.cases {
            true => "measured".to_owned(),
            false => format!("{:.0}", per_request * full.total() as f64),
        };
        println!(
            "{:>6}ms {:>7} {:>5} {:>6} {:>9} {:>10.2} {:>13.2} {:>22}",
            ms,
            if pace { "ECR" } else { "none" },
            jobs,
            run.cases,
            run.total(),
            run.wall.as_secs_f64(),
            per_request * 1e3,
            extrapolated
        );
    }
}
