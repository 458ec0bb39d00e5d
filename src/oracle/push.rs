//! The `REG-PUSH-*` rules (spec `registry-api.md` section 6): a server's answers on the push
//! path, with what the AWS JSON API showed after them, judged. Every outcome the spec allows
//! passes: `201` or `202` for a chunk, either code where two are named, any `4xx` where the
//! status is not known, a dropped connection for a push into an absent repository. `check`
//! gathers the answers; what they mean is decided here. No I/O, no clock.

use crate::model::ImageDigest;
use crate::wire::registry::{DIGEST_HEADER, registry_error_codes};

use super::pull::PullObserved;
use super::rules::RuleId;
use super::violation::Violation;

fn violation(rule: RuleId, expected: impl Into<String>, found: impl Into<String>) -> Violation {
    Violation::new(rule, "", expected, found)
}

fn header<'a>(observed: &'a PullObserved, name: &str) -> Option<&'a str> {
    observed.headers.get(name).and_then(|v| v.to_str().ok())
}

fn is_4xx(observed: &PullObserved) -> bool {
    (400..500).contains(&observed.status)
}

/// REG-PUSH-UPLOAD: an upload starts with `202` and a `Location`.
pub fn check_upload_start(observed: &PullObserved) -> Vec<Violation> {
    match (observed.status, header(observed, "location")) {
        (202, Some(_)) => vec![],
        (status, location) => vec![violation(
            RuleId::RegPushUpload,
            "HTTP 202 with a Location",
            format!("HTTP {status}, Location {location:?}"),
        )],
    }
}

/// REG-PUSH-UPLOAD (`201` or `202` with a `Location`) and REG-PUSH-AS-ECR (`201`): a chunk
/// that follows the last.
pub fn check_chunk(observed: &PullObserved) -> Vec<Violation> {
    let mut out = Vec::new();
    let status = observed.status;
    if !matches!(status, 201 | 202) || header(observed, "location").is_none() {
        out.push(violation(
            RuleId::RegPushUpload,
            "HTTP 201 or 202 with a Location",
            format!("HTTP {status}"),
        ));
    }
    if status == 202 {
        out.push(violation(
            RuleId::RegPushAsEcr,
            "HTTP 201, as ECR answers a chunk",
            "HTTP 202",
        ));
    }
    out
}

/// REG-PUSH-UPLOAD: completing with the right digest is `201`, after which the blob fetches
/// back as `fetched` (a GET of it) and the AWS JSON API reports it `AVAILABLE`.
pub fn check_completed(
    digest: &str,
    completion: &PullObserved,
    fetched: &PullObserved,
    available: bool,
) -> Vec<Violation> {
    let mut out = Vec::new();
    if completion.status != 201 {
        out.push(violation(
            RuleId::RegPushUpload,
            "HTTP 201 for completing with the bytes' digest",
            format!("HTTP {}", completion.status),
        ));
    }
    let found = ImageDigest::of(&fetched.body).to_string();
    if fetched.status != 200 || found != digest {
        out.push(violation(
            RuleId::RegPushUpload,
            format!("the blob fetched back hashing to {digest}"),
            format!("HTTP {} with bytes hashing to {found}", fetched.status),
        ));
    }
    if !available {
        out.push(violation(
            RuleId::RegPushUpload,
            "BatchCheckLayerAvailability: AVAILABLE",
            "not AVAILABLE",
        ));
    }
    out
}

/// REG-PUSH-AS-ECR: a chunk under 5 MiB followed by another is refused with a 4xx, at the
/// next chunk or at completion, and nothing is stored.
pub fn check_small_chunk(
    next_chunk: &PullObserved,
    completion: &PullObserved,
    stored: bool,
) -> Vec<Violation> {
    match (is_4xx(next_chunk) || is_4xx(completion)) && !stored {
        true => vec![],
        false => vec![violation(
            RuleId::RegPushAsEcr,
            "a 4xx for a chunk after one under 5 MiB, or for its completion, and nothing stored",
            format!(
                "HTTP {} for the next chunk, HTTP {} for completing, {}",
                next_chunk.status,
                completion.status,
                stored_text(stored)
            ),
        )],
    }
}

/// REG-PUSH-AS-ECR: completing an upload that received no bytes is `400 BLOB_UPLOAD_INVALID`.
pub fn check_empty_completion(observed: &PullObserved) -> Vec<Violation> {
    let codes = registry_error_codes(&observed.body);
    match observed.status == 400 && codes.iter().any(|c| c == "BLOB_UPLOAD_INVALID") {
        true => vec![],
        false => vec![violation(
            RuleId::RegPushAsEcr,
            "HTTP 400 BLOB_UPLOAD_INVALID for completing an upload with no bytes",
            format!("HTTP {} {codes:?}", observed.status),
        )],
    }
}

/// REG-PUSH-CHUNK-ORDER: a chunk that does not start where the last ended is `416`
/// `BLOB_UPLOAD_INVALID`.
pub fn check_chunk_order(observed: &PullObserved) -> Vec<Violation> {
    let codes = registry_error_codes(&observed.body);
    match observed.status == 416 && codes.iter().any(|c| c == "BLOB_UPLOAD_INVALID") {
        true => vec![],
        false => vec![violation(
            RuleId::RegPushChunkOrder,
            "HTTP 416 BLOB_UPLOAD_INVALID",
            format!("HTTP {} {codes:?}", observed.status),
        )],
    }
}

/// REG-PUSH-DIGEST: completing with a digest the bytes do not have is `400`, and nothing is
/// stored (the code, `BLOB_UPLOAD_INVALID` or `DIGEST_INVALID`, is a should the rule does not
/// fail on).
pub fn check_wrong_digest(observed: &PullObserved, stored: bool) -> Vec<Violation> {
    match observed.status == 400 && !stored {
        true => vec![],
        false => vec![violation(
            RuleId::RegPushDigest,
            "HTTP 400 (BLOB_UPLOAD_INVALID or DIGEST_INVALID), nothing stored",
            format!("HTTP {}, {}", observed.status, stored_text(stored)),
        )],
    }
}

/// REG-PUSH-MOUNT: a mount that cannot be made (the blob is not in the other repository) is
/// a `202` upload with a `Location`.
pub fn check_refused_mount(observed: &PullObserved) -> Vec<Violation> {
    match (observed.status, header(observed, "location")) {
        (202, Some(_)) => vec![],
        (status, _) => vec![violation(
            RuleId::RegPushMount,
            "HTTP 202 with a Location: an upload, as if no mount was asked",
            format!("HTTP {status}"),
        )],
    }
}

/// What BatchGetImage returned for a pushed reference: the manifest, its digest and media
/// type, or nothing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PushedImage {
    /// `imageManifest`.
    pub manifest: String,
    /// `imageId.imageDigest`.
    pub digest: String,
    /// `imageManifestMediaType`.
    pub media_type: Option<String>,
}

/// REG-PUSH-MANIFEST: a manifest PUT by tag is `201` with `Docker-Content-Digest` = sha256 of
/// `body`, and BatchGetImage then returns those bytes and that digest (`image`).
pub fn check_manifest_pushed(
    body: &[u8],
    put: &PullObserved,
    image: Option<&PushedImage>,
) -> Vec<Violation> {
    let digest = ImageDigest::of(body).to_string();
    let mut out = Vec::new();
    let header_digest = header(put, DIGEST_HEADER);
    if put.status != 201 || header_digest != Some(digest.as_str()) {
        out.push(violation(
            RuleId::RegPushManifest,
            format!("HTTP 201 with Docker-Content-Digest {digest}"),
            format!("HTTP {} with {header_digest:?}", put.status),
        ));
    }
    let same = image.is_some_and(|i| i.manifest.as_bytes() == body && i.digest == digest);
    if !same {
        out.push(violation(
            RuleId::RegPushManifest,
            format!("BatchGetImage returning the bytes pushed, digest {digest}"),
            image.map_or("no image".into(), |i| {
                format!("{} bytes, digest {}", i.manifest.len(), i.digest)
            }),
        ));
    }
    out
}

/// REG-PUSH-MANIFEST-TYPE: after a registry push, `imageManifestMediaType` is the body's
/// `mediaType`, else the PUT's `Content-Type`.
pub fn check_manifest_type(
    body_media_type: Option<&str>,
    content_type: &str,
    image: &PushedImage,
) -> Vec<Violation> {
    let want = body_media_type.unwrap_or(content_type);
    match image.media_type.as_deref() == Some(want) {
        true => vec![],
        false => vec![violation(
            RuleId::RegPushManifestType,
            format!("imageManifestMediaType {want}"),
            format!("{:?}", image.media_type),
        )],
    }
}

/// REG-PUSH-REFUSED: a manifest ECR cannot take is a 4xx and stores nothing.
pub fn check_refused(what: &str, observed: &PullObserved, stored: bool) -> Vec<Violation> {
    match is_4xx(observed) && !stored {
        true => vec![],
        false => vec![violation(
            RuleId::RegPushRefused,
            format!("a 4xx for {what}, nothing stored"),
            format!("HTTP {}, {}", observed.status, stored_text(stored)),
        )],
    }
}

/// REG-PUSH-IMMUTABLE: on an immutable repository the same manifest again succeeds, a PUT
/// that would move the tag is `400`, and the tag still points where it did.
pub fn check_immutable(
    same_again: &PullObserved,
    moved: &PullObserved,
    tag_unmoved: bool,
) -> Vec<Violation> {
    let mut out = Vec::new();
    if !(200..300).contains(&same_again.status) {
        out.push(violation(
            RuleId::RegPushImmutable,
            "success for the same manifest under the same tag",
            format!("HTTP {}", same_again.status),
        ));
    }
    if moved.status != 400 || !tag_unmoved {
        out.push(violation(
            RuleId::RegPushImmutable,
            "HTTP 400 (TAG_INVALID) for moving an immutable tag, the tag unmoved",
            format!(
                "HTTP {}, the tag {}",
                moved.status,
                match tag_unmoved {
                    true => "unmoved",
                    false => "moved",
                }
            ),
        ));
    }
    out
}

/// REG-PUSH-NAME-UNKNOWN: a push into an absent repository never succeeds (`None`: the
/// connection was dropped, which ECR has been seen to do) and creates nothing.
pub fn check_absent_repository(observed: Option<&PullObserved>, created: bool) -> Vec<Violation> {
    let succeeded = observed.is_some_and(|o| o.status < 400);
    match !succeeded && !created {
        true => vec![],
        false => vec![violation(
            RuleId::RegPushNameUnknown,
            "an error (404 NAME_UNKNOWN) or a dropped connection, nothing created",
            format!(
                "HTTP {}, the repository {}",
                observed.map_or(0, |o| o.status),
                match created {
                    true => "created",
                    false => "not created",
                }
            ),
        )],
    }
}

/// REG-PUSH-DELETE: `DELETE` of a manifest by digest is `202` and removes it from
/// BatchGetImage (`gone`).
pub fn check_deleted(observed: &PullObserved, gone: bool) -> Vec<Violation> {
    match observed.status == 202 && gone {
        true => vec![],
        false => vec![violation(
            RuleId::RegPushDelete,
            "HTTP 202, the image gone from BatchGetImage",
            format!(
                "HTTP {}, the image {}",
                observed.status,
                match gone {
                    true => "gone",
                    false => "still there",
                }
            ),
        )],
    }
}

/// REG-PUSH-DELETE: `DELETE` by digest of a manifest a manifest list references is refused
/// with a 4xx, and the image stays (`kept`).
pub fn check_delete_refused(observed: &PullObserved, kept: bool) -> Vec<Violation> {
    match is_4xx(observed) && kept {
        true => vec![],
        false => vec![violation(
            RuleId::RegPushDelete,
            "a 4xx for deleting a manifest a list references, the image kept",
            format!(
                "HTTP {}, the image {}",
                observed.status,
                match kept {
                    true => "kept",
                    false => "gone",
                }
            ),
        )],
    }
}

fn stored_text(stored: bool) -> &'static str {
    match stored {
        true => "stored",
        false => "nothing stored",
    }
}
