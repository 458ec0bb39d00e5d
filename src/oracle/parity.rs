//! Which rule a parity difference belongs to: two answers to the same request, both allowed,
//! that differ in one place. The rule is the one whose text governs that place of the answer
//! in that request's context (a failure code on a tag and digest that disagree is
//! ID-MISMATCH-CODE's; the tags of an image asked for by digest are ID-BY-DIGEST's). No I/O.

use super::RuleId;

/// Where two answers differ: the status, a header, or a member of the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place<'a> {
    /// The HTTP status.
    Status,
    /// A header, by lower-case name.
    Header(&'a str),
    /// A body member, by JSON path (`$.images[0].imageId.imageTag`), or `$` for a body that
    /// is not JSON.
    Member(&'a str),
    /// A member present in one answer only.
    OnlyInOne(&'a str),
    /// An id answered by an image in one answer and by a failure with this code in the
    /// other.
    ImageOrFailure(&'a str),
}

/// The rule a difference at `place` in the answers to an AWS JSON `operation` with `body`
/// belongs to, or `None` for a call that sets a run up (no rule judges its answer's detail).
pub fn aws_parity_rule(operation: &str, body: &[u8], place: Place<'_>) -> Option<RuleId> {
    match operation {
        "BatchGetImage" => Some(batch_get_image(&Context::of(body), place)),
        "PutImage" => match place {
            Place::Member(path) if path.ends_with("imageDigest") => Some(RuleId::StatePutDigest),
            _ => None,
        },
        _ => None,
    }
}

/// What a BatchGetImage request asks that decides which rule a difference falls under.
#[derive(Debug, Default)]
struct Context {
    tag_and_digest: bool,
    digest_only: bool,
    invalid_digest: bool,
    repeated_id: bool,
    accepted_types: bool,
}

impl Context {
    fn of(body: &[u8]) -> Self {
        let Ok(request) = serde_json::from_slice::<serde_json::Value>(body) else {
            return Self::default();
        };
        let ids = request["imageIds"].as_array().cloned().unwrap_or_default();
        let digest = |id: &serde_json::Value| id["imageDigest"].as_str().map(str::to_owned);
        let tag = |id: &serde_json::Value| id["imageTag"].as_str().map(str::to_owned);
        let mut seen = Vec::new();
        let mut context = Self {
            accepted_types: request.get("acceptedMediaTypes").is_some(),
            ..Self::default()
        };
        for id in &ids {
            context.tag_and_digest |= tag(id).is_some() && digest(id).is_some();
            context.digest_only |= tag(id).is_none() && digest(id).is_some();
            context.invalid_digest |= digest(id).is_some_and(|d| !is_sha256(&d));
            context.repeated_id |= seen.contains(id);
            seen.push(id.clone());
        }
        context
    }
}

fn is_sha256(digest: &str) -> bool {
    digest.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

fn batch_get_image(context: &Context, place: Place<'_>) -> RuleId {
    match place {
        Place::Status | Place::Header("x-amzn-errortype") => {
            code_rule(context).unwrap_or(RuleId::WireStatus)
        }
        Place::Header("content-type") => RuleId::WireContentType,
        Place::Header(_) => RuleId::WireStatus,
        Place::OnlyInOne(path) if path.ends_with("imageTag") => tag_rule(context),
        Place::OnlyInOne("$.images" | "$.failures") => RuleId::WireBothLists,
        Place::OnlyInOne(_) => RuleId::WireUnknownMember,
        Place::Member(path) => member_rule(context, path),
        Place::ImageOrFailure(code) => failure_rule(context, code),
    }
}

/// The rule of an id answered by an image on one side and by a failure with `code` on the
/// other: the failure's code says which row decided.
fn failure_rule(context: &Context, code: &str) -> RuleId {
    match code {
        "ImageTagDoesNotMatchDigest" => RuleId::IdTagAndDigest,
        "InvalidImageDigest" => RuleId::IdInvalidDigest,
        "InvalidImageTag" => RuleId::IdInvalidTag,
        "MissingDigestAndTag" => RuleId::IdMissingBoth,
        "UnsupportedImageType" => RuleId::ManTranslation,
        _ if context.accepted_types => RuleId::ManTranslation,
        _ => code_rule(context).unwrap_or_else(|| count_rule(context)),
    }
}

/// The rule of a different error or failure code: the request's context decides.
fn code_rule(context: &Context) -> Option<RuleId> {
    if context.invalid_digest {
        Some(RuleId::IdInvalidDigest)
    } else if context.tag_and_digest {
        Some(RuleId::IdMismatchCode)
    } else if context.repeated_id {
        Some(RuleId::IdAccounting)
    } else if context.accepted_types {
        Some(RuleId::ManTranslation)
    } else {
        None
    }
}

/// The rule of a different number of images or failures: which ids an answer accounts for,
/// and how (one image per tag of a digest, one answer per repeated id).
fn count_rule(context: &Context) -> RuleId {
    if context.repeated_id {
        RuleId::IdAccounting
    } else if context.invalid_digest {
        RuleId::IdInvalidDigest
    } else if context.digest_only {
        RuleId::IdByDigest
    } else if context.accepted_types {
        RuleId::ManTranslation
    } else if context.tag_and_digest {
        RuleId::IdTagAndDigest
    } else {
        RuleId::IdAccounting
    }
}

/// The rule of the tags an image is answered with.
fn tag_rule(context: &Context) -> RuleId {
    if context.digest_only {
        RuleId::IdByDigest
    } else if context.tag_and_digest {
        RuleId::IdTagAndDigest
    } else {
        RuleId::IdByTag
    }
}

fn member_rule(context: &Context, path: &str) -> RuleId {
    let last = path.rsplit('.').next().unwrap_or(path);
    let last = last.split('[').next().unwrap_or(last);
    match last {
        "failureCode" => code_rule(context).unwrap_or(RuleId::IdNotFound),
        "__type" | "code" => code_rule(context).unwrap_or(RuleId::WireErrorCode),
        "message" | "Message" => RuleId::WireErrorMessage,
        "failureReason" => RuleId::IdFailureReason,
        "imageTag" | "imageDigest" if path.contains("failures") => RuleId::IdFailureEcho,
        "imageTag" => tag_rule(context),
        "imageDigest" | "imageManifest" | "imageManifestMediaType" if context.accepted_types => {
            RuleId::ManTranslation
        }
        "imageDigest" => RuleId::ManDigest,
        "imageManifest" => RuleId::ManBytes,
        "imageManifestMediaType" => RuleId::ManMediaType,
        "repositoryName" | "registryId" => RuleId::RepoEcho,
        "images" | "failures" => count_rule(context),
        _ => RuleId::WireShape,
    }
}

/// The rule a difference at `place` in the answers to a registry API request for `path`
/// belongs to.
pub fn registry_parity_rule(path: &str, place: Place<'_>) -> Option<RuleId> {
    let route = path.split('?').next().unwrap_or(path);
    if let Place::Header("www-authenticate") = place {
        return Some(RuleId::RegAuthChallenge);
    }
    let error =
        matches!(place, Place::Member(p) | Place::OnlyInOne(p) if p.starts_with("$.errors"));
    if error {
        return Some(RuleId::RegErrorEnvelope);
    }
    Some(if route == "/v2/" || route == "/v2" {
        RuleId::RegPing
    } else if route.contains("/manifests/") {
        match place {
            Place::Header("docker-content-digest") => RuleId::RegDigestHeader,
            Place::Header("content-type") => RuleId::RegAcceptNegotiation,
            _ => RuleId::RegManifestAsBatchgetimage,
        }
    } else if route.contains("/blobs/") {
        RuleId::RegBlobBytes
    } else if route.ends_with("/tags/list") {
        RuleId::RegTagsList
    } else {
        return None;
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

    #[test]
    fn a_difference_belongs_to_the_rule_of_its_place_in_the_requests_context() {
        let both = format!(
            r#"{{"repositoryName":"a","imageIds":[{{"imageTag":"v1","imageDigest":"{DIGEST}"}}]}}"#
        );
        let by_digest =
            format!(r#"{{"repositoryName":"a","imageIds":[{{"imageDigest":"{DIGEST}"}}]}}"#);
        let twice = r#"{"repositoryName":"a","imageIds":[{"imageTag":"v1"},{"imageTag":"v1"}]}"#;
        let code = Place::Member("$.failures[0].failureCode");
        let rule = |body: &str, place| aws_parity_rule("BatchGetImage", body.as_bytes(), place);
        assert_eq!(rule(&both, code), Some(RuleId::IdMismatchCode));
        assert_eq!(
            rule(&by_digest, Place::OnlyInOne("$.images[0].imageId.imageTag")),
            Some(RuleId::IdByDigest)
        );
        assert_eq!(
            rule(twice, Place::Member("$.images")),
            Some(RuleId::IdAccounting)
        );
        assert_eq!(
            rule(
                r#"{"repositoryName":"a","imageIds":[{"imageDigest":"sha256:zz"}]}"#,
                Place::Status
            ),
            Some(RuleId::IdInvalidDigest)
        );
        assert_eq!(
            rule(twice, Place::Member("$.message")),
            Some(RuleId::WireErrorMessage)
        );
        assert_eq!(
            aws_parity_rule("CreateRepository", b"{}", Place::Status),
            None
        );
        assert_eq!(
            registry_parity_rule("/v2/a/manifests/v1", Place::Header("docker-content-digest")),
            Some(RuleId::RegDigestHeader)
        );
        assert_eq!(
            registry_parity_rule("/v2/a/tags/list?n=1", Place::Member("$.tags")),
            Some(RuleId::RegTagsList)
        );
    }
}
