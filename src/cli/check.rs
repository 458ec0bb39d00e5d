//! `ecr-contract check`: validate an ECR-compatible endpoint, rule by rule.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};

use ecr_contract::check::{Journal, Suite};
use ecr_contract::oracle::Level;
use ecr_contract::recording::{self, Recording};
use ecr_contract::remote::{AwsConfig, RateRule, Rates, is_loopback};
use ecr_contract::report::{
    Ledger, LedgerVerdict, Report, to_html, to_junit, to_markdown, to_text,
};
use ecr_contract::serve::{Config, spawn};
use ecr_contract::wire::Credentials;

use super::aws::AwsArgs;

/// Arguments of `check`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit codes: 0 no violation at or above --fail-on (with --ledger: none outside the ledger, and no stale entry); \
1 violations; 2 the harness could not do its job (bad arguments, endpoint unreachable, setup impossible).\n\
Endpoint: --endpoint-url, else AWS_ENDPOINT_URL_ECR, else AWS_ENDPOINT_URL, else the embedded reference server.\n\
Credentials and region the AWS way: environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION), \
then the shared config and credentials files (--profile, else AWS_PROFILE), SSO, web identity, container and instance roles; --region wins. \
A loopback endpoint without credentials gets placeholder ones."
)]
pub struct Args {
    /// The endpoint to check (default: the embedded reference server on a loopback port).
    #[arg(long)]
    endpoint_url: Option<String>,
    #[command(flatten)]
    run: RunArgs,
    /// Write the JSON report here.
    #[arg(long)]
    report_json: Option<PathBuf>,
    /// Write a Markdown report here (per-section summary, per-rule table, first examples).
    #[arg(long)]
    report_md: Option<PathBuf>,
    /// Write the same report as one HTML page here.
    #[arg(long)]
    report_html: Option<PathBuf>,
    /// Write a JUnit XML report here (one test case per rule).
    #[arg(long)]
    junit: Option<PathBuf>,
    /// Fail (exit 1) on violations of this level or above.
    #[arg(long, value_enum, default_value = "should")]
    fail_on: FailOn,
    /// A divergence ledger (TOML) of known deviations: they do not fail the run, but a new
    /// one does, and so does a listed one the run no longer sees.
    #[arg(long)]
    ledger: Option<PathBuf>,
    /// Write every exchange of the run to a recording in this folder (no secret in it: it is
    /// meant to be committed, and `ecr-contract replay` replays it without the server).
    #[arg(long, value_name = "DIR", conflicts_with = "against")]
    record: Option<PathBuf>,
    /// Hold the server to the recording in this folder: the recording's seed and sequences,
    /// and a parity section, per rule, where an answer differs from the recorded one.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["seed", "cases"])]
    against: Option<PathBuf>,
}

/// How a run goes, whatever the endpoint: shared by `check` and `compare`.
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    #[command(flatten)]
    aws: AwsArgs,
    /// Region to sign for.
    #[arg(long)]
    region: Option<String>,
    /// Random sequences in the property phase (default: as many as --budget leaves, at
    /// most 200).
    #[arg(long)]
    pub(super) cases: Option<u32>,
    /// PutImage calls a run may spend when --cases is not given: the fixture and the
    /// contract cases first, then random sequences while they fit.
    #[arg(long, default_value_t = ecr_contract::check::plan::DEFAULT_PUSH_BUDGET)]
    pub(super) budget: u32,
    /// Seed of the property phase (default: random, printed in the report).
    #[arg(long)]
    pub(super) seed: Option<u64>,
    /// Contract cases, or random sequences, run at once; the report is the same whatever
    /// the number (default: 1 on this machine, 8 for an endpoint off it).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=256))]
    jobs: Option<u16>,
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
    /// Requests per second: `50` for every operation, `PutImage=5` for one (repeatable; later
    /// values win), `none` or `unlimited` for no limit. Default: Amazon ECR's published
    /// per-second quotas (BatchGetImage 2000, PutImage 10, ...; 10 where none is published)
    /// for an endpoint off this machine, no limit on loopback. Throttled operations slow down
    /// further and recover step by step.
    #[arg(long = "rate", value_name = "RATE")]
    rates: Vec<RateRule>,
    /// The journal of created repositories (default: a file of this run's own in
    /// $XDG_STATE_HOME/ecr-contract, or ~/.local/state/ecr-contract).
    #[arg(long)]
    journal: Option<PathBuf>,
    /// The registry API (`/v2/...`) to probe (default: ECR's `<account>.dkr.ecr.<region>`
    /// for an ECR endpoint, else the endpoint itself, as for `serve`).
    #[arg(long)]
    registry_url: Option<String>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum FailOn {
    Must,
    Should,
    /// `should`, and any parity difference with the recording of `--against`.
    Parity,
}

/// What a run keeps besides its report.
#[derive(Debug, Clone)]
pub(super) enum Keep {
    /// Nothing.
    Report,
    /// A recording of every exchange.
    Recording,
    /// Its answers held to this recording (a parity section).
    Against(std::sync::Arc<Recording>),
}

/// Runs the check and maps the outcome to an exit code.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    in_runtime(check(args))
}

/// Runs a subcommand's future on a runtime of its own, which is not waited for afterwards: an
/// interrupted run's requests in flight are dropped, not awaited.
pub(super) fn in_runtime<T>(future: impl Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let outcome = runtime.block_on(future);
    runtime.shutdown_background();
    outcome
}

async fn check(args: &Args) -> anyhow::Result<ExitCode> {
    let ledger = args.ledger.as_deref().map(Ledger::load).transpose()?;
    let endpoint = args
        .endpoint_url
        .clone()
        .or_else(|| env("AWS_ENDPOINT_URL_ECR"))
        .or_else(|| env("AWS_ENDPOINT_URL"));
    let (keep, seed) = match (&args.against, &args.record) {
        (Some(dir), _) => {
            let recording = Recording::load(dir)?;
            let seed = recording.meta.seed;
            (Keep::Against(std::sync::Arc::new(recording)), seed)
        }
        (None, Some(_)) => (Keep::Recording, args.run.seed()),
        (None, None) => (Keep::Report, args.run.seed()),
    };
    let (mut report, recording) = run_for(endpoint, &args.run, seed, keep).await?;
    if let (Some(dir), Some(recording)) = (&args.record, recording) {
        recording
            .save(dir)
            .with_context(|| format!("writing the recording to {}", dir.display()))?;
    }
    let fail_on = match args.fail_on {
        FailOn::Must => Level::Must,
        FailOn::Should | FailOn::Parity => Level::Should,
    };
    report.ledger = ledger.as_ref().map(|l| l.compare(&report));
    write_file(&args.report_json, || {
        Ok(serde_json::to_vec_pretty(&report.to_json())?)
    })?;
    write_file(&args.report_md, || {
        Ok(to_markdown(&report, ledger.as_ref()).into_bytes())
    })?;
    write_file(&args.report_html, || {
        Ok(to_html(&report, ledger.as_ref()).into_bytes())
    })?;
    write_file(&args.junit, || Ok(to_junit(&report, fail_on).into_bytes()))?;
    let mut out = std::io::stdout().lock();
    write!(out, "{}", to_text(&report))?;
    if let Some(verdict) = &report.ledger {
        write_verdict(&mut out, verdict)?;
    }
    writeln!(out, "seed {seed} (rerun with --seed {seed})")?;
    let fails = match &report.ledger {
        Some(verdict) => verdict.fails_at(&report, fail_on),
        None => report.fails_at(fail_on),
    } || (matches!(args.fail_on, FailOn::Parity) && report.has_parity_differences());
    Ok(if fails {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn write_file(
    path: &Option<PathBuf>,
    contents: impl FnOnce() -> anyhow::Result<Vec<u8>>,
) -> anyhow::Result<()> {
    if let Some(path) = path {
        std::fs::write(path, contents()?).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

fn write_verdict(out: &mut impl Write, verdict: &LedgerVerdict) -> std::io::Result<()> {
    let ids = |rules: &[ecr_contract::oracle::RuleId]| {
        rules
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    writeln!(
        out,
        "ledger: {} known divergences seen",
        verdict.known.len()
    )?;
    let lines = [
        ("new divergences (not in the ledger)", ids(&verdict.new)),
        (
            "stale ledger entries (exercised, not broken)",
            ids(&verdict.stale),
        ),
        (
            "ledger entries not exercised by this run",
            ids(&verdict.unconfirmed),
        ),
        ("new setup divergences", verdict.new_setup.join(", ")),
        ("stale setup entries", verdict.stale_setup.join(", ")),
    ];
    for (what, list) in lines.iter().filter(|(_, list)| !list.is_empty()) {
        writeln!(out, "ledger: {what}: {list}")?;
    }
    Ok(())
}

impl RunArgs {
    /// The journal: `--journal`, else a file of this run's own in the state directory.
    fn journal(&self) -> anyhow::Result<Journal> {
        match &self.journal {
            Some(path) => Ok(Journal::new(path)),
            None => Journal::for_this_run().context(
                "no directory for the journal: set XDG_STATE_HOME or HOME, or give --journal PATH",
            ),
        }
    }

    /// The seed given, or one from the clock.
    pub(super) fn seed(&self) -> u64 {
        self.seed.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64)
        })
    }
}

/// A non-empty environment variable.
fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Runs the suite against `endpoint` (`None`: the embedded reference server, started and
/// stopped here) and returns its report.
pub(super) async fn report_for(
    endpoint: Option<String>,
    args: &RunArgs,
    seed: u64,
) -> anyhow::Result<Report> {
    Ok(run_for(endpoint, args, seed, Keep::Report).await?.0)
}

/// [`report_for`], keeping what `keep` says: the run's recording, or its parity with one.
pub(super) async fn run_for(
    endpoint: Option<String>,
    args: &RunArgs,
    seed: u64,
    keep: Keep,
) -> anyhow::Result<(Report, Option<Recording>)> {
    if !(0.0..=3600.0).contains(&args.settle) {
        bail!("--settle must be between 0 and 3600 seconds");
    }
    let loopback = endpoint.as_deref().is_none_or(is_loopback);
    // An endpoint the run will refuse (off this machine, no --allow-writes) is refused before
    // any credentials source is asked.
    let aws = match loopback || args.allow_writes {
        true => args.aws.config(loopback).await?,
        false => AwsConfig::default(),
    };
    let region = args
        .region
        .clone()
        .or(aws.region)
        .unwrap_or_else(|| "us-east-1".into());
    let credentials = aws.credentials;
    let embedded = match endpoint {
        Some(_) => None,
        // Like real ECR, the embedded server requires uploaded blobs, and it verifies
        // signatures (with the caller's credentials, or the placeholder ones).
        None => {
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
    let journal = args.journal()?;
    let mut suite = Suite::new(&url)
        .region(&region)
        .timeout(Duration::from_secs(args.timeout))
        .allow_writes(args.allow_writes)
        .budget(args.budget)
        .settle(Duration::from_secs_f64(args.settle))
        .keep(args.keep)
        .journal(journal.path())
        .verify_tls(args.aws.verify_tls());
    if let Some(bundle) = args.aws.ca_bundle() {
        suite = suite.ca_bundle(bundle);
    }
    if let Some(credentials) = credentials {
        suite = suite.credentials(credentials);
    }
    if let Some(cases) = args.cases {
        suite = suite.cases(cases);
    }
    if !args.rates.is_empty() {
        suite = suite.rates(Rates::default_for(loopback).apply(&args.rates));
    }
    suite = suite.seed(seed);
    if let Some(jobs) = args.jobs {
        suite = suite.jobs(usize::from(jobs));
    }
    if let Some(registry) = &args.registry_url {
        suite = suite.registry_url(registry);
    }
    if std::io::stderr().is_terminal() {
        suite = suite.progress(progress);
    }
    let secrets = suite.secrets();
    let run = async move {
        match keep {
            Keep::Report => suite.run().await.map(|report| (report, None)),
            Keep::Recording => recording::record(suite)
                .await
                .map(|(report, recording)| (report, Some(recording))),
            Keep::Against(recording) => recording::against(suite, &recording)
                .await
                .map(|report| (report, None)),
        }
    };
    // On a task of its own, so that Ctrl-C and --max-seconds are seen at once.
    let mut running = tokio::spawn(run);
    let outcome = tokio::select! {
        joined = &mut running => match joined {
            Ok(outcome) => outcome.with_context(|| format!("checking {url}")),
            Err(e) => Err(anyhow::anyhow!("the run stopped: {e}")),
        },
        _ = tokio::time::sleep(Duration::from_secs(args.max_seconds)) => {
            Err(anyhow::anyhow!("the run took longer than --max-seconds {}", args.max_seconds))
        }
        _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
    };
    running.abort();
    if let Some(bar) = BAR.get() {
        bar.finish_and_clear();
    }
    // The error chain is printed: redacted with every secret the run knew, its credentials
    // and what it learned, like the report.
    let outcome = outcome
        .inspect_err(|_| tell_about(&journal))
        .map_err(|e| anyhow::anyhow!(secrets.redact(&format!("{e:#}"))))?;
    if let Some(server) = embedded {
        server.shutdown().await;
    }
    Ok(outcome)
}

/// Says, after a failed run, where its journal is and whether it lists repositories to clean.
fn tell_about(journal: &Journal) {
    let path = journal.path().display();
    let note = match journal.entries() {
        Ok(entries) if entries.is_empty() => {
            format!("journal: {path} lists no repository left behind")
        }
        Ok(entries) => format!(
            "journal: {path} lists {} repositories this run created; `ecr-contract cleanup` deletes them",
            entries.len()
        ),
        Err(e) => format!("journal: {path} unreadable: {e}"),
    };
    #[allow(clippy::print_stderr)]
    {
        eprintln!("{note}");
    }
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
