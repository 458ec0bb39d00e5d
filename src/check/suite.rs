//! The phases of a run, in order: seed the fixture, run every contract case, probe
//! authentication, the registry API and pushes, run random sequences (shrinking a failing
//! one), clean up; and the report they come to. Each phase's work is in its own file: this
//! one must only schedule phases and parts, never send a request itself.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{StreamExt as _, stream};

use crate::model::Call;
use crate::remote::HttpTarget;
use crate::report::{Report, Secrets};
use crate::strategy::cases::{Case, files};

use super::auth::probe_auth;
use super::cases::case_part;
use super::clock::now_nanos;
use super::journal::{HeldJournal, Journal};
use super::plan;
use super::seeding::{probe_put_digest, seed_fixture};
use super::sequences::{join_sequence, join_sequence_recorded, run_scenario, sequence_part};
use super::session::{CheckError, Session};
use super::shrinking::{Shrinking, shrink};

/// What to run.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    /// Random sequences in the property phase (`None`: as many as `budget` leaves).
    pub(crate) cases: Option<u32>,
    /// PutImage calls the run may spend when `cases` is not given.
    pub(crate) budget: u32,
    /// The run's prefix, when given (a replay's); else one drawn from the seed, the process
    /// and the clock.
    pub(crate) prefix: Option<String>,
    /// Seed of the property phase (and of the run prefix).
    pub(crate) seed: u64,
    /// How long a read may take to see a write.
    pub(crate) settle: Duration,
    /// Keep the created repositories.
    pub(crate) keep: bool,
    /// Where to journal created repositories.
    pub(crate) journal: Journal,
    /// Called after each probe with (done, total).
    pub(crate) progress: Option<fn(u64, u64)>,
    /// How many contract cases, or random sequences, run at once (at least 1).
    pub(crate) jobs: usize,
    /// The registry API's base URL (default: derived from the endpoint, see `check::pull`).
    pub(crate) registry_url: Option<String>,
    /// The run's secrets, shared with whoever built the run (see `Suite::secrets`).
    pub(crate) secrets: Secrets,
}

/// Runs the whole suite against `target`.
pub(crate) async fn run(target: &HttpTarget, options: &Options) -> Result<Report, CheckError> {
    let started = Instant::now();
    let run_id = options.seed ^ u64::from(std::process::id()).rotate_left(32) ^ now_nanos();
    let prefix = options
        .prefix
        .clone()
        .unwrap_or_else(|| format!("ecr-contract-{:08x}", run_id & 0xffff_ffff));
    let journal = hold(&options.journal, &prefix, target)?;
    let mut session = Session::new(
        target,
        prefix.clone(),
        Arc::new(journal),
        options.settle,
        options.secrets.clone(),
    );
    let all: Vec<Case> = files().into_iter().flat_map(|f| f.cases).collect();
    // Each case's seed, decided once (see `plan::case_seed`).
    let seeds: Vec<Vec<Call>> = all
        .iter()
        .map(|case| plan::case_seed(&session.fixture, case))
        .collect();
    let pushes_left =
        options
            .budget
            .saturating_sub(plan::fixed_pushes(&session.fixture, &all, &seeds));
    let sequences = plan::sequence_count(options.cases, pushes_left, |i| {
        Shrinking::new(options.seed, i).current()
    });
    let outcome = phases(&mut session, options, &all, &seeds, sequences).await;
    let cleanup = if options.keep {
        Ok(())
    } else {
        session.cleanup(None).await
    };
    outcome?;
    cleanup?;
    if session.unjudged_by_digest > 0 {
        session.notes.push(format!(
            "{} probes that name a digest were not judged: the server reports digests of its own and refuses the manifests' SHA-256 (STATE-PUT-DIGEST)",
            session.unjudged_by_digest
        ));
    }
    if options.keep {
        session.notes.push(format!(
            "--keep: repositories under {prefix}/ were left in place (journal: {})",
            options.journal.path().display()
        ));
    }
    let mut report = Report {
        endpoint: target.url().to_owned(),
        region: target.region().to_owned(),
        account: session.account.as_ref().map(ToString::to_string),
        seed: options.seed,
        prefix,
        probes: session.probes,
        property_cases: sequences,
        shrinking_capped: session.shrinking_capped,
        seconds: started.elapsed().as_secs_f64(),
        retries: session.retries,
        settle_seconds: session.settle_needed.as_secs_f64(),
        findings: std::mem::take(&mut session.findings),
        exercised: std::mem::take(&mut session.exercised),
        reached: std::mem::take(&mut session.covered.reached),
        blocked: std::mem::take(&mut session.covered.blocked),
        setup_divergences: std::mem::take(&mut session.setup_divergences),
        notes: std::mem::take(&mut session.notes),
        spent: target.spend().counts(),
        ..Default::default()
    };
    report.redact(&session.secrets);
    Ok(report)
}

/// The run's journal, held for the run's life: only names under `prefix`, and synced to disk
/// only for an endpoint off this machine (on loopback, the embedded server or an emulator
/// mostly in memory, the syncs took more than half of a run).
fn hold(journal: &Journal, prefix: &str, target: &HttpTarget) -> Result<HeldJournal, CheckError> {
    let held = journal.hold()?.ok_or_else(|| {
        CheckError::Refused(format!(
            "the journal {} is held by another run or a cleanup",
            journal.path().display()
        ))
    })?;
    Ok(held.under_prefix(prefix).durable(!target.is_loopback()))
}

async fn phases(
    session: &mut Session<'_>,
    options: &Options,
    all: &[Case],
    seeds: &[Vec<Call>],
    sequences: u32,
) -> Result<(), CheckError> {
    probe_put_digest(session).await?;
    let base_calls = session.fixture.calls();
    let base = seed_fixture(session, "base", base_calls).await?;
    let total = (all.len() + 1) as u64 + u64::from(sequences);
    let mut progress = Progress {
        done: 0,
        total,
        report: options.progress,
    };
    // Each case runs in a scope of its own (or only reads the base), so cases run side by
    // side; what each gathered is joined in the cases' order.
    let parts: Vec<_> = all
        .iter()
        .enumerate()
        .map(|(i, case)| case_part(session.fork(), &base, case, &seeds[i], i))
        .collect();
    let mut parts = stream::iter(parts).buffered(options.jobs.max(1));
    let mut failed = None;
    while let Some((part, outcome)) = parts.next().await {
        session.join(part, true);
        // After an error the others still finish, so that what they created is cleaned up.
        failed = failed.or(outcome.err());
        progress.step();
    }
    drop(parts);
    if let Some(e) = failed {
        return Err(e);
    }
    probe_auth(session).await?;
    progress.step();
    super::pull::probe_registry(session, &base, options.registry_url.as_deref()).await?;
    super::push::probe_push(session, options.registry_url.as_deref()).await?;
    run_properties(session, options, sequences, &mut progress).await
}

/// The run's progress, as (done, total) for the caller's callback.
struct Progress {
    done: u64,
    total: u64,
    report: Option<fn(u64, u64)>,
}

impl Progress {
    fn step(&mut self) {
        self.done += 1;
        if let Some(report) = self.report {
            report(self.done.min(self.total), self.total);
        }
    }
}

/// Random sequences from the project's generators, each on fresh repositories, run side by
/// side; the first failing one, in the order they were drawn, is shrunk (along proptest's
/// path, its next candidates tried at once with `jobs`), then replayed once more to record
/// its findings. The sequences
/// are drawn from the seed before any runs, so which run and what is reported does not
/// depend on how many run at once.
async fn run_properties(
    session: &mut Session<'_>,
    options: &Options,
    sequences: u32,
    progress: &mut Progress,
) -> Result<(), CheckError> {
    if sequences == 0 {
        return Ok(());
    }
    let parts: Vec<_> = (0..sequences as usize)
        .map(|i| {
            let scenario = Shrinking::new(options.seed, i).current();
            sequence_part(session.fork(), scenario, format!("p{}", i + 1))
        })
        .collect();
    let mut parts = stream::iter(parts).buffered(options.jobs.max(1));
    let (mut failed, mut first_failing) = (None, None);
    let mut i = 0;
    while let Some((part, outcome)) = parts.next().await {
        let failure = join_sequence(session, part, outcome, &mut failed);
        if first_failing.is_none() && !failure.is_empty() {
            first_failing = Some((i, failure));
        }
        i += 1;
        progress.step();
    }
    drop(parts);
    if let Some(e) = failed {
        return Err(e);
    }
    let Some((k, reason)) = first_failing else {
        return Ok(());
    };
    let mut counter = sequences;
    let shrinking = Shrinking::new(options.seed, k);
    let (minimal, reason) = shrink(session, shrinking, reason, &mut counter, options.jobs).await?;
    counter += 1;
    let minimal = plan::lean(&minimal);
    let calls = serde_json::to_string(&minimal.calls).unwrap_or_default();
    session.notes.push(format!(
        "random phase: a failing sequence, shrunk to {} calls: {calls}; then {reason}",
        minimal.calls.len()
    ));
    let mut part = session.fork();
    let outcome = run_scenario(&mut part, &minimal, &format!("p{counter}"), false).await;
    let mut failed = None;
    join_sequence_recorded(session, part, outcome, &mut failed, true);
    failed.map_or(Ok(()), Err)
}
