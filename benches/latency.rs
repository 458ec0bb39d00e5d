//! Latency and spend: a default `check` run (its push budget, no `--cases`) against the
//! embedded server as the CLI starts it (verifying signatures), with 0, 20 and 150 ms added
//! before every answer (`Fault::Delay` on every request), at `--jobs` 1, 8 and 32. It prints:
//!
//! - the requests a default run sends, per operation, as its report states them (registry API
//!   requests included), with BatchGetImage's share and the PutImage count;
//! - the time ECR's published quotas alone impose on those counts (`Rates::ecr_quotas`):
//!   each operation's count over its rate, the slowest operation bounding the run;
//! - the wall time at each latency and `--jobs`;
//! - a failing run at 150 ms (`--jobs 8`; every seventh BatchGetImage answer cut in half,
//!   `Fault::Truncate`): its wall time beside the passing run's, the difference being what
//!   shrinking and the replay of the shrunk sequence cost; then how many calls the shrunk
//!   sequence has and how many candidates the shrinking loop's path took (its cap, 256 on
//!   loopback, is said).
//!
//! `cargo bench --bench latency` (runs only when named); `BENCH_LATENCY_CASES=N` runs `N`
//! random sequences instead of the budget's; `BENCH_SHRINK_ONLY=1` runs only the passing
//! and the failing run at 150 ms with `--jobs 8`.

mod support;

use std::time::{Duration, Instant};

use ecr_contract::Suite;
use ecr_contract::check::REMOTE_JOBS;
use ecr_contract::remote::Rates;
use ecr_contract::serve::{Fault, always, every, spawn};
use ecr_contract::strategy::REGION;
use ecr_contract::wire::Credentials;
use ecr_contract::wire::Operation;

const SEED: u64 = 7;
const LATENCIES_MS: [u64; 3] = [0, 20, 150];
const JOBS: [usize; 3] = [1, REMOTE_JOBS, 32];

/// One measured run: requests per operation as the report states them, probes, random
/// sequences, wall time.
struct Run {
    spent: Vec<(String, u64)>,
    probes: usize,
    sequences: u32,
    failed: bool,
    /// The shrinking of a failing run, as its report tells it: the calls of the shrunk
    /// sequence, the candidates on the loop's path when the replay names them, whether the
    /// cap stopped it.
    shrunk: Option<(String, Option<usize>, bool)>,
    wall: Duration,
}

impl Run {
    fn total(&self) -> u64 {
        self.spent.iter().map(|(_, n)| n).sum()
    }

    fn of(&self, operation: Operation) -> u64 {
        self.spent
            .iter()
            .find(|(o, _)| o == operation.name())
            .map_or(0, |(_, n)| *n)
    }
}

/// A run with every answer delayed by `delay`, `jobs` parts at once, unpaced; `failing`: every
/// seventh BatchGetImage answer is cut in half.
async fn measure(delay: Duration, cases: Option<u32>, jobs: usize, failing: bool) -> Run {
    let server = spawn(support::embedded(true))
        .await
        .expect("the server starts");
    // The first fault that applies to a request wins: the cut answers come undelayed.
    if failing {
        server
            .endpoint()
            .fault_on(Operation::BatchGetImage, every(7), Fault::Truncate);
    }
    if !delay.is_zero() {
        server
            .endpoint()
            .fault_on_any(always(), Fault::Delay(delay));
    }
    let start = Instant::now();
    let mut suite = Suite::new(server.url())
        .region(REGION)
        .credentials(Credentials::placeholder())
        .timeout(Duration::from_secs(30))
        .seed(SEED)
        .rates(Rates::unlimited())
        .jobs(jobs);
    if let Some(cases) = cases {
        suite = suite.cases(cases);
    }
    let report = match failing {
        true => suite.run().await.expect("the run completes"),
        false => support::check_suite(suite).await,
    };
    let wall = start.elapsed();
    server.shutdown().await;
    let shrunk = shrinking(&report);
    let mut spent: Vec<(String, u64)> = report.spent.into_iter().collect();
    spent.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    Run {
        spent,
        probes: report.probes,
        sequences: report.property_cases,
        failed: !report.findings.is_empty(),
        shrunk,
        wall,
    }
}

/// How `report`'s failing sequence was shrunk: its number of calls (from the note), and the
/// candidates on the loop's path, from the scope of the replay (numbered after the random
/// sequences and one per candidate on the path), known only when the replay failed again
/// (the cut answers are every seventh, so it may not); `None` when nothing was shrunk.
fn shrinking(report: &ecr_contract::report::Report) -> Option<(String, Option<usize>, bool)> {
    let note = report
        .notes
        .iter()
        .find_map(|n| n.strip_prefix("random phase: a failing sequence, shrunk to "))?;
    let calls = note.split(' ').next().unwrap_or_default().to_owned();
    let replay: Option<usize> = report
        .findings
        .iter()
        .find_map(|f| f.probe.strip_prefix("random sequence p"))
        .and_then(|p| p.split(',').next())
        .and_then(|n| n.parse().ok());
    let path = replay.map(|r| r - report.property_cases as usize - 1);
    Some((calls, path, report.shrinking_capped))
}

fn env(name: &str) -> Option<u32> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// The seconds ECR's quotas alone impose on `run`: per operation, its count over its
/// published rate; the slowest operation bounds the run, whatever the concurrency.
#[allow(clippy::print_stdout)]
fn quota_time(run: &Run) -> f64 {
    let quotas = Rates::ecr_quotas();
    let mut slowest = 0.0f64;
    for operation in Operation::ALL {
        let (n, rate) = (run.of(operation), quotas.of(operation));
        if let (true, Some(rate)) = (n > 0, rate) {
            let seconds = n as f64 / rate;
            println!(
                "  {:<28} {n:>6} at {rate:>6}/s: {seconds:>6.1} s",
                operation.name()
            );
            slowest = slowest.max(seconds);
        }
    }
    slowest
}

#[allow(clippy::print_stdout)]
fn main() {
    // As criterion: without `--bench` (`cargo test --benches`), or with `--test`, one small
    // run per latency shows that the benchmark works.
    let has = |flag: &str| std::env::args().any(|a| a == flag);
    let testing = !has("--bench") || has("--test");
    let (cases, latencies, jobs): (Option<u32>, &[u64], &[usize]) = match testing {
        true => (Some(2), &LATENCIES_MS[..2], &JOBS[..2]),
        false => (env("BENCH_LATENCY_CASES"), &LATENCIES_MS[..], &JOBS[..]),
    };
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let full = runtime.block_on(measure(Duration::ZERO, cases, 1, false));
    println!(
        "check --seed {SEED} ({} random sequences) against the embedded server at 0 ms: {} requests, {} probes, {:.2} s",
        full.sequences,
        full.total(),
        full.probes,
        full.wall.as_secs_f64()
    );
    for (operation, n) in &full.spent {
        println!(
            "  {operation:<28} {n:>6} {:>5.1}%",
            100.0 * *n as f64 / full.total() as f64
        );
    }
    println!(
        "  BatchGetImage share {:.1}%, PutImage {}",
        100.0 * full.of(Operation::BatchGetImage) as f64 / full.total() as f64,
        full.of(Operation::PutImage)
    );
    println!("\nthe time ECR's quotas alone impose on these counts:");
    println!("  at least {:.1} s", quota_time(&full));
    println!(
        "\n{:>8} {:>5} {:>9} {:>10} {:>13}",
        "latency", "jobs", "requests", "wall (s)", "ms/request"
    );
    let mut passing_150_8 = None;
    // `BENCH_SHRINK_ONLY=1`: only the passing and the failing run at 150 ms, --jobs 8.
    let (latencies, jobs) = match env("BENCH_SHRINK_ONLY") {
        Some(1) if !testing => (&LATENCIES_MS[2..], &JOBS[1..2]),
        _ => (latencies, jobs),
    };
    for &ms in latencies {
        for &j in jobs {
            let run = runtime.block_on(measure(Duration::from_millis(ms), cases, j, false));
            println!(
                "{:>6}ms {:>5} {:>9} {:>10.2} {:>13.2}",
                ms,
                j,
                run.total(),
                run.wall.as_secs_f64(),
                1e3 * run.wall.as_secs_f64() / run.total() as f64
            );
            if ms == 150 && j == REMOTE_JOBS {
                passing_150_8 = Some(run.wall);
            }
        }
    }
    if let Some(passing) = passing_150_8 {
        let failing = runtime.block_on(measure(
            Duration::from_millis(150),
            cases,
            REMOTE_JOBS,
            true,
        ));
        assert!(failing.failed, "the failing run fails");
        println!(
            "\na failing run at 150 ms, --jobs {REMOTE_JOBS}: {:.2} s, {} requests; passing: {:.2} s; shrinking and replay: {:.2} s",
            failing.wall.as_secs_f64(),
            failing.total(),
            passing.as_secs_f64(),
            failing.wall.as_secs_f64() - passing.as_secs_f64()
        );
        let (calls, path, capped) = failing.shrunk.clone().expect("the failing run shrinks");
        let path = path.map_or("?".to_owned(), |p| p.to_string());
        println!(
            "  shrunk to {calls} calls after {path} candidates on the loop's path{}",
            if capped { " (its cap)" } else { "" }
        );
    }
}
