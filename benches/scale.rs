//! Scale: how the time of a `check` run grows with `--cases`, against the embedded server as
//! the CLI starts it. Each size runs `BENCH_RUNS` times (default 3) on a fresh server and the
//! median is kept. A run of 10,000 cases takes minutes, so this is not a criterion benchmark
//! (criterion would take ten samples and a warm-up of each); it prints the time per random
//! case and, between consecutive sizes, the time each added case costs: a run grows linearly
//! when that marginal cost stays the same.
//!
//! `cargo bench --bench scale` (sizes 100 and 1,000);
//! `BENCH_CASES=100,1000,10000 cargo bench --bench scale` for the README's table.

mod support;

use std::time::{Duration, Instant};

use ecr_contract::serve::spawn;

const SEED: u64 = 7;

fn sizes() -> Vec<u32> {
    let given = std::env::var("BENCH_CASES").unwrap_or_else(|_| "100,1000".into());
    given
        .split(',')
        .map(|s| {
            s.trim()
                .parse()
                .expect("BENCH_CASES: numbers separated by commas")
        })
        .collect()
}

/// The median wall time of `runs` check runs of `cases` random sequences, and the probes of one.
async fn measure(cases: u32, runs: usize) -> (Duration, usize) {
    let mut times = Vec::with_capacity(runs);
    let mut probes = 0;
    for _ in 0..runs {
        let server = spawn(support::embedded(true))
            .await
            .expect("the server starts");
        let start = Instant::now();
        probes = support::check(&server.url(), cases, SEED).await.probes;
        times.push(start.elapsed());
        server.shutdown().await;
    }
    times.sort();
    (times[times.len() / 2], probes)
}

#[allow(clippy::print_stdout)]
fn main() {
    // As criterion: without `--bench` (`cargo test --benches`), or with `--test`, one small
    // run shows that the benchmark works.
    let has = |flag: &str| std::env::args().any(|a| a == flag);
    let testing = !has("--bench") || has("--test");
    let (sizes, runs) = match testing {
        true => (vec![10], 1),
        false => {
            let runs = std::env::var("BENCH_RUNS")
                .ok()
                .and_then(|r| r.parse().ok());
            (sizes(), runs.unwrap_or(3))
        }
    };
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    println!(
        "check against the embedded server (verifying signatures), --seed {SEED}, median of {runs}"
    );
    println!(
        "{:>7} {:>7} {:>10} {:>13} {:>16} {:>10}",
        "cases", "probes", "seconds", "ms per case", "ms per added case", "linearity"
    );
    let mut previous: Option<(u32, Duration)> = None;
    let mut first_marginal = None;
    for cases in sizes {
        let (time, probes) = runtime.block_on(measure(cases, runs));
        let per_case = time.as_secs_f64() * 1e3 / f64::from(cases.max(1));
        let marginal = previous
            .map(|(n, t)| (time.as_secs_f64() - t.as_secs_f64()) * 1e3 / f64::from(cases - n));
        first_marginal = first_marginal.or(marginal);
        println!(
            "{cases:>7} {probes:>7} {:>10.2} {per_case:>13.3} {:>16} {:>10}",
            time.as_secs_f64(),
            marginal.map_or("-".into(), |m| format!("{m:.3}")),
            support::ratio(marginal, first_marginal),
        );
        previous = Some((cases, time));
    }
}
