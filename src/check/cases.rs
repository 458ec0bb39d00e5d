//! The contract cases: one case in a part of the run of its own, its setup in a fresh scope,
//! its request judged against the mirror, and what it would have reached had its setup been
//! answered as ECR does. It must not run anything but the case it is given.

use crate::model::{Call, CallOutput, Registry};
use crate::report::SetupDivergence;
use crate::strategy::cases::Case;
use crate::wire::{self, Operation};

use super::cleanup::cleanup_scope;
use super::plan::CaseScope;
use super::seeding::seed_fixture;
use super::session::{CheckError, Session};
use super::setup::SetupAnswer;

/// Runs case number `index` in a part of the run of its own.
pub(super) async fn case_part<'t>(
    mut part: Session<'t>,
    base: &Registry,
    case: &Case,
    seed: &[Call],
    index: usize,
) -> (Session<'t>, Result<(), CheckError>) {
    let outcome = run_case(&mut part, base, case, seed, index).await;
    (part, outcome)
}

/// One case of a shared scope: its index, the part of the run it gathered, and how it went.
pub(super) type Member<'t> = (usize, Session<'t>, Result<(), CheckError>);

/// Runs the cases of a scope the plan shares (`plan::case_scopes`), one after another in a
/// part of the run of their own: the scope seeded once, each case's setup and request on the
/// state the cases before it left, each case gathered in a part of its own, so that the run
/// joins them in the cases' order. Once a case's setup leaves a state the mirror cannot
/// follow, the cases after it each run alone, in a scope and on a seed of their own, as they
/// would without sharing.
pub(super) async fn shared_part<'t>(
    mut part: Session<'t>,
    cases: &[Case],
    seeds: &[Vec<Call>],
    scope: &CaseScope,
) -> (Session<'t>, Vec<Member<'t>>, Result<(), CheckError>) {
    let Some(&first) = scope.cases.first() else {
        return (part, Vec::new(), Ok(()));
    };
    let name = format!("c{first}");
    let mut mirror = match seed_fixture(&mut part, &name, scope.seed.clone()).await {
        Ok(mirror) => Some(mirror),
        Err(e) => return (part, Vec::new(), Err(e)),
    };
    let mut members = Vec::new();
    for &index in &scope.cases {
        let case = &cases[index];
        let mut member = part.fork();
        member.uploaded = std::mem::take(&mut part.uploaded);
        let outcome = match mirror.take() {
            Some(state) => judge_case(&mut member, case, &name, state, &seeds[index])
                .await
                .map(|after| mirror = after),
            None => run_alone(&mut member, case, &seeds[index], index).await,
        };
        // What the scope holds stays the scope's: its blobs for the next case's pushes, its
        // repositories for its cleanup; what the case learned of the server, for the next.
        part.uploaded = std::mem::take(&mut member.uploaded);
        part.created.append(&mut member.created);
        part.learn_from(&member);
        members.push((index, member, outcome));
    }
    let cleanup = cleanup_scope(&mut part, &name).await;
    (part, members, cleanup)
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
    if case.setup.is_empty() {
        return judge_case(session, case, "base", base.clone(), seed)
            .await
            .map(drop);
    }
    run_alone(session, case, seed, index).await
}

/// Runs a case that changes state in a scope of its own, `c<index>`, seeded with `seed` (a
/// case that needs uploaded blobs is never shared, so the caller has checked that it may run).
async fn run_alone(
    session: &mut Session<'_>,
    case: &Case,
    seed: &[Call],
    index: usize,
) -> Result<(), CheckError> {
    let scope = format!("c{index}");
    let mirror = seed_fixture(session, &scope, seed.to_vec()).await?;
    judge_case(session, case, &scope, mirror, seed).await?;
    cleanup_scope(session, &scope).await
}

/// A case's setup in `scope`, on the state `mirror` holds, then its request, judged: the
/// mirror after it, or `None` when its setup was answered so that the case could not be
/// judged (what it would have reached, had ECR answered, is recorded as blocked; `seed` is
/// the case's own seed, for that).
async fn judge_case(
    session: &mut Session<'_>,
    case: &Case,
    scope: &str,
    mirror: Registry,
    seed: &[Call],
) -> Result<Option<Registry>, CheckError> {
    let Some(mirror) = run_setup(session, case, scope, mirror).await? else {
        let pairs = case_would_reach(&session.fixture, seed, case);
        let probe = format!("case {}", case.name);
        session.covered.record_blocked(pairs, &probe);
        return Ok(None);
    };
    let body = request_body(session, case, scope);
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
    Ok(Some(mirror))
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

/// The case's request, expanded and moved into `scope`.
fn request_body(session: &Session<'_>, case: &Case, scope: &str) -> Vec<u8> {
    case.body(&session.fixture, |name| {
        let mut name = Some(name.to_owned());
        session.scope_name(scope, &mut name);
        name
    })
}
