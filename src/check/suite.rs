//! The phases of a run: seed the fixture, run every contract case, probe authentication, run
//! random sequences (shrinking a failing one), clean up.

use std::time::{Duration, Instant};

use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
use serde_json::Value;

use crate::model::{Call, Registry};
use crate::oracle::{Observed, RuleId, check_unsigned};
use crate::report::{Report, SetupDivergence};
use crate::strategy::{Scenario, arb_scenario};
use crate::target::HttpTarget;
use crate::wire::Operation;

use super::cases::{Case, files};
use super::journal::Journal;
use super::session::{CheckError, PutDigests, Session};

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Random sequences in the property phase.
    pub cases: u32,
    /// Seed of the property phase (and of the run prefix).
    pub seed: u64,
    /// How long a read may take to see a write.
    pub settle: Duration,
    /// Keep the created repositories.
    pub keep: bool,
    /// Where to journal created repositories.
    pub journal: Journal,
    /// Called after each probe with (done, total).
    pub progress: Option<fn(u64, u64)>,
    /// The registry API's base URL (default: derived from the endpoint, see `check::pull`).
    pub registry_url: Option<String>,
}

/// Runs the whole suite against `target`.
pub async fn run(target: &HttpTarget, options: &Options) -> Result<Report, CheckError> {
    let started = Instant::now();
    let run_id = options.seed ^ u64::from(std::process::id()).rotate_left(32) ^ now_nanos();
    let prefix = format!("ecr-contract-{:08x}", run_id & 0xffff_ffff);
    let mut session = Session::new(
        target,
        prefix.clone(),
        options.journal.clone(),
        options.settle,
    );
    let outcome = phases(&mut session, options).await;
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
        property_cases: options.cases,
        seconds: started.elapsed().as_secs_f64(),
        retries: session.retries,
        settle_seconds: session.settle_needed.as_secs_f64(),
        findings: std::mem::take(&mut session.findings),
        exercised: std::mem::take(&mut session.exercised),
        setup_divergences: std::mem::take(&mut session.setup_divergences),
        notes: std::mem::take(&mut session.notes),
        ledger: None,
    };
    if let Some(credentials) = target.credentials() {
        report.redact(&credentials.secrets());
    }
    Ok(report)
}

pub(super) fn now_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

async fn phases(session: &mut Session<'_>, options: &Options) -> Result<(), CheckError> {
    probe_put_digest(session).await?;
    let base = seed_fixture(session, "base").await?;
    let all: Vec<Case> = files().into_iter().flat_map(|f| f.cases).collect();
    let total = (all.len() + 1) as u64 + u64::from(options.cases);
    let mut done = 0;
    for (i, case) in all.iter().enumerate() {
        run_case(session, &base, case, i).await?;
        done += 1;
        if let Some(progress) = options.progress {
            progress(done, total);
        }
    }
    probe_auth(session).await?;
    super::pull::probe_registry(session, &base, options.registry_url.as_deref()).await?;
    run_properties(session, options, done, total).await
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
        if session.apply("digest", call, &mut mirror).await?.is_err() {
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
        let request = crate::wire::BatchGetImageRequest {
            repository_name: Some(session.name("digest", "team/app")),
            image_ids: Some(vec![crate::wire::ImageIdentifier::tag(tag)]),
            ..Default::default()
        };
        let body = serde_json::to_vec(&request).unwrap_or_default();
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
async fn seed_fixture(session: &mut Session<'_>, scope: &str) -> Result<Registry, CheckError> {
    let mut mirror: Option<Registry> = None;
    let mut first_refusal = None;
    for (step, call) in session.fixture.calls().iter().enumerate() {
        let refused = session.apply(scope, call, &mut mirror).await?.err();
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
    let mut mirror = match scope.as_str() {
        "base" => base.clone(),
        _ => seed_fixture(session, &scope).await?,
    };
    // The cases name upload ids as the model numbers them; a server has its own.
    let mut uploads: Vec<Value> = Vec::new();
    for (i, step) in case.setup.iter().enumerate() {
        let call = step.to_call(&session.fixture).map_err(CheckError::Setup)?;
        let mut input = serde_json::to_value(&call).unwrap_or_default()["input"].take();
        session.rename(&scope, &mut input);
        if let Some(id) = input.get("uploadId").and_then(Value::as_str) {
            let k = usize::from_str_radix(id.rsplit('-').next().unwrap_or("0"), 16).unwrap_or(0);
            if let Some(actual) = k.checked_sub(1).and_then(|k| uploads.get(k)) {
                input["uploadId"] = actual.clone();
            }
        }
        let mut slot = Some(mirror);
        let answer = session
            .apply_input(call.operation(), &call, input, &mut slot)
            .await?;
        mirror = slot.unwrap_or_else(|| base.clone());
        if let Ok(answer) = &answer
            && call.operation() == Operation::InitiateLayerUpload
        {
            uploads.push(answer["uploadId"].clone());
        }
        let refused = answer.err();
        if let Some((found, expected)) = session.take_divergence() {
            session.setup_divergences.push(SetupDivergence {
                case: case.name.clone(),
                step: i,
                call: step.call.clone(),
                found,
                expected,
                judged: false,
            });
            return cleanup_scope(session, &scope).await;
        }
        match (refused, &step.error) {
            (None, None) => {}
            (Some(code), Some(want)) if &code == want => {}
            (refused, want) => {
                // Refused with another code than ECR's: server and mirror are alike, the probe
                // is still judged. Refused where ECR accepts: the case's scenario never
                // happened. Accepted where ECR refuses: a state nothing can mirror.
                let judged = refused.is_some() && want.is_some();
                session.setup_divergences.push(SetupDivergence {
                    case: case.name.clone(),
                    step: i,
                    call: step.call.clone(),
                    found: refused.unwrap_or_else(|| "success".into()),
                    expected: want.clone().unwrap_or_else(|| "success".into()),
                    judged,
                });
                if !judged {
                    return cleanup_scope(session, &scope).await;
                }
            }
        }
    }
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

async fn cleanup_scope(session: &mut Session<'_>, scope: &str) -> Result<(), CheckError> {
    match scope {
        "base" => Ok(()),
        _ => {
            let prefix = format!("{}/{scope}/", session.prefix);
            session.cleanup(Some(&prefix)).await
        }
    }
}

/// The case's request, expanded and renamed into `scope`; a raw body is renamed textually.
fn request_body(session: &Session<'_>, case: &Case, scope: &str) -> Vec<u8> {
    match super::cases::expand(&case.request, &session.fixture) {
        Value::String(raw) => {
            let mut raw = raw;
            for (name, _) in &session.fixture.repositories {
                raw = raw.replace(
                    &format!("\"{name}\""),
                    &format!("\"{}\"", session.name(scope, name)),
                );
            }
            raw.into_bytes()
        }
        mut value => {
            session.rename(scope, &mut value);
            serde_json::to_vec(&value).unwrap_or_default()
        }
    }
}

/// ROBUST-AUTH (may): an unsigned request is refused with an authentication error.
async fn probe_auth(session: &mut Session<'_>) -> Result<(), CheckError> {
    if session.target.credentials().is_none() {
        session.notes.push(
            "ROBUST-AUTH not exercised: no credentials, so every request was unsigned".into(),
        );
        return Ok(());
    }
    let body = serde_json::json!({"repositoryName": session.name("base", "team/app"), "imageIds": [{"imageTag": "v1"}]});
    let exchange = session
        .target
        .send_unsigned(
            Operation::BatchGetImage,
            serde_json::to_vec(&body).unwrap_or_default(),
        )
        .await?;
    session.exercised.insert(RuleId::RobustAuth);
    let observed = Observed::from_http(exchange.status, &exchange.headers, &exchange.body);
    for v in check_unsigned(&observed) {
        session.record(v, "unsigned BatchGetImage", &exchange);
    }
    Ok(())
}

/// Random sequences from the project's generators, each on fresh repositories; a failing one
/// is shrunk by proptest, then replayed once more to record its findings.
async fn run_properties(
    session: &mut Session<'_>,
    options: &Options,
    done: u64,
    total: u64,
) -> Result<(), CheckError> {
    if options.cases == 0 {
        return Ok(());
    }
    let mut seed = [0u8; 32];
    seed[..8].copy_from_slice(&options.seed.to_le_bytes());
    let config = Config {
        cases: options.cases,
        failure_persistence: None,
        max_shrink_iters: 256,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed));
    let handle = tokio::runtime::Handle::current();
    // proptest drives a synchronous `Fn` closure: each case blocks on the async session, whose
    // state sits in a RefCell for the closure's sake.
    let state = std::cell::RefCell::new((&mut *session, 0u32, done, None::<CheckError>));
    #[allow(clippy::result_large_err)] // proptest's TestError holds the failing scenario
    let result = tokio::task::block_in_place(|| {
        runner.run(&arb_scenario(), |scenario| {
            let mut guard = state.borrow_mut();
            let (session, counter, done, transport) = &mut *guard;
            *counter += 1;
            let scope = format!("p{counter}");
            let outcome = handle.block_on(run_scenario(session, &scenario, &scope, false));
            *done += 1;
            if let Some(progress) = options.progress {
                progress((*done).min(total), total);
            }
            match outcome {
                Ok(violations) if violations.is_empty() => Ok(()),
                Ok(violations) => Err(TestCaseError::fail(violations.join("; "))),
                Err(e) => {
                    *transport = Some(e);
                    Ok(())
                }
            }
        })
    });
    let (_, mut counter, _, transport) = state.into_inner();
    if let Some(e) = transport {
        return Err(e);
    }
    let failure = match result {
        Err(TestError::Fail(reason, minimal)) => Some((minimal, reason.to_string())),
        _ => None,
    };
    if let Some((minimal, reason)) = failure {
        counter += 1;
        let scope = format!("p{counter}");
        let calls = serde_json::to_string(&minimal.calls).unwrap_or_default();
        session.notes.push(format!(
            "random phase: a failing sequence, shrunk to {} calls: {calls}; then {reason}",
            minimal.calls.len()
        ));
        run_scenario(session, &minimal, &scope, true).await?;
    }
    Ok(())
}

/// Runs one random sequence in `scope`; returns the violations (recorded only when `record`).
async fn run_scenario(
    session: &mut Session<'_>,
    scenario: &Scenario,
    scope: &str,
    record: bool,
) -> Result<Vec<String>, CheckError> {
    let mut mirror: Option<Registry> = Some(session.empty_mirror()?);
    for (step, call) in scenario.calls.iter().enumerate() {
        // A refusal changes nothing, on the server and in the mirror; an acceptance the model
        // refuses, or a delete that fails other ids, leaves a state the mirror cannot follow.
        let _ = session.apply(scope, call, &mut mirror).await?;
        if let Some((found, expected)) = session.take_divergence() {
            // Listed once per kind, with step 0, so that a ledger can name it whatever the
            // seed: sequences and their numbering change from run to run.
            let divergence = SetupDivergence {
                case: "random sequences".into(),
                step: 0,
                call: call.operation().name().to_owned(),
                found,
                expected,
                judged: false,
            };
            if !session.setup_divergences.contains(&divergence) {
                session.notes.push(format!(
                    "random sequence {scope}: step {step} diverged ({divergence}); not judged"
                ));
                session.setup_divergences.push(divergence);
            }
            cleanup_scope(session, scope).await?;
            return Ok(vec![]);
        }
    }
    let mut request = serde_json::to_value(&scenario.request).unwrap_or_default();
    session.rename(scope, &mut request);
    let mirror = mirror.unwrap_or(session.empty_mirror()?);
    let findings_before = session.findings.len();
    let probes_before = session.probes;
    let violations = session
        .probe(
            &format!("random sequence {scope}"),
            &mirror,
            serde_json::to_vec(&request).unwrap_or_default(),
            None,
        )
        .await?;
    if !record {
        session.findings.truncate(findings_before);
        session.probes = probes_before + 1;
    }
    cleanup_scope(session, scope).await?;
    Ok(violations
        .iter()
        .filter(|v| v.fails_at(crate::oracle::Level::Should))
        .map(ToString::to_string)
        .collect())
}
