//! The manifest probes: by tag, refused, deleted, on an immutable repository, into an
//! absent repository.

use crate::model::ImageDigest;
use crate::model::manifest::{OCI, OCI_INDEX};
use crate::oracle::{
    RuleId, check_absent_repository, check_delete_refused, check_deleted, check_immutable,
    check_manifest_pushed, check_manifest_type, check_refused,
};
use crate::remote::{Fetched, TransportError};
use crate::wire::{self, Operation};

use super::super::pull::{judge, observed};
use super::super::session::{CheckError, Session};
use super::exchange::{batch_get, next_location, range, send, with_digest};
use super::uploads::start;
use super::{Pusher, create};

/// An OCI manifest of `config` and `layers`, with `salt` as an annotation.
pub(super) fn manifest(config: &str, layers: &[&str], salt: &str) -> String {
    let descriptor = |media: &str, digest: &str| serde_json::json!({"mediaType": media, "digest": digest, "size": 1});
    let layers: Vec<serde_json::Value> = layers
        .iter()
        .map(|d| descriptor("application/vnd.oci.image.layer.v1.tar+gzip", d))
        .collect();
    serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI,
        "config": descriptor("application/vnd.oci.image.config.v1+json", config),
        "layers": layers,
        "annotations": {"ecr-contract": salt},
    })
    .to_string()
}

/// Manifests by tag (then pulled, and deleted by digest) and the ones ECR refuses.
pub(super) async fn manifests(
    session: &mut Session<'_>,
    pusher: &Pusher,
    config: &str,
    layer: &str,
) -> Result<(), CheckError> {
    let name = pusher.name.clone();
    let text = manifest(config, &[layer], "by tag");
    let put = put_manifest(session, pusher, &name, "v1", &text).await?;
    let image = batch_get(session, &name, wire::ImageIdentifier::tag("v1")).await?;
    judge(
        session,
        "registry PUT of a manifest by tag",
        &put,
        check_manifest_pushed(text.as_bytes(), &observed(&put), image.as_ref()),
        &[RuleId::RegPushManifest],
    );
    if let Some(image) = &image {
        judge(
            session,
            "BatchGetImage after a registry push",
            &put,
            check_manifest_type(Some(OCI), OCI, image),
            &[RuleId::RegPushManifestType],
        );
    }
    let other = manifest(config, &[], "by another digest");
    let wrong = ImageDigest::of(text.as_bytes()).to_string();
    let refused = put_manifest(session, pusher, &name, &wrong, &other).await?;
    let stored = batch_get(
        session,
        &name,
        wire::ImageIdentifier::digest(ImageDigest::of(other.as_bytes()).to_string()),
    )
    .await?
    .is_some();
    judge(
        session,
        "registry PUT of a manifest under a digest that is not its own",
        &refused,
        check_refused(
            "a digest reference that does not match",
            &observed(&refused),
            stored,
        ),
        &[RuleId::RegPushRefused],
    );
    let invalid = put_manifest(session, pusher, &name, "ecr-contract-invalid", "{not json").await?;
    let stored = batch_get(
        session,
        &name,
        wire::ImageIdentifier::tag("ecr-contract-invalid"),
    )
    .await?
    .is_some();
    judge(
        session,
        "registry PUT of a manifest that is not JSON",
        &invalid,
        check_refused("an invalid manifest", &observed(&invalid), stored),
        &[RuleId::RegPushRefused],
    );
    let missing = manifest(
        ImageDigest::of(b"ecr-contract: a config nobody uploaded").as_ref(),
        &[],
        "missing",
    );
    let unknown = put_manifest(session, pusher, &name, "ecr-contract-missing", &missing).await?;
    let stored = batch_get(
        session,
        &name,
        wire::ImageIdentifier::tag("ecr-contract-missing"),
    )
    .await?
    .is_some();
    judge(
        session,
        "registry PUT of a manifest whose blobs were never uploaded",
        &unknown,
        check_refused("missing blobs", &observed(&unknown), stored),
        &[RuleId::RegPushRefused],
    );
    let digest = ImageDigest::of(text.as_bytes()).to_string();
    let url = format!("{}/v2/{name}/manifests/{digest}", pusher.base);
    referenced_delete(session, pusher, &digest, text.len()).await?;
    let deleted = send(session, pusher, "DELETE", &url, &[], Vec::new()).await?;
    let gone = batch_get(session, &name, wire::ImageIdentifier::digest(digest))
        .await?
        .is_none();
    judge(
        session,
        "registry DELETE of a manifest by digest",
        &deleted,
        check_deleted(&observed(&deleted), gone),
        &[RuleId::RegPushDelete],
    );
    Ok(())
}

/// A manifest list referencing `child` (of `size` bytes) pushed by tag, then `DELETE` of the
/// child refused while the list holds it, then the list deleted.
pub(super) async fn referenced_delete(
    session: &mut Session<'_>,
    pusher: &Pusher,
    child: &str,
    size: usize,
) -> Result<(), CheckError> {
    let name = pusher.name.clone();
    let list = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [{"mediaType": OCI, "digest": child, "size": size,
                       "platform": {"architecture": "amd64", "os": "linux"}}],
    })
    .to_string();
    let url = format!("{}/v2/{name}/manifests/ecr-contract-list", pusher.base);
    let headers = [("content-type", OCI_INDEX.to_owned())];
    let put = send(
        session,
        pusher,
        "PUT",
        &url,
        &headers,
        list.clone().into_bytes(),
    )
    .await?;
    if put.status != 201 {
        session.notes.push(format!(
            "REG-PUSH-DELETE's refusal not exercised: a manifest list push answered HTTP {}",
            put.status
        ));
        return Ok(());
    }
    let child_url = format!("{}/v2/{name}/manifests/{child}", pusher.base);
    let refused = send(session, pusher, "DELETE", &child_url, &[], Vec::new()).await?;
    let kept = batch_get(session, &name, wire::ImageIdentifier::digest(child))
        .await?
        .is_some();
    let violations = check_delete_refused(&observed(&refused), kept);
    judge(
        session,
        "registry DELETE of a manifest a list references",
        &refused,
        violations,
        &[RuleId::RegPushDelete],
    );
    let list_digest = ImageDigest::of(list.as_bytes());
    let list_url = format!("{}/v2/{name}/manifests/{list_digest}", pusher.base);
    let _ = send(session, pusher, "DELETE", &list_url, &[], Vec::new()).await?;
    Ok(())
}

/// An immutable repository: the same manifest twice, then another under the same tag.
pub(super) async fn immutable(
    session: &mut Session<'_>,
    pusher: &Pusher,
) -> Result<(), CheckError> {
    let name = session.name("push", "fixed");
    if !create(session, &name, "IMMUTABLE").await? {
        return Ok(());
    }
    let fixed = Pusher {
        base: pusher.base.clone(),
        authorization: pusher.authorization.clone(),
        name: name.clone(),
    };
    let config = b"{\"os\":\"linux\"}";
    let Some(location) = start(session, &fixed, &name, false).await? else {
        return Ok(());
    };
    let chunk = send(
        session,
        &fixed,
        "PATCH",
        &location,
        &[range(0, config.len())],
        config.to_vec(),
    )
    .await?;
    let location = next_location(&fixed, &chunk).unwrap_or(location);
    let config = ImageDigest::of(config).to_string();
    let _ = send(
        session,
        &fixed,
        "PUT",
        &with_digest(&location, &config),
        &[],
        Vec::new(),
    )
    .await?;
    let first = manifest(&config, &[], "first");
    let put = put_manifest(session, &fixed, &name, "v1", &first).await?;
    if put.status != 201 {
        session.notes.push(format!(
            "REG-PUSH-IMMUTABLE not exercised: the first push answered HTTP {}",
            put.status
        ));
        return Ok(());
    }
    let again = put_manifest(session, &fixed, &name, "v1", &first).await?;
    let moved = put_manifest(
        session,
        &fixed,
        &name,
        "v1",
        &manifest(&config, &[], "second"),
    )
    .await?;
    let now = batch_get(session, &name, wire::ImageIdentifier::tag("v1")).await?;
    let unmoved = now.is_some_and(|i| i.manifest == first);
    judge(
        session,
        "registry PUT moving an immutable tag",
        &moved,
        check_immutable(&observed(&again), &observed(&moved), unmoved),
        &[RuleId::RegPushImmutable],
    );
    Ok(())
}

/// A push into a repository nobody created: the upload start and a manifest PUT.
pub(super) async fn absent(session: &mut Session<'_>, pusher: &Pusher) -> Result<(), CheckError> {
    let name = session.name("push", "absent");
    let url = format!("{}/v2/{name}/blobs/uploads/", pusher.base);
    let started = send(session, pusher, "POST", &url, &[], Vec::new()).await;
    let text = manifest(ImageDigest::of(b"{}").as_ref(), &[], "absent");
    let put = put_manifest(session, pusher, &name, "v1", &text).await;
    let request = wire::DescribeRepositoriesRequest {
        repository_names: Some(vec![name.clone()]),
        ..Default::default()
    };
    let described = session
        .send(
            Operation::DescribeRepositories,
            wire::encode_request(&request).body,
        )
        .await?;
    let created = described.status == 200;
    for (what, answer) in [("upload start", started), ("manifest PUT", put)] {
        let observed_answer = answer.as_ref().ok().map(observed);
        let violations = check_absent_repository(observed_answer.as_ref(), created);
        match &answer {
            Ok(fetched) => judge(
                session,
                &format!("registry {what} into an absent repository"),
                fetched,
                violations,
                &[RuleId::RegPushNameUnknown],
            ),
            Err(_) => {
                session.exercised.insert(RuleId::RegPushNameUnknown);
            }
        }
    }
    Ok(())
}

pub(super) async fn put_manifest(
    session: &mut Session<'_>,
    pusher: &Pusher,
    name: &str,
    reference: &str,
    text: &str,
) -> Result<Fetched, TransportError> {
    let url = format!("{}/v2/{name}/manifests/{reference}", pusher.base);
    let headers = [("content-type", OCI.to_owned())];
    send(
        session,
        pusher,
        "PUT",
        &url,
        &headers,
        text.as_bytes().to_vec(),
    )
    .await
}
