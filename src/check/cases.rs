//! The contract cases: one case in a part of the run of its own, its setup in a fresh scope,
//! its request judged against the mirror, and what it would have reached had its setup been
//! answered as ECR does. It must not run anything but the case it is given.

use crate::model::{Call, CallOutput, Registry};
use crate::report::SetupDivergence;
use crate::strategy::cases::Case;
use crate::wire::{self, Operation};

use super::cleanup::cleanup_scope;
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

/// The case's request, expanded and moved into `scope`.
fn request_body(session: &Session<'_>, case: &Case, scope: &str) -> Vec<u8> {
    case.body(&session.fixture, |name| {
        let mut name = Some(name.to_owned());
        session.scope_name(scope, &mut name);
        name
    })
}
