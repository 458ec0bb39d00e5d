//! Random sequences: one sequence run in a scope of its own, probed after every call and on
//! the whole state it left, and how its outcome is joined into the run. It must not draw or
//! shrink sequences (see `shrinking`) nor decide how many run (see `plan`).

use crate::model::{Call, Registry};
use crate::report::SetupDivergence;
use crate::strategy::Scenario;
use crate::wire;

use super::cleanup::cleanup_scope;
use super::plan;
use super::session::{CheckError, Session};

/// Runs a random sequence in `scope`, in a part of the run of its own.
pub(super) async fn sequence_part(
    mut part: Session<'_>,
    scenario: Scenario,
    scope: String,
) -> (Session<'_>, Result<Sequence, CheckError>) {
    let outcome = run_scenario(&mut part, &scenario, &scope, false).await;
    (part, outcome)
}

/// Joins a random sequence's part, unrecorded; why it failed ("" when it passed).
pub(super) fn join_sequence<'t>(
    session: &mut Session<'t>,
    part: Session<'t>,
    outcome: Result<Sequence, CheckError>,
    failed: &mut Option<CheckError>,
) -> String {
    join_sequence_recorded(session, part, outcome, failed, false)
}

pub(super) fn join_sequence_recorded<'t>(
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
pub(super) enum Sequence {
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

/// Sends the given probes at once, each in a part of its own, and joins what they found in
/// their order: the same report as one after the other, in one round trip.
async fn probe_together(
    session: &mut Session<'_>,
    state: &Registry,
    probes: Vec<(String, Vec<u8>)>,
) -> Result<Vec<crate::oracle::Violation>, CheckError> {
    let sends = probes.into_iter().map(|(name, body)| {
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
pub(super) async fn run_scenario(
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
        // The step's request, and every image the repository holds now (see
        // `plan::step_probes`), sent together; joined in that order.
        let probes = plan::step_probes(state, &request)
            .into_iter()
            .map(|(asks, probe)| {
                let name = match asks.as_str() {
                    "" => format!("random sequence {scope}, after step {step}"),
                    asks => format!("random sequence {scope}, {asks} after step {step}"),
                };
                (name, wire::encode_request(&probe).body)
            })
            .collect();
        let found = probe_together(session, state, probes).await?;
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
