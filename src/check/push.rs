//! The push probes: a server's registry API taking pushes (spec `registry-api.md` section 6),
//! each answer judged by the oracle's `REG-PUSH-*` functions with what BatchGetImage and
//! BatchCheckLayerAvailability show after it. The registry API is found as the pull probes
//! find it; a server without one has every `REG-PUSH-*` rule left not exercised.
//!
//! Everything is pushed into repositories created (and journalled) under the run's prefix,
//! in the scope `push`; an absent repository is probed under a name nobody creates.

use crate::model::manifest::{OCI, OCI_INDEX, S2};
use crate::model::{Call, ImageDigest};
use crate::oracle::{
    PullObserved, PushedImage, RuleId, Violation, check_absent_repository, check_chunk,
    check_chunk_order, check_completed, check_delete_refused, check_deleted,
    check_empty_completion, check_immutable, check_manifest_pushed, check_manifest_type,
    check_refused, check_refused_mount, check_small_chunk, check_upload_start, check_wrong_digest,
    has_registry_api,
};
use crate::remote::{Fetched, TransportError};
use crate::report::{Finding, Reproduction, Response};
use crate::wire::{self, Operation};

use super::session::{CheckError, Session, SetupAnswer};

/// ECR's smallest layer part other than the last (5 MiB): the big blob's first chunk.
const PART: usize = 5 * 1024 * 1024;

/// The most bytes of a pushed blob fetched back: the big blob is just over [`PART`].
const PUSHED_BLOB_BYTES: usize = 2 * PART;

/// One push conversation: the registry's base URL, the `Authorization` value, the repository.
struct Pusher {
    base: String,
    authorization: String,
    name: String,
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
    let request = wire::GetAuthorizationTokenRequest::default();
    let exchange = session
        .send(
            Operation::GetAuthorizationToken,
            wire::encode_request(&request).body,
        )
        .await?;
    let data = wire::decode_body::<wire::GetAuthorizationTokenResponse>(&exchange.body)
        .ok()
        .and_then(|d| d.value.authorization_data)
        .unwrap_or_default();
    for token in data.iter().filter_map(|d| d.authorization_token.as_deref()) {
        session.secrets.learn_authorization_token(token);
    }
    let token = data.into_iter().next().and_then(|d| d.authorization_token);
    Ok(token
        .filter(|_| exchange.status == 200)
        .map(|t| format!("Basic {t}")))
}

/// A small blob in one chunk: the start, the chunk and the completion judged.
async fn blob_upload(
    session: &mut Session<'_>,
    pusher: &Pusher,
    bytes: &[u8],
) -> Result<String, CheckError> {
    let Some(location) = start(session, pusher, &pusher.name, true).await? else {
        return Ok(ImageDigest::of(bytes).to_string());
    };
    let chunk = send(
        session,
        pusher,
        "PATCH",
        &location,
        &[range(0, bytes.len())],
        bytes.to_vec(),
    )
    .await?;
    judge(
        session,
        "registry PATCH of a chunk",
        &chunk,
        check_chunk(&observed(&chunk)),
        &[RuleId::RegPushUpload, RuleId::RegPushAsEcr],
    );
    let next = next_location(pusher, &chunk).unwrap_or(location);
    complete(session, pusher, &next, bytes).await
}

/// A blob over 5 MiB in two chunks, with an out-of-order chunk in another upload.
async fn big_upload(
    session: &mut Session<'_>,
    pusher: &Pusher,
    bytes: &[u8],
) -> Result<String, CheckError> {
    let Some(location) = start(session, pusher, &pusher.name, false).await? else {
        return Ok(ImageDigest::of(bytes).to_string());
    };
    let first = send(
        session,
        pusher,
        "PATCH",
        &location,
        &[range(0, PART)],
        bytes[..PART].to_vec(),
    )
    .await?;
    judge(
        session,
        "registry PATCH of a 5 MiB chunk",
        &first,
        check_chunk(&observed(&first)),
        &[RuleId::RegPushUpload, RuleId::RegPushAsEcr],
    );
    let location = next_location(pusher, &first).unwrap_or(location);
    let rest = &bytes[PART..];
    let second = send(
        session,
        pusher,
        "PATCH",
        &location,
        &[range(PART, rest.len())],
        rest.to_vec(),
    )
    .await?;
    judge(
        session,
        "registry PATCH of the last chunk",
        &second,
        check_chunk(&observed(&second)),
        &[RuleId::RegPushUpload],
    );
    let location = next_location(pusher, &second).unwrap_or(location);
    let digest = complete(session, pusher, &location, bytes).await?;
    // Out of order: a 5 MiB chunk, then one that leaves a gap.
    if let Some(location) = start(session, pusher, &pusher.name, false).await? {
        let first = send(
            session,
            pusher,
            "PATCH",
            &location,
            &[range(0, PART)],
            bytes[..PART].to_vec(),
        )
        .await?;
        let location = next_location(pusher, &first).unwrap_or(location);
        let gap = send(
            session,
            pusher,
            "PATCH",
            &location,
            &[range(PART + 10, 10)],
            vec![1; 10],
        )
        .await?;
        judge(
            session,
            "registry PATCH of a chunk that leaves a gap",
            &gap,
            check_chunk_order(&observed(&gap)),
            &[RuleId::RegPushChunkOrder],
        );
        let _ = send(session, pusher, "DELETE", &location, &[], Vec::new()).await;
    }
    Ok(digest)
}

/// `POST .../blobs/uploads/` into `name`: the `Location`, judged when `judged`.
async fn start(
    session: &mut Session<'_>,
    pusher: &Pusher,
    name: &str,
    judged: bool,
) -> Result<Option<String>, CheckError> {
    let url = format!("{}/v2/{name}/blobs/uploads/", pusher.base);
    let started = send(session, pusher, "POST", &url, &[], Vec::new()).await?;
    if judged {
        judge(
            session,
            "registry POST starting an upload",
            &started,
            check_upload_start(&observed(&started)),
            &[RuleId::RegPushUpload],
        );
    }
    Ok(next_location(pusher, &started).filter(|_| started.status == 202))
}

/// `PUT <location>?digest=` of `bytes` uploaded, judged with the blob fetched back.
async fn complete(
    session: &mut Session<'_>,
    pusher: &Pusher,
    location: &str,
    bytes: &[u8],
) -> Result<String, CheckError> {
    let digest = ImageDigest::of(bytes).to_string();
    let url = with_digest(location, &digest);
    let done = send(session, pusher, "PUT", &url, &[], Vec::new()).await?;
    let blob_url = format!("{}/v2/{}/blobs/{digest}", pusher.base, pusher.name);
    let auth = [("authorization", pusher.authorization.clone())];
    session.probes += 1;
    let fetched = session
        .target
        .fetch_up_to("GET", &blob_url, &auth, PUSHED_BLOB_BYTES)
        .await?;
    let available = available(session, &pusher.name, &digest).await?;
    let violations = check_completed(&digest, &observed(&done), &observed(&fetched), available);
    judge(
        session,
        "registry PUT completing an upload",
        &done,
        violations,
        &[RuleId::RegPushUpload],
    );
    Ok(digest)
}

/// The upload refusals: chunks after a small one, an empty upload, a wrong digest, a mount
/// that cannot be made.
async fn refusals(session: &mut Session<'_>, pusher: &Pusher) -> Result<(), CheckError> {
    let small: Vec<u8> = b"ecr-contract small chunk ".repeat(40);
    if let Some(location) = start(session, pusher, &pusher.name, false).await? {
        let first = send(
            session,
            pusher,
            "PATCH",
            &location,
            &[range(0, small.len())],
            small.clone(),
        )
        .await?;
        let location = next_location(pusher, &first).unwrap_or(location);
        let next = send(
            session,
            pusher,
            "PATCH",
            &location,
            &[range(small.len(), small.len())],
            small.clone(),
        )
        .await?;
        let location = next_location(pusher, &next).unwrap_or(location);
        let both = [small.as_slice(), small.as_slice()].concat();
        let digest = ImageDigest::of(&both).to_string();
        let done = send(
            session,
            pusher,
            "PUT",
            &with_digest(&location, &digest),
            &[],
            Vec::new(),
        )
        .await?;
        let stored = available(session, &pusher.name, &digest).await?;
        judge(
            session,
            "registry PATCH after a chunk under 5 MiB",
            &next,
            check_small_chunk(&observed(&next), &observed(&done), stored),
            &[RuleId::RegPushAsEcr],
        );
    }
    if let Some(location) = start(session, pusher, &pusher.name, false).await? {
        let empty = ImageDigest::of(b"").to_string();
        let done = send(
            session,
            pusher,
            "PUT",
            &with_digest(&location, &empty),
            &[],
            Vec::new(),
        )
        .await?;
        judge(
            session,
            "registry PUT completing an empty upload",
            &done,
            check_empty_completion(&observed(&done)),
            &[RuleId::RegPushAsEcr],
        );
    }
    if let Some(location) = start(session, pusher, &pusher.name, false).await? {
        let bytes = b"ecr-contract: bytes completed under another digest".to_vec();
        let chunk = send(
            session,
            pusher,
            "PATCH",
            &location,
            &[range(0, bytes.len())],
            bytes.clone(),
        )
        .await?;
        let location = next_location(pusher, &chunk).unwrap_or(location);
        let claimed = ImageDigest::of(b"ecr-contract: not these bytes").to_string();
        let done = send(
            session,
            pusher,
            "PUT",
            &with_digest(&location, &claimed),
            &[],
            Vec::new(),
        )
        .await?;
        let stored = available(session, &pusher.name, &claimed).await?
            || available(session, &pusher.name, ImageDigest::of(&bytes).as_ref()).await?;
        judge(
            session,
            "registry PUT completing with a wrong digest",
            &done,
            check_wrong_digest(&observed(&done), stored),
            &[RuleId::RegPushDigest],
        );
    }
    let absent = ImageDigest::of(b"ecr-contract: a blob to mount that nobody has");
    let url = format!(
        "{}/v2/{}/blobs/uploads/?mount={absent}&from={}-elsewhere",
        pusher.base, pusher.name, pusher.name
    );
    let mounted = send(session, pusher, "POST", &url, &[], Vec::new()).await?;
    judge(
        session,
        "registry POST of a mount that cannot be made",
        &mounted,
        check_refused_mount(&observed(&mounted)),
        &[RuleId::RegPushMount],
    );
    Ok(())
}

/// An OCI manifest of `config` and `layers`, with `salt` as an annotation.
fn manifest(config: &str, layers: &[&str], salt: &str) -> String {
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
async fn manifests(
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
async fn referenced_delete(
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
async fn immutable(session: &mut Session<'_>, pusher: &Pusher) -> Result<(), CheckError> {
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
async fn absent(session: &mut Session<'_>, pusher: &Pusher) -> Result<(), CheckError> {
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

async fn put_manifest(
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

/// BatchGetImage of `id` in `name`, every format accepted: the image, if one is returned.
async fn batch_get(
    session: &mut Session<'_>,
    name: &str,
    id: wire::ImageIdentifier,
) -> Result<Option<PushedImage>, CheckError> {
    let request = wire::BatchGetImageRequest {
        repository_name: Some(name.to_owned()),
        image_ids: Some(vec![id]),
        accepted_media_types: Some(vec![OCI.to_owned(), S2.to_owned()]),
        ..Default::default()
    };
    let exchange = session
        .send(
            Operation::BatchGetImage,
            wire::encode_request(&request).body,
        )
        .await?;
    let image = wire::decode_body::<wire::BatchGetImageResponse>(&exchange.body)
        .ok()
        .and_then(|d| d.value.images)
        .and_then(|images| images.into_iter().next());
    Ok(image.map(|i| PushedImage {
        manifest: i.image_manifest.unwrap_or_default(),
        digest: i
            .image_id
            .and_then(|id| id.image_digest)
            .unwrap_or_default(),
        media_type: i.image_manifest_media_type,
    }))
}

/// Whether BatchCheckLayerAvailability reports `digest` `AVAILABLE` in `name`.
async fn available(
    session: &mut Session<'_>,
    name: &str,
    digest: &str,
) -> Result<bool, CheckError> {
    let request = wire::BatchCheckLayerAvailabilityRequest {
        repository_name: Some(name.to_owned()),
        layer_digests: Some(vec![digest.to_owned()]),
        ..Default::default()
    };
    let exchange = session
        .send(
            Operation::BatchCheckLayerAvailability,
            wire::encode_request(&request).body,
        )
        .await?;
    let layers = wire::decode_body::<wire::BatchCheckLayerAvailabilityResponse>(&exchange.body)
        .ok()
        .and_then(|d| d.value.layers)
        .unwrap_or_default();
    Ok(layers
        .iter()
        .any(|l| l.layer_availability.as_deref() == Some("AVAILABLE")))
}

/// A `Content-Range` header for `len` bytes from `start`.
fn range(start: usize, len: usize) -> (&'static str, String) {
    ("content-range", format!("{start}-{}", start + len - 1))
}

/// `location` with `digest=` added to its query.
fn with_digest(location: &str, digest: &str) -> String {
    let separator = match location.contains('?') {
        true => '&',
        false => '?',
    };
    format!("{location}{separator}digest={digest}")
}

/// The answer's `Location`, made absolute against the registry's base URL.
fn next_location(pusher: &Pusher, fetched: &Fetched) -> Option<String> {
    let location = fetched.headers.get("location")?.to_str().ok()?;
    Some(match location.starts_with('/') {
        true => {
            let origin = pusher.base.find("://").and_then(|at| {
                pusher.base[at + 3..]
                    .find('/')
                    .map(|p| &pusher.base[..at + 3 + p])
            });
            format!("{}{location}", origin.unwrap_or(&pusher.base))
        }
        false => location.to_owned(),
    })
}

async fn send(
    session: &mut Session<'_>,
    pusher: &Pusher,
    method: &str,
    url: &str,
    headers: &[(&str, String)],
    body: Vec<u8>,
) -> Result<Fetched, TransportError> {
    session.probes += 1;
    let mut all = vec![("authorization", pusher.authorization.clone())];
    all.extend(headers.iter().cloned());
    session.target.push(method, url, &all, body).await
}

fn observed(fetched: &Fetched) -> PullObserved {
    PullObserved {
        status: fetched.status,
        headers: fetched.headers.clone(),
        body: fetched.body.clone(),
    }
}

/// Marks `rules` exercised and records `violations` with the exchange.
fn judge(
    session: &mut Session<'_>,
    probe: &str,
    fetched: &Fetched,
    violations: Vec<Violation>,
    rules: &[RuleId],
) {
    session.exercised.extend(rules.iter().copied());
    for violation in violations {
        session.exercised.insert(violation.rule);
        let body = session.secrets.evidence(&fetched.body);
        let request = session.secrets.redact(&fetched.request);
        let (method, url) = request.split_once(' ').unwrap_or(("GET", ""));
        let curl = format!("curl -sS -u \"AWS:$PASSWORD\" -X {method} '{url}'");
        let violation = session.secrets.redact_violation(violation);
        session.findings.push(Finding {
            message: violation.to_string(),
            violation,
            probe: session.secrets.redact(probe),
            request,
            response: Response {
                status: fetched.status,
                body,
            },
            reproduction: Reproduction { curl, aws: None },
        });
    }
}
