//! The push probes: a server's registry API taking pushes (spec `registry-api.md` section 6),
//! each answer judged by the oracle's `REG-PUSH-*` functions with what BatchGetImage and
//! BatchCheckLayerAvailability show after it. The registry API is found as the pull probes
//! find it; a server without one has every `REG-PUSH-*` rule left not exercised.
//!
//! Everything is pushed into repositories created (and journalled) under the run's prefix,
//! in the scope `push`; an absent repository is probed under a name nobody creates.

mod exchange;
mod manifests;
mod uploads;

use crate::model::Call;
use crate::oracle::has_registry_api;
use crate::wire;

use super::pull::observed;
use super::session::{CheckError, Session};
use super::setup::SetupAnswer;
use manifests::{absent, immutable, manifests};
use uploads::{big_upload, blob_upload, refusals};

/// ECR's smallest layer part other than the last (5 MiB): the big blob's first chunk.
pub(super) const PART: usize = 5 * 1024 * 1024;

/// The most bytes of a pushed blob fetched back: the big blob is just over [`PART`].
pub(super) const PUSHED_BLOB_BYTES: usize = 2 * PART;

/// One push conversation: the registry's base URL, the `Authorization` value, the repository.
pub(super) struct Pusher {
    pub(super) base: String,
    pub(super) authorization: String,
    pub(super) name: String,
}

/// Probes the push path of the registry API at `given` (else derived from the endpoint).
pub(super) async fn probe_push(
    session: &mut Session<'_>,
    given: Option<&str>,
) -> Result<(), CheckError> {
    let Some(account) = session.account.as_ref().map(ToString::to_string) else {
        return Ok(());
    };
    let base = super::pull::registry_url(session.target.url(), given, &account);
    let ping = session
        .target
        .fetch("GET", &format!("{base}/v2/"), &[])
        .await?;
    if !has_registry_api(&observed(&ping)) {
        session.notes.push(format!(
            "no registry API at {base}/v2/: the REG-PUSH-* rules were not exercised"
        ));
        return Ok(());
    }
    let Some(authorization) = token(session).await? else {
        session
            .notes
            .push("no registry token: the REG-PUSH-* rules were not exercised".into());
        return Ok(());
    };
    let name = session.name("push", "app");
    if !create(session, &name, "MUTABLE").await? {
        return Ok(());
    }
    let pusher = Pusher {
        base,
        authorization,
        name,
    };
    let config = blob_upload(
        session,
        &pusher,
        b"{\"architecture\":\"amd64\",\"os\":\"linux\"}",
    )
    .await?;
    let layer: Vec<u8> = (0..PART + 4099).map(|i| (i % 251) as u8).collect();
    let layer = big_upload(session, &pusher, &layer).await?;
    refusals(session, &pusher).await?;
    manifests(session, &pusher, &config, &layer).await?;
    immutable(session, &pusher).await?;
    absent(session, &pusher).await
}

/// Creates repository `name` (journalled) with `mutability`; `false` with a note when the
/// server refuses.
async fn create(
    session: &mut Session<'_>,
    name: &str,
    mutability: &str,
) -> Result<bool, CheckError> {
    let call = Call::CreateRepository(wire::CreateRepositoryRequest {
        repository_name: Some(name.to_owned()),
        image_tag_mutability: Some(mutability.to_owned()),
        ..Default::default()
    });
    let mut mirror = None;
    match session.apply_scoped(call, &mut mirror).await? {
        SetupAnswer::Accepted(_) => Ok(true),
        SetupAnswer::Refused(code) => {
            session.notes.push(format!(
                "the push probes need a {mutability} repository: CreateRepository answered {code}; the REG-PUSH-* rules it needs were not exercised"
            ));
            Ok(false)
        }
    }
}

/// The `Authorization` value of GetAuthorizationToken's token (judged by the pull probes).
async fn token(session: &mut Session<'_>) -> Result<Option<String>, CheckError> {
    let (exchange, data) = super::pull::authorization(session).await?;
    let token = data.into_iter().next().and_then(|d| d.authorization_token);
    Ok(token
        .filter(|_| exchange.status == 200)
        .map(|t| format!("Basic {t}")))
}
