//! `ecr-contract check`: validate an ECR-compatible endpoint, rule by rule.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};

use crate::check::Suite;
use crate::oracle::Level;
use crate::report::{to_junit, to_text};
use crate::serve::{Config, spawn};
use crate::wire::Credentials;

/// Arguments of `check`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit codes: 0 no violation at or above --fail-on; 1 violations; 2 the harness could not do its job \
(bad arguments, endpoint unreachable, setup impossible).\n\
Endpoint: --endpoint-url, else AWS_ENDPOINT_URL_ECR, else AWS_ENDPOINT_URL, else the embedded reference server.\n\
Credentials: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN; region: --region, AWS_REGION, AWS_DEFAULT_REGION."
)]
pub struct Args {
    /// The endpoint to check (default: the embedded reference server on a loopback port).
    #[arg(long)]
    endpoint_url: Option<String>,
    /// Region to sign for.
    #[arg(long)]
    region: Option<String>,
    /// Random sequences in the property phase.
    #[arg(long, default_value_t = 200)]
    cases: u32,
    /// Seed of the property phase (default: random, printed in the report).
    #[arg(long)]
    seed: Option<u64>,
    /// Write the JSON report here.
    #[arg(long)]
    report_json: Option<PathBuf>,
    /// Write a JUnit XML report here (one test case per rule).
    #[arg(long)]
    junit: Option<PathBuf>,
    /// Fail (exit 1) on violations of this level or above.
    #[arg(long, value_enum, default_value = "should")]
    fail_on: FailOn,
    /// Allow creating and deleting repositories on an endpoint that is not on this machine.
    #[arg(long)]
    allow_writes: bool,
    /// Keep the repositories the run created (they stay in the journal for `cleanup`).
    #[arg(long)]
    keep: bool,
    /// Seconds a read may take to see a completed write.
    #[arg(long, default_value_t = 0.0)]
    settle: f64,
    /// Seconds before a request times out.
    #[arg(long, default_value_t = 30)]
    timeout: u64,
    /// Seconds the whole run may take (exit 2 past it; created repositories stay journalled).
    #[arg(long, default_value_t = 1800)]
    max_seconds: u64,
    /// The journal of created repositories.
    #[arg(long, default_value = "ecr-contract-journal.tsv")]
    journal: PathBuf,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum FailOn {
    Must,
    Should,
}

/// Runs the check and maps the outcome to an exit code.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    if !(0.0..=3600.0).contains(&args.settle) {
        bail!("--settle must be between 0 and 3600 seconds");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    runtime.block_on(check(args))
}

async fn check(args: &Args) -> anyhow::Result<ExitCode> {
    let env = |name| std::env::var(name).ok().filter(|v: &String| !v.is_empty());
    let region = args
        .region
        .clone()
        .or_else(|| env("AWS_REGION"))
        .or_else(|| env("AWS_DEFAULT_REGION"))
        .unwrap_or_else(|| "us-east-1".into());
    let endpoint = args
        .endpoint_url
        .clone()
        .or_else(|| env("AWS_ENDPOINT_URL_ECR"))
        .or_else(|| env("AWS_ENDPOINT_URL"));
    let credentials = Credentials::from_env();
    let embedded = match endpoint {
        Some(_) => None,
        // Like real ECR, the embedded server requires uploaded blobs.
        None => {
            // It verifies signatures (with the caller's credentials, or the placeholder ones).
            let verify = credentials.clone().unwrap_or_else(Credentials::placeholder);
            let config = Config {
                region: region.clone(),
                require_blobs: true,
                verify_signatures: Some(verify),
                ..Config::default()
            };
            Some(
                spawn(config)
                    .await
                    .context("starting the embedded reference server")?,
            )
        }
    };
    let url = endpoint.unwrap_or_else(|| embedded.as_ref().map(|s| s.url()).unwrap_or_default());
    let mut suite = Suite::new(&url)
        .region(&region)
        .timeout(Duration::from_secs(args.timeout))
        .allow_writes(args.allow_writes)
        .cases(args.cases)
        .settle(Duration::from_secs_f64(args.settle))
        .keep(args.keep)
        .journal(&args.journal);
    if let Some(credentials) = credentials {
        suite = suite.credentials(credentials);
    }
    if let Some(seed) = args.seed {
        suite = suite.seed(seed);
    }
    if std::io::stderr().is_terminal() {
        suite = suite.progress(progress);
    }
    let report = tokio::time::timeout(Duration::from_secs(args.max_seconds), suite.run())
        .await
        .map_err(|_| {
            anyhow::anyhow!(
                "the run took over --max-seconds {}: repositories it created stay in the journal {}",
                args.max_seconds,
                args.journal.display()
            )
        })
        .and_then(|outcome| outcome.with_context(|| format!("checking {url}")))?;
    if let Some(bar) = BAR.get() {
        bar.finish_and_clear();
    }
    if let Some(server) = embedded {
        server.shutdown().await;
    }
    let fail_on = match args.fail_on {
        FailOn::Must => Level::Must,
        FailOn::Should => Level::Should,
    };
    if let Some(path) = &args.report_json {
        std::fs::write(path, serde_json::to_vec_pretty(&report.to_json())?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(path) = &args.junit {
        std::fs::write(path, to_junit(&report, fail_on))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let mut out = std::io::stdout().lock();
    write!(out, "{}", to_text(&report))?;
    writeln!(out, "seed {0} (rerun with --seed {0})", report.seed)?;
    Ok(if report.fails_at(fail_on) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

static BAR: OnceLock<ProgressBar> = OnceLock::new();

fn progress(done: u64, total: u64) {
    let bar = BAR.get_or_init(|| {
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} probes {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    });
    bar.set_position(done);
}
