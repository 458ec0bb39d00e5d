//! The upload probes: blobs in one chunk and in several, and the refusals of an upload.

use crate::model::ImageDigest;
use crate::oracle::{
    RuleId, check_chunk, check_chunk_order, check_completed, check_empty_completion,
    check_refused_mount, check_small_chunk, check_upload_start, check_wrong_digest,
};

use super::super::pull::{judge, observed};
use super::super::session::{CheckError, Session};
use super::exchange::{available, next_location, range, send, with_digest};
use super::{PART, PUSHED_BLOB_BYTES, Pusher};

/// A small blob in one chunk: the start, the chunk and the completion judged.
pub(super) async fn blob_upload(
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
pub(super) async fn big_upload(
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
pub(super) async fn start(
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
pub(super) async fn complete(
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
pub(super) async fn refusals(session: &mut Session<'_>, pusher: &Pusher) -> Result<(), CheckError> {
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
