//! The phases of a run: seed the fixture, run every contract case, probe authentication, run
//! random sequences (shrinking a failing one), clean up.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{StreamExt as _, stream};

use crate::model::{Call, CallOutput, Registry};
use crate::oracle::{Observed, RuleId, check_unsigned};
use crate::remote::HttpTarget;
use crate::report::{Report, Secrets, SetupDivergence};
use crate::strategy::cases::{Case, files};
use crate::strategy::{Scenario, arb_scenario};
use crate::wire::{self, Operation};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

use super::journal::{HeldJournal, Journal};
use super::plan;
use super::session::{CheckError, PutDigests, Session, SetupAnswer};

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

pub(super) fn now_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
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

/// Runs case number `index` in a part of the run of its own.
async fn case_part<'t>(
    mut part: Session<'t>,
    base: &Registry,
    case: &Case,
    seed: &[Call],
    index: usize,
) -> (Session<'t>, Result<(), CheckError>) {
    let outcome = run_case(&mut part, base, case, seed, index).await;
    (part, outcome)
}

/// Runs a random sequence in `scope`, in a part of the run of its own.
async fn sequence_part(
    mut part: Session<'_>,
    scenario: Scenario,
    scope: String,
) -> (Session<'_>, Result<Sequence, CheckError>) {
    let outcome = run_scenario(&mut part, &scenario, &scope, false).await;
    (part, outcome)
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

/// STATE-PUT-DIGEST before anything else: pushes the fixture's first image without
/// `imageDigest` in a scope of its own. A server that answers with a digest of its own is
/// seeded from then on with `imageDigest` named (see `Session::pin_digests`).
async fn probe_put_digest(session: &mut Session<'_>) -> Result<(), CheckError> {
    let calls = session.fixture.calls();
    let first_put = calls
        .iter()
        .position(|c| c.operation() == Operation::PutImage)
        .unwrap_or(0);
    let mut mirror = None;
    for call in &calls[..=first_put] {
        // A refusal here is met again, and reported, when the fixture is seeded.
        if session
            .apply("digest", call, &mut mirror)
            .await?
            .refusal()
            .is_some()
        {
            break;
        }
    }
    // A server that reports digests of its own is from now on told the digest, and its
    // answers then carry it: whether `imageDigest` is the manifest's SHA-256 (MAN-DIGEST) is
    // judged here, on the image it named itself, not only on those the harness named.
    let tag = match calls.get(first_put) {
        Some(Call::PutImage(put)) => put.image_tag.clone(),
        _ => None,
    };
    if let (Some(mirror), Some(tag), false) =
        (&mirror, tag, session.put_digests == PutDigests::Content)
    {
        let request = wire::BatchGetImageRequest {
            repository_name: Some(session.name("digest", "team/app")),
            image_ids: Some(vec![wire::ImageIdentifier::tag(tag)]),
            ..Default::default()
        };
        let body = wire::encode_request(&request).body;
        session
            .probe("the image of the PutImage digest probe", mirror, body, None)
            .await?;
    }
    cleanup_scope(session, "digest").await
}

/// Seeds the standard fixture into `scope`; returns the model mirror of what the server holds.
/// A call the server answers otherwise than ECR is a setup divergence, and seeding goes on:
/// the mirror follows what the server holds, so what can still be judged is. Only a server
/// that accepts no call at all stops the run.
async fn seed_fixture(
    session: &mut Session<'_>,
    scope: &str,
    calls: Vec<Call>,
) -> Result<Registry, CheckError> {
    if calls.is_empty() {
        return session.empty_mirror();
    }
    let mut mirror: Option<Registry> = None;
    let mut first_refusal = None;
    for (step, call) in calls.iter().enumerate() {
        let refused = session.apply(scope, call, &mut mirror).await?.refusal();
        let divergence = match refused {
            Some(code) => Some((code, "success".to_owned())),
            None => session.take_divergence(),
        };
        if let Some((found, expected)) = divergence {
            first_refusal.get_or_insert_with(|| format!("{:?} answered {found}", call.operation()));
            session.setup_divergences.push(SetupDivergence {
                case: format!("fixture ({scope})"),
                step,
                call: call.operation().name().to_owned(),
                found,
                expected,
                judged: true,
            });
        }
    }
    mirror.ok_or_else(|| {
        let why = first_refusal.unwrap_or_else(|| "no call was answered".into());
        CheckError::Setup(format!(
            "seeding {scope}: the server accepts no call ({why})"
        ))
    })
}

/// Runs one contract case: its setup in a fresh copy of the fixture (when it has one), then
/// its request, judged against the mirror.
async fn run_case(
    session: &mut Session<'_>,
    base: &Registry,
    case: &Case,
    seed: &[Call],
    index: usize,
) -> Result<(), CheckError> {
    if case.require_blobs && session.layer_api != Some(true) {
        session.notes.push(format!(
            "case {} not run: it needs a server that requires uploaded blobs",
            case.name
        ));
        return Ok(());
    }
    let scope = if case.setup.is_empty() {
        "base".to_owned()
    } else {
        format!("c{index}")
    };
    // A case that changes state gets a scope of its own, seeded as the plan says: the
    // fixture repositories it names, with the images the model shows it needs.
    let mirror = match scope.as_str() {
        "base" => base.clone(),
        _ => seed_fixture(session, &scope, seed.to_vec()).await?,
    };
    let Some(mirror) = run_setup(session, case, &scope, mirror).await? else {
        let pairs = case_would_reach(&session.fixture, seed, case);
        let probe = format!("case {}", case.name);
        session.covered.record_blocked(pairs, &probe);
        return cleanup_scope(session, &scope).await;
    };
    let body = request_body(session, case, &scope);
    let unjudged = session.unjudged_by_digest;
    session
        .probe(
            &format!("case {}", case.name),
            &mirror,
            body,
            case.context_rule(),
        )
        .await?;
    if session.unjudged_by_digest == unjudged {
        session.exercised.extend(case.rules());
    }
    cleanup_scope(session, &scope).await
}

/// What `case` would have exercised, its setup calls and its request, had the server answered
/// its setup as ECR does: the model's answer on its `seed` (pure).
fn case_would_reach(
    fixture: &crate::strategy::Fixture,
    seed: &[Call],
    case: &Case,
) -> std::collections::BTreeSet<crate::oracle::coverage::Reached> {
    use crate::oracle::coverage::{exercised_by_calls, exercised_by_request};
    let setup: Vec<Call> = case
        .setup
        .iter()
        .filter_map(|step| step.to_call(fixture).ok())
        .collect();
    let start = crate::strategy::build_registry(seed);
    let mut pairs = exercised_by_calls(&start, &setup);
    let state = crate::strategy::build_registry(&[seed, &setup[..]].concat());
    let body = case.body(fixture, |name| Some(name.to_owned()));
    let request = wire::decode_body::<wire::BatchGetImageRequest>(&body)
        .map(|decoded| decoded.value)
        .unwrap_or_default();
    let expected = crate::model::batch_get_image(&state, &request);
    pairs.extend(exercised_by_request(&state, &request, &expected));
    pairs
}

/// A case's setup calls in `scope`, on top of the fixture `mirror` holds; the mirror after
/// them, or `None` when the server answered so that the case can no longer be judged (each
/// difference from ECR is recorded as a setup divergence).
async fn run_setup(
    session: &mut Session<'_>,
    case: &Case,
    scope: &str,
    mirror: Registry,
) -> Result<Option<Registry>, CheckError> {
    let mut mirror = Some(mirror);
    // The cases name upload ids as the model numbers them; a server has its own.
    let mut uploads: Vec<Option<String>> = Vec::new();
    for (i, step) in case.setup.iter().enumerate() {
        let call = step.to_call(&session.fixture).map_err(CheckError::Setup)?;
        let mut call = session.scoped(scope, &call);
        if let Call::UploadLayerPart(wire::UploadLayerPartRequest { upload_id, .. })
        | Call::CompleteLayerUpload(wire::CompleteLayerUploadRequest { upload_id, .. }) =
            &mut call
        {
            let k = upload_id.as_deref().map_or(0, |id| {
                usize::from_str_radix(id.rsplit('-').next().unwrap_or("0"), 16).unwrap_or(0)
            });
            if let Some(actual) = k.checked_sub(1).and_then(|k| uploads.get(k)) {
                upload_id.clone_from(actual);
            }
        }
        let answer = session.apply_scoped(call, &mut mirror).await?;
        if let SetupAnswer::Accepted(answer) = &answer
            && step.call == Operation::InitiateLayerUpload.name()
        {
            uploads.push(match answer {
                Some(CallOutput::InitiateLayerUpload(started)) => started.upload_id.clone(),
                _ => None,
            });
        }
        let refused = answer.refusal();
        let divergence = |found: String, expected: String, judged: bool| SetupDivergence {
            case: case.name.clone(),
            step: i,
            call: step.call.clone(),
            found,
            expected,
            judged,
        };
        if let Some((found, expected)) = session.take_divergence() {
            session
                .setup_divergences
                .push(divergence(found, expected, false));
            return Ok(None);
        }
        match (refused, &step.error) {
            (None, None) => {}
            (Some(code), Some(want)) if &code == want => {}
            (refused, want) => {
                // Refused with another code than ECR's: server and mirror are alike, the probe
                // is still judged. Refused where ECR accepts: the case's scenario never
                // happened. Accepted where ECR refuses: a state nothing can mirror.
                let judged = refused.is_some() && want.is_some();
                session.setup_divergences.push(divergence(
                    refused.unwrap_or_else(|| "success".into()),
                    want.clone().unwrap_or_else(|| "success".into()),
                    judged,
                ));
                if !judged {
                    return Ok(None);
                }
            }
        }
    }
    Ok(mirror)
}

async fn cleanup_scope(session: &mut Session<'_>, scope: &str) -> Result<(), CheckError> {
    match scope {
        "base" => Ok(()),
        _ => {
            let prefix = format!("{}/{scope}/", session.prefix);
            session.cleanup(Some(&prefix)).await
        }
    }
}

/// The case's request, expanded and moved into `scope`.
fn request_body(session: &Session<'_>, case: &Case, scope: &str) -> Vec<u8> {
    case.body(&session.fixture, |name| {
        let mut name = Some(name.to_owned());
        session.scope_name(scope, &mut name);
        name
    })
}

/// ROBUST-AUTH (may): an unsigned request is refused with an authentication error.
async fn probe_auth(session: &mut Session<'_>) -> Result<(), CheckError> {
    if session.target.credentials().is_none() {
        session.notes.push(
            "ROBUST-AUTH not exercised: no credentials, so every request was unsigned".into(),
        );
        return Ok(());
    }
    let request = wire::BatchGetImageRequest {
        repository_name: Some(session.name("base", "team/app")),
        image_ids: Some(vec![wire::ImageIdentifier::tag("v1")]),
        ..Default::default()
    };
    let exchange = session
        .target
        .send_unsigned(
            Operation::BatchGetImage,
            wire::encode_request(&request).body,
        )
        .await?;
    session.exercised.insert(RuleId::RobustAuth);
    let observed = Observed::from_http(exchange.status, &exchange.headers, &exchange.body);
    for v in check_unsigned(&observed) {
        session.record(v, "unsigned BatchGetImage", &exchange);
    }
    Ok(())
}

/// Random sequences from the project's generators, each on fresh repositories, run side by
/// side; the first failing one, in the order they were drawn, is shrunk (one candidate at a
/// time, as proptest shrinks), then replayed once more to record its findings. The sequences
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
    let (minimal, reason) = shrink(session, shrinking, reason, &mut counter).await?;
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

/// Candidate runs a shrinking may take against an endpoint on this machine (proptest's own
/// default, `max_shrink_iters`-like), where a run takes milliseconds.
pub const SHRINK_RUNS: usize = 256;

/// Candidate runs a shrinking may take against an endpoint off this machine: each costs
/// round trips and pushes at ECR's quota (a failing run took up to 20 minutes to shrink
/// with 256). When it is hit the report says so, and the sequence reported may not be the
/// smallest.
pub const SHRINK_RUNS_OFF_LOOPBACK: usize = 32;

/// Shrinks a failing sequence: simplifies while it still fails, complicates back when it
/// passes, for at most [`SHRINK_RUNS`] runs ([`SHRINK_RUNS_OFF_LOOPBACK`] off this machine;
/// proptest's own loop, driven here so that each run can await the server). The smallest
/// failing sequence found, and why it fails.
async fn shrink(
    session: &mut Session<'_>,
    mut shrinking: Shrinking,
    mut reason: String,
    counter: &mut u32,
) -> Result<(Scenario, String), CheckError> {
    let mut minimal = shrinking.current();
    if !shrinking.step(true) {
        return Ok((minimal, reason));
    }
    let cap = match session.target.is_loopback() {
        true => SHRINK_RUNS,
        false => SHRINK_RUNS_OFF_LOOPBACK,
    };
    let mut runs = 0;
    loop {
        if runs == cap {
            session.shrinking_capped = true;
            session.notes.push(format!(
                "shrinking stopped at its cap of {cap} candidate runs: the failing sequence reported may not be the smallest"
            ));
            break;
        }
        runs += 1;
        *counter += 1;
        let mut part = session.fork();
        let candidate = shrinking.current();
        // A candidate is judged failing at its first failure: the rest is not sent.
        let outcome = run_scenario(&mut part, &candidate, &format!("p{counter}"), true).await;
        let mut failed = None;
        let failure = join_sequence(session, part, outcome, &mut failed);
        if let Some(e) = failed {
            return Err(e);
        }
        let fails = !failure.is_empty();
        if fails {
            minimal = candidate;
            reason = failure;
        }
        // Simplify a failing candidate further; complicate a passing one back.
        if !shrinking.step(fails) {
            break;
        }
    }
    Ok((minimal, reason))
}

/// The random sequence numbered `index` of a run's `seed`, and where its shrinking has got
/// to: the simplify (`true`) and complicate (`false`) steps taken so far. Each sequence is
/// drawn from a generator of its own, so that it is the same whatever the others and
/// however many run at once. proptest's value trees are not `Send`, so none is kept across
/// a request: the tree is drawn again and the steps replayed when needed (cheap beside a
/// request).
struct Shrinking {
    seed: u64,
    index: usize,
    steps: Vec<bool>,
}

impl Shrinking {
    fn new(seed: u64, index: usize) -> Self {
        Self {
            seed,
            index,
            steps: Vec::new(),
        }
    }

    /// The tree with every step so far replayed, and whether the last step changed it.
    fn replayed(&self) -> (impl ValueTree<Value = Scenario>, bool) {
        let mut rng_seed = [0u8; 32];
        rng_seed[..8].copy_from_slice(&self.seed.to_le_bytes());
        rng_seed[8..16].copy_from_slice(&(self.index as u64).to_le_bytes());
        let mut runner = TestRunner::new_with_rng(
            Config::default(),
            TestRng::from_seed(RngAlgorithm::ChaCha, &rng_seed),
        );
        let mut tree = arb_scenario()
            .new_tree(&mut runner)
            .unwrap_or_else(|e| unreachable!("the scenario strategy rejects nothing: {e}"));
        let mut changed = true;
        for &simplify in &self.steps {
            changed = if simplify {
                tree.simplify()
            } else {
                tree.complicate()
            };
        }
        (tree, changed)
    }

    fn current(&self) -> Scenario {
        self.replayed().0.current()
    }

    /// Takes a simplify or complicate step; whether there was one to take.
    fn step(&mut self, simplify: bool) -> bool {
        self.steps.push(simplify);
        self.replayed().1
    }
}

/// Joins a random sequence's part, unrecorded; why it failed ("" when it passed).
fn join_sequence<'t>(
    session: &mut Session<'t>,
    part: Session<'t>,
    outcome: Result<Sequence, CheckError>,
    failed: &mut Option<CheckError>,
) -> String {
    join_sequence_recorded(session, part, outcome, failed, false)
}

fn join_sequence_recorded<'t>(
    session: &mut Session<'t>,
    part: Session<'t>,
    outcome: Result<Sequence, CheckError>,
    failed: &mut Option<CheckError>,
    record: bool,
) -> String {
    session.join(part, record);
    match outcome {
        Err(e) => {
            failed.get_or_insert(e);
            String::new()
        }
        Ok(Sequence::Diverged { divergence, note }) => {
            // Listed once per kind, with step 0, so that a ledger can name it whatever the
            // seed: sequences and their numbering change from run to run.
            if !session.setup_divergences.contains(&divergence) {
                session.notes.push(note);
                session.setup_divergences.push(divergence);
            }
            String::new()
        }
        Ok(Sequence::Judged(violations)) => violations.join("; "),
    }
}

/// How a random sequence went.
enum Sequence {
    /// Every step was judged: the violations at `should` level or above.
    Judged(Vec<String>),
    /// A setup call was answered otherwise than ECR: not judged from there on.
    Diverged {
        divergence: SetupDivergence,
        note: String,
    },
}

/// `(found, expected)` when the server refused `call` with `code` where the model, in the
/// state `before` it, accepts it (spec section 7, as a contract case's refused setup call);
/// `None` when the model refuses it too, or the refusal is a quota ECR may also answer.
fn refused_where_ecr_accepts(
    session: &Session<'_>,
    scope: &str,
    call: &Call,
    before: Option<Registry>,
    code: String,
) -> Option<(String, String)> {
    if code == "LimitExceededException" {
        return None;
    }
    let mut model = before?;
    let sent = session.scoped(scope, call);
    model
        .apply(&sent, 0.0)
        .is_ok()
        .then(|| (code, "success".to_owned()))
}

/// A BatchGetImage body asking the repository `request` names for every image it holds in
/// `state`, by digest and by tag (at most 100 ids, the most a request may name, in a fixed
/// order); `None` when it holds
/// none.
fn whole_state(state: &Registry, request: &wire::BatchGetImageRequest) -> Option<Vec<u8>> {
    let name = request.repository_name.as_deref()?;
    let repository = state.repository(state.account.as_str(), name)?;
    let mut digests: Vec<String> = repository.images.keys().map(ToString::to_string).collect();
    let mut tags: Vec<String> = repository.tags.keys().map(ToString::to_string).collect();
    digests.sort();
    tags.sort();
    let ids: Vec<wire::ImageIdentifier> = digests
        .into_iter()
        .map(wire::ImageIdentifier::digest)
        .chain(tags.into_iter().map(wire::ImageIdentifier::tag))
        .take(100)
        .collect();
    if ids.is_empty() {
        return None;
    }
    let whole = wire::BatchGetImageRequest {
        repository_name: Some(name.to_owned()),
        image_ids: Some(ids),
        ..Default::default()
    };
    Some(wire::encode_request(&whole).body)
}

/// Sends the given probes at once, each in a part of its own, and joins what they found in
/// their order: the same report as one after the other, in one round trip.
async fn probe_together(
    session: &mut Session<'_>,
    state: &Registry,
    probes: [Option<(String, Vec<u8>)>; 2],
) -> Result<Vec<crate::oracle::Violation>, CheckError> {
    let sends = probes.into_iter().flatten().map(|(name, body)| {
        let mut part = session.fork();
        async move {
            let found = part.probe(&name, state, body, None).await;
            (part, found)
        }
    });
    let mut found = Vec::new();
    let mut failed = None;
    for (part, outcome) in futures_util::future::join_all(sends).await {
        session.join(part, true);
        match outcome {
            Ok(violations) => found.extend(violations),
            Err(e) => failed = failed.or(Some(e)),
        }
    }
    failed.map_or(Ok(found), Err)
}

/// Runs one random sequence in `scope`, probing its request after every call (a state
/// machine's postcondition, checked after each transition).
async fn run_scenario(
    session: &mut Session<'_>,
    scenario: &Scenario,
    scope: &str,
    first_failure: bool,
) -> Result<Sequence, CheckError> {
    // Only the calls whose answer is not known in advance are sent (see `plan::lean`).
    let scenario = &plan::lean(scenario);
    let mut mirror: Option<Registry> = Some(session.empty_mirror()?);
    let mut request = scenario.request.clone();
    session.scope_name(scope, &mut request.repository_name);
    let body = wire::encode_request(&request).body;
    let mut violations = Vec::new();
    for (step, call) in scenario.calls.iter().enumerate() {
        // A refusal the model allows changes nothing, on the server and in the mirror; a
        // refusal of a call ECR accepts (the sequence never happened), an acceptance the model
        // refuses, or a delete that fails other ids, leaves a state the mirror cannot follow.
        let answer = session.apply(scope, call, &mut mirror).await?;
        let divergence = match answer.refusal() {
            // A refused call leaves the mirror as it was before it.
            Some(code) => refused_where_ecr_accepts(session, scope, call, mirror.clone(), code),
            None => session.take_divergence(),
        };
        if let Some((found, expected)) = divergence {
            let divergence = SetupDivergence {
                case: "random sequences".into(),
                step: 0,
                call: call.operation().name().to_owned(),
                found,
                expected,
                judged: false,
            };
            let note =
                format!("random sequence {scope}: step {step} diverged ({divergence}); not judged");
            cleanup_scope(session, scope).await?;
            return Ok(Sequence::Diverged { divergence, note });
        }
        let Some(state) = &mirror else { continue };
        // The step's request, and every image the repository holds now, by digest and by
        // tag (the whole state the step left), sent together; joined in that order.
        let found = probe_together(
            session,
            state,
            [
                Some((
                    format!("random sequence {scope}, after step {step}"),
                    body.clone(),
                )),
                whole_state(state, &request).map(|whole| {
                    let probe = format!("random sequence {scope}, every image after step {step}");
                    (probe, whole)
                }),
            ],
        )
        .await?;
        violations.extend(
            found
                .iter()
                .filter(|v| v.fails_at(crate::oracle::Level::Should))
                .map(|v| format!("after step {step}: {v}")),
        );
        if first_failure && !violations.is_empty() {
            break;
        }
    }
    if scenario.calls.is_empty() {
        let state = session.empty_mirror()?;
        let probe = format!("random sequence {scope}");
        let found = session.probe(&probe, &state, body, None).await?;
        violations.extend(
            found
                .iter()
                .filter(|v| v.fails_at(crate::oracle::Level::Should))
                .map(ToString::to_string),
        );
    }
    cleanup_scope(session, scope).await?;
    Ok(Sequence::Judged(violations))
}
