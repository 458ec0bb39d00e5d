//! The phases of a run, in order: seed the fixture, run every contract case, probe
//! authentication, the registry API and pushes, run random sequences (shrinking a failing
//! one), clean up; and the report they come to. Each phase's work is in its own file: this
//! one must only schedule phases and parts, never send a request itself.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{StreamExt as _, stream};

use crate::model::{Call, Registry};
use crate::remote::HttpTarget;
use crate::report::{Report, Secrets};
use crate::strategy::cases::{Case, files};

use super::auth::probe_auth;
use super::cases::{case_part, shared_part};
use super::clock::now_nanos;
use super::journal::{HeldJournal, Journal};
use super::plan;
use super::seeding::seed_base;
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
    /// Whether contract cases may share a scope where the model proves it changes nothing
    /// (see `plan::case_scopes`); else each case that changes state has a scope of its own.
    pub(crate) shared_scopes: bool,
    /// The most candidates a shrinking runs on its path (`None`: `SHRINK_RUNS` on this
    /// machine, `SHRINK_RUNS_OFF_LOOPBACK` off it).
    pub(crate) shrink_runs: Option<usize>,
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
    // Each case's seed and the scopes the cases that change state run in, decided once.
    let seeds: Vec<Vec<Call>> = all
        .iter()
        .map(|case| plan::case_seed(&session.fixture, case))
        .collect();
    let scopes = match options.shared_scopes {
        true => plan::case_scopes(&session.fixture, &all, &seeds),
        false => (0..all.len())
            .filter(|&i| !all[i].setup.is_empty())
            .map(|i| plan::CaseScope {
                cases: vec![i],
                seed: seeds[i].clone(),
            })
            .collect(),
    };
    let pushes_left =
        options
            .budget
            .saturating_sub(plan::fixed_pushes(&session.fixture, &all, &scopes));
    let sequences = plan::choose_sequences(options.cases, pushes_left, |i| {
        Shrinking::new(options.seed, i).current()
    });
    let contract = Contract {
        cases: &all,
        seeds: &seeds,
        scopes: &scopes,
    };
    let outcome = phases(&mut session, options, &contract, &sequences).await;
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
        property_cases: u32::try_from(sequences.len()).unwrap_or(u32::MAX),
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

/// The contract phase's plan: every case, each one's own seed, and the scopes of those that
/// change state.
struct Contract<'a> {
    cases: &'a [Case],
    seeds: &'a [Vec<Call>],
    scopes: &'a [plan::CaseScope],
}

async fn phases(
    session: &mut Session<'_>,
    options: &Options,
    contract: &Contract<'_>,
    sequences: &[usize],
) -> Result<(), CheckError> {
    let base = seed_base(session).await?;
    let total = (contract.cases.len() + 1 + sequences.len()) as u64;
    let mut progress = Progress {
        done: 0,
        total,
        report: options.progress,
    };
    run_cases(session, options, contract, &base, &mut progress).await?;
    probe_auth(session).await?;
    progress.step();
    super::pull::probe_registry(session, &base, options.registry_url.as_deref()).await?;
    super::push::probe_push(session, options.registry_url.as_deref()).await?;
    run_properties(session, options, sequences, &mut progress).await
}

/// Runs every contract case: those that only read on the base fixture, each alone; those
/// that change state in their scopes, a scope of one case as that case alone. Scopes run side
/// by side, `--jobs` at a time, whichever finishes first; what each case gathered is joined
/// in the cases' order (a shared scope's own seeding and cleanup just before its first case),
/// so that the report does not depend on how many ran at once.
async fn run_cases(
    session: &mut Session<'_>,
    options: &Options,
    contract: &Contract<'_>,
    base: &Registry,
    progress: &mut Progress,
) -> Result<(), CheckError> {
    let Contract {
        cases,
        seeds,
        scopes,
    } = *contract;
    // Every unit of work by its first case: a case that reads, or a scope (by its index).
    let mut units: Vec<(usize, Option<usize>)> = (0..cases.len())
        .filter(|&i| cases[i].setup.is_empty())
        .map(|i| (i, None))
        .chain((0..scopes.len()).filter_map(|k| Some((*scopes[k].cases.first()?, Some(k)))))
        .collect();
    units.sort_by_key(|(first, _)| *first);
    let mut parts = Vec::with_capacity(units.len());
    for (first, scope) in units {
        let part = session.fork();
        parts.push(async move {
            match scope.map(|k| &scopes[k]) {
                Some(scope) if scope.cases.len() > 1 => {
                    let (part, members, outcome) = shared_part(part, cases, seeds, scope).await;
                    let mut gathered = vec![((first, 0), part, outcome)];
                    gathered.extend(members.into_iter().map(|(i, m, o)| ((i, 1), m, o)));
                    gathered
                }
                _ => {
                    let (part, outcome) =
                        case_part(part, base, &cases[first], &seeds[first], first).await;
                    vec![((first, 1), part, outcome)]
                }
            }
        });
    }
    let mut parts = stream::iter(parts).buffer_unordered(options.jobs.max(1));
    let mut gathered = Vec::new();
    while let Some(unit) = parts.next().await {
        for _ in unit.iter().filter(|(key, _, _)| key.1 == 1) {
            progress.step();
        }
        gathered.extend(unit);
    }
    drop(parts);
    gathered.sort_by_key(|(key, _, _)| *key);
    let mut failed = None;
    for (_, part, outcome) in gathered {
        session.join(part, true);
        // After an error the others still finished, so that what they created is cleaned up.
        failed = failed.or(outcome.err());
    }
    failed.map_or(Ok(()), Err)
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
    sequences: &[usize],
    progress: &mut Progress,
) -> Result<(), CheckError> {
    let parts: Vec<_> = sequences
        .iter()
        .map(|&i| {
            let scenario = Shrinking::new(options.seed, i).current();
            let part = sequence_part(session.fork(), scenario, format!("p{}", i + 1));
            async move { (i, part.await) }
        })
        .collect();
    // Whichever finishes first frees its slot; joined in the order drawn.
    let mut parts = stream::iter(parts).buffer_unordered(options.jobs.max(1));
    let mut done = Vec::with_capacity(sequences.len());
    while let Some(finished) = parts.next().await {
        done.push(finished);
        progress.step();
    }
    drop(parts);
    done.sort_by_key(|(i, _)| *i);
    let (mut failed, mut first_failing) = (None, None);
    for (i, (part, outcome)) in done {
        let failure = join_sequence(session, part, outcome, &mut failed);
        if first_failing.is_none() && !failure.is_empty() {
            first_failing = Some((i, failure));
        }
    }
    if let Some(e) = failed {
        return Err(e);
    }
    let Some((k, reason)) = first_failing else {
        return Ok(());
    };
    // Scopes after the last sequence's for the candidates and the replay.
    let mut counter = u32::try_from(sequences.last().map_or(0, |&i| i + 1)).unwrap_or(u32::MAX);
    let shrinking = Shrinking::new(options.seed, k);
    let (minimal, reason) = shrink(
        session,
        shrinking,
        reason,
        &mut counter,
        options.jobs,
        options.shrink_runs,
    )
    .await?;
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
