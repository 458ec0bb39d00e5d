//! Seeding: the STATE-PUT-DIGEST probe before anything else, and the standard fixture (or a
//! case's share of it) seeded into a scope, each divergence from ECR recorded. It must not
//! judge the cases' requests (see `cases`).

use crate::model::{Call, Registry};
use crate::report::SetupDivergence;
use crate::wire::{self, Operation};

use super::cleanup::cleanup_scope;
use super::digests::PutDigests;
use super::session::{CheckError, Session};

/// STATE-PUT-DIGEST before anything else: pushes the fixture's first image without
/// `imageDigest` in a scope of its own. A server that answers with a digest of its own is
/// seeded from then on with `imageDigest` named (see `Session::pin_digests`).
pub(super) async fn probe_put_digest(session: &mut Session<'_>) -> Result<(), CheckError> {
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
pub(super) async fn seed_fixture(
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
