//! [`Suite`]: the whole `check` run against an endpoint, from Rust code such as a `cargo test`.
//! The CLI's `check` is a thin adapter over it, so both share the guards (no writes off this
//! machine without leave, placeholder credentials only on loopback) and the defaults.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::remote::{HttpTarget, Rates, Tap, Tls};
use crate::report::{Report, Secrets};
use crate::wire::Credentials;

use super::clock::now_nanos;
use super::suite::{Options, run};
use super::{CheckError, Journal};

/// How many parts of a run go at once against an endpoint off this machine, by default.
pub const REMOTE_JOBS: usize = 8;

/// Reads (BatchGetImage probes, registry API GETs and HEADs) a run may have in flight for
/// each write it may have in flight ([`Suite::jobs`]): a read changes nothing, and ECR's
/// quota for BatchGetImage is 200 times its quota for PutImage.
pub const READS_PER_WRITE: usize = 4;

/// Runs the contract suite of `ecr-contract check` against an endpoint and returns its
/// [`Report`]; [`Report::assert_conforms`] turns it into a test verdict.
///
/// ```
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use ecr_contract::Suite;
/// use ecr_contract::serve::{Config, spawn};
///
/// // The server under test: here the embedded reference server, on a free loopback port.
/// let server = spawn(Config::default()).await?;
/// let report = Suite::new(server.url()).cases(20).seed(7).run().await?;
/// report.assert_conforms();
/// server.shutdown().await;
/// # Ok(()) }
/// # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
/// ```
///
/// Defaults: region `us-east-1`, as many random sequences as a budget of 150 PutImage calls
/// leaves (see [`budget`](Self::budget)), a random seed (in the report, and in
/// the panic message of a failed assertion), a 30-second timeout per request, no settle time,
/// created repositories deleted, the journal in a file of the run's own where
/// `ecr-contract cleanup` looks ([`Journal::for_this_run`]; never in the working directory
/// unless [`journal`](Self::journal) says so), TLS
/// certificates checked against the built-in roots. Credentials
/// are only those given to [`credentials`](Self::credentials), never the environment's:
/// without them, loopback endpoints get placeholder ones and other endpoints are refused.
/// Works in any tokio runtime, the current-thread one (plain `#[tokio::test]`) included.
#[derive(Debug, Clone)]
#[must_use]
pub struct Suite {
    url: String,
    region: String,
    credentials: Option<Credentials>,
    unsigned: bool,
    timeout: Duration,
    allow_writes: bool,
    cases: Option<u32>,
    budget: u32,
    seed: Option<u64>,
    settle: Duration,
    keep: bool,
    journal: Option<PathBuf>,
    ca_bundles: Vec<PathBuf>,
    verify_tls: bool,
    progress: Option<fn(u64, u64)>,
    jobs: Option<usize>,
    rates: Option<Rates>,
    registry_url: Option<String>,
    secrets: Secrets,
    tap: Option<Arc<dyn Tap>>,
    prefix: Option<String>,
    shared_scopes: bool,
    shrink_runs: Option<usize>,
}

impl Suite {
    /// The suite against the endpoint at `url`, such as `http://127.0.0.1:5000`.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            region: "us-east-1".into(),
            credentials: None,
            unsigned: false,
            timeout: Duration::from_secs(30),
            allow_writes: false,
            cases: None,
            budget: super::plan::DEFAULT_PUSH_BUDGET,
            seed: None,
            settle: Duration::ZERO,
            keep: false,
            journal: None,
            ca_bundles: Vec::new(),
            verify_tls: true,
            progress: None,
            jobs: None,
            rates: None,
            registry_url: None,
            secrets: Secrets::default(),
            tap: None,
            prefix: None,
            shared_scopes: true,
            shrink_runs: None,
        }
    }

    /// The secrets the run knows, shared with it (and with every clone of this suite): after
    /// a run, with what it learned (registry passwords, pre-signed URLs), for redacting text
    /// the report does not hold, such as an error.
    pub fn secrets(&self) -> Secrets {
        self.secrets.clone()
    }

    /// Requests per second per operation (default [`Rates::default_for`]: ECR's quotas off
    /// this machine, no limit on loopback).
    pub fn rates(mut self, rates: Rates) -> Self {
        self.rates = Some(rates);
        self
    }

    /// Random sequences of setup calls and requests after the contract cases (default: as
    /// many as the push [`budget`](Self::budget) leaves, at most 200).
    pub fn cases(mut self, cases: u32) -> Self {
        self.cases = Some(cases);
        self
    }

    /// PutImage calls the run may spend when [`cases`](Self::cases) is not given (default
    /// [`DEFAULT_PUSH_BUDGET`](super::plan::DEFAULT_PUSH_BUDGET)): the fixture and the
    /// contract cases first, then random sequences while they fit.
    pub fn budget(mut self, pushes: u32) -> Self {
        self.budget = pushes;
        self
    }

    /// The seed of the random sequences (default: random; the report says which).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// The region to sign for (default `us-east-1`).
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = region.into();
        self
    }

    /// Sends every request unsigned, for a server on this machine that verifies no
    /// signatures: ROBUST-AUTH is then not exercised. Refused for an endpoint off this
    /// machine.
    pub fn unsigned(mut self) -> Self {
        self.unsigned = true;
        self
    }

    /// The credentials to sign with.
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// Every request's timeout (default 30 seconds).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Allows creating and deleting repositories on an endpoint off this machine (default:
    /// refused, as only loopback endpoints are assumed to be throwaway).
    pub fn allow_writes(mut self, allow: bool) -> Self {
        self.allow_writes = allow;
        self
    }

    /// How long a read may take to see a completed write, for eventually consistent servers.
    pub fn settle(mut self, settle: Duration) -> Self {
        self.settle = settle;
        self
    }

    /// Keeps the repositories the run creates (they stay in the journal).
    pub fn keep(mut self, keep: bool) -> Self {
        self.keep = keep;
        self
    }

    /// Journals created repositories at `path` (default: a file of the run's own in the state
    /// directory, [`Journal::for_this_run`], removed when the run has deleted everything it
    /// created).
    pub fn journal(mut self, path: impl Into<PathBuf>) -> Self {
        self.journal = Some(path.into());
        self
    }

    /// Also trusts the certificates of the PEM bundle at `path` for an `https://` endpoint,
    /// such as the private CA of an emulator or a proxy (default: the built-in roots only).
    pub fn ca_bundle(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_bundles.push(path.into());
        self
    }

    /// With `false`, accepts any certificate of an `https://` endpoint: still encrypted, but
    /// not authenticated (default `true`).
    pub fn verify_tls(mut self, verify: bool) -> Self {
        self.verify_tls = verify;
        self
    }

    /// How many contract cases, random sequences, or shrinking candidates run at once, and
    /// how many requests that may change the server's state are in flight at once (reads,
    /// which change nothing, [`READS_PER_WRITE`] times as many). The report is the same
    /// whatever the number (parts are joined in the run's order), but for the requests spent:
    /// shrinking tries candidates ahead of its path. Default: 1 on this machine
    /// (answers take microseconds, and emulators are often single-threaded or not safe under
    /// concurrent writes), [`REMOTE_JOBS`] for an endpoint off it (each answer costs a round
    /// trip; the per-operation pacing keeps concurrent requests within ECR's quotas).
    pub fn jobs(mut self, jobs: usize) -> Self {
        self.jobs = Some(jobs.max(1));
        self
    }

    /// Calls `progress(done, total)` after each probe.
    pub fn progress(mut self, progress: fn(u64, u64)) -> Self {
        self.progress = Some(progress);
        self
    }

    /// Probes the registry API (`/v2/...`) at `url` rather than where the endpoint implies
    /// (ECR's `<account>.dkr.ecr.<region>.amazonaws.com`, else the endpoint itself).
    pub fn registry_url(mut self, url: impl Into<String>) -> Self {
        self.registry_url = Some(url.into());
        self
    }

    /// Shows every exchange of the run to `tap` as it completes: how
    /// [`recording::Recorder`](crate::recording::Recorder) records a run.
    pub fn tap(mut self, tap: Arc<dyn Tap>) -> Self {
        self.tap = Some(tap);
        self
    }

    /// Creates repositories under `prefix` (`ecr-contract-` and 8 hexadecimal digits)
    /// instead of a fresh one: a replay takes the recorded run's, so that answers which name a
    /// repository (a schema 1 manifest, and its digest) are the recorded ones.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = Some(prefix.into());
        self
    }

    /// Whether contract cases that change state may share a scope (default: yes). The plan
    /// lets a case share a scope only where the model proves that it shows exactly what it
    /// shows alone, which saves a seeding per shared case; `false` runs each such case in a
    /// scope of its own, to tell whether a finding depends on the cases run before it.
    pub fn shared_scopes(mut self, shared: bool) -> Self {
        self.shared_scopes = shared;
        self
    }

    /// The most candidate runs a shrinking takes on its path (at least 1; default: 256 on
    /// this machine, 32 off it, where each costs round trips and pushes). When it is reached
    /// the report says so, and the sequence reported may not be the smallest.
    pub fn shrink_runs(mut self, runs: usize) -> Self {
        self.shrink_runs = Some(runs.max(1));
        self
    }

    /// The endpoint's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The registry API's URL, when given ([`registry_url`](Self::registry_url)).
    pub fn registry(&self) -> Option<&str> {
        self.registry_url.as_deref()
    }

    /// Runs the suite: `Err` only when the harness could not do its job (endpoint refused or
    /// unreachable, setup impossible); violations are in the report.
    pub async fn run(self) -> Result<Report, CheckError> {
        self.run_here().await
    }

    async fn run_here(self) -> Result<Report, CheckError> {
        if let Some(credentials) = &self.credentials {
            self.secrets.add_credentials(credentials);
        }
        let target = self.target()?;
        let jobs = self
            .jobs
            .unwrap_or(if target.is_loopback() { 1 } else { REMOTE_JOBS });
        let target = target.in_flight(jobs, jobs * READS_PER_WRITE);
        let journal = match &self.journal {
            Some(path) => Journal::new(path),
            None => Journal::for_this_run().ok_or_else(|| {
                CheckError::Refused(
                    "no directory for the journal: set XDG_STATE_HOME or HOME, or give Suite::journal"
                        .into(),
                )
            })?,
        };
        if let Some(prefix) = &self.prefix {
            let hex = prefix.strip_prefix("ecr-contract-").unwrap_or_default();
            if hex.len() != 8 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(CheckError::Refused(format!(
                    "{prefix:?} is not a run's prefix (ecr-contract- and 8 hexadecimal digits)"
                )));
            }
        }
        let options = Options {
            prefix: self.prefix.clone(),
            cases: self.cases,
            budget: self.budget,
            seed: self.seed.unwrap_or_else(now_nanos),
            settle: self.settle,
            keep: self.keep,
            journal,
            progress: self.progress,
            jobs,
            registry_url: self.registry_url.clone(),
            secrets: self.secrets.clone(),
            shared_scopes: self.shared_scopes,
            shrink_runs: self.shrink_runs,
        };
        run(&target, &options).await
    }

    /// The signed target, or why the run must not go ahead.
    fn target(&self) -> Result<HttpTarget, CheckError> {
        let unsigned = HttpTarget::new(&self.url, &self.region, None, self.timeout)?;
        let loopback = unsigned.is_loopback();
        if !loopback && !self.allow_writes {
            return Err(CheckError::Refused(format!(
                "{} is not on this machine: check creates and deletes repositories there; \
                 allow writes to let it (--allow-writes, Suite::allow_writes)",
                self.url
            )));
        }
        let credentials = match (&self.credentials, loopback) {
            _ if self.unsigned && loopback => None,
            _ if self.unsigned => {
                return Err(CheckError::Refused(format!(
                    "{} is not on this machine: requests to it are signed",
                    self.url
                )));
            }
            (Some(c), _) => Some(c.clone()),
            (None, true) => Some(Credentials::placeholder()),
            (None, false) => {
                return Err(CheckError::Refused(format!(
                    "{} needs credentials: configure them the AWS way (environment, \
                     AWS_PROFILE or --profile, SSO, web identity) or give Suite::credentials",
                    self.url
                )));
            }
        };
        let mut tls = Tls::default();
        for bundle in &self.ca_bundles {
            tls = tls.ca_bundle(bundle)?;
        }
        if !self.verify_tls {
            tls = tls.no_verify();
        }
        let target =
            HttpTarget::with_tls(&self.url, &self.region, credentials, self.timeout, &tls)?;
        let target = match &self.tap {
            Some(tap) => target.tapped(Arc::clone(tap)),
            None => target,
        };
        Ok(match &self.rates {
            Some(rates) => target.paced(rates),
            None => target,
        })
    }
}
