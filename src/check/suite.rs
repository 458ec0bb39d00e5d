//! The phases of a run: seed the fixture, run every contract case, probe authentication, run
//! random sequences (shrinking a failing one), clean up.

use std::time::{Duration, Instant};

use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
use serde_json::Value;

use crate::r#gen::{Scenario, arb_scenario};
use crate::model::Registry;
use crate::oracle::RuleId;
use crate::report::{Report, SetupDivergence};
use crate::target::HttpTarget;
use crate::wire::Operation;

use super::cases::{Case, files};
use super::journal::Journal;
use super::session::{CheckError, Session, error_code};

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
    cleanup_scope(session, "digest").await
}

/// Seeds the standard fixture into `scope`; returns the model mirror of what the server holds.
async fn seed_fixture(session: &mut Session<'_>, scope: &str) -> Result<Registry, CheckError> {
    let mut mirror: Option<Registry> = None;
    for call in &session.fixture.calls() {
        if let Err(code) = session.apply(scope, call, &mut mirror).await? {
            return Err(CheckError::Setup(format!(
                "seeding {scope}: {:?} failed with {code}",
                call.operation()
            )));
        }
    }
    mirror.ok_or_else(|| CheckError::Setup("nothing seeded".into()))
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
        match (refused, &step.error) {
            (None, None) => {}
            (Some(code), Some(want)) if &code == want => {}
            (Some(code), None) => {
                session.notes.push(format!(
                    "case {} not run: setup step {i} ({}) failed with {code}",
                    case.name, step.call
                ));
                return cleanup_scope(session, &scope).await;
            }
            (refused, want) => {
                let judged = refused.is_some();
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
    session
        .probe(
            &format!("case {}", case.name),
            &mirror,
            body,
            case.context_rule(),
        )
        .await?;
    session.exercised.extend(case.rules());
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
    let code = error_code(&exchange);
    let auth_codes = [
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "MissingAuthenticationTokenException",
        "AccessDeniedException",
        "IncompleteSignatureException",
    ];
    if !(400..500).contains(&exchange.status) || !auth_codes.contains(&code.as_str()) {
        let found = format!(
            "HTTP {} {}",
            exchange.status,
            if exchange.status == 200 {
                "with the images"
            } else {
                &code
            }
        );
        let v = crate::oracle::Violation::new(
            RuleId::RobustAuth,
            "",
            "a 4xx authentication error",
            found,
        );
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
    for call in &scenario.calls {
        let _ = session.apply(scope, call, &mut mirror).await?;
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
