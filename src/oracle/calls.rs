//! Rules judged on answers to calls other than a probed BatchGetImage: ROBUST-AUTH (an
//! unsigned BatchGetImage) and STATE-PUT-DIGEST (the digest PutImage reports, or its refusal of
//! the manifest's own). `check` gathers the answers; what they mean is decided here.

use crate::model::ImageDigest;
use crate::wire::Reply;

use super::check::Observed;
use super::normalize::AUTH_ERRORS;
use super::rules::RuleId;
use super::violation::Violation;

/// ROBUST-AUTH: an answer to a BatchGetImage sent without a signature must be a 4xx
/// authentication error (spec section 9: 400 UnrecognizedClientException,
/// InvalidSignatureException, MissingAuthenticationTokenException or
/// IncompleteSignatureException, or 403 AccessDeniedException).
pub fn check_unsigned(observed: &Observed) -> Vec<Violation> {
    let code = match &observed.reply {
        Ok(Reply::Error(e)) => e.code.as_deref(),
        _ => None,
    };
    let refused =
        (400..500).contains(&observed.status) && code.is_some_and(|c| AUTH_ERRORS.contains(&c));
    if refused {
        return vec![];
    }
    let found = match (observed.status, code) {
        (200, _) => "HTTP 200 with the images".to_owned(),
        (status, Some(code)) => format!("HTTP {status} {code}"),
        (status, None) => format!("HTTP {status}"),
    };
    vec![Violation::new(
        RuleId::RobustAuth,
        "",
        "a 4xx authentication error",
        found,
    )]
}

/// STATE-PUT-DIGEST: a PutImage of `manifest` reports `reported` as `image.imageId.imageDigest`,
/// which must be the SHA-256 of the manifest's exact bytes.
pub fn check_put_digest(manifest: &str, reported: Option<&str>) -> Vec<Violation> {
    let want = ImageDigest::of(manifest.as_bytes()).to_string();
    match reported {
        Some(found) if found == want => vec![],
        found => vec![Violation::new(
            RuleId::StatePutDigest,
            "image.imageId.imageDigest",
            want,
            found.unwrap_or("none"),
        )],
    }
}

/// STATE-PUT-DIGEST: a PutImage that named the manifest's own SHA-256 as `imageDigest` was
/// refused with `code`; a server whose digest is the SHA-256 accepts it.
pub fn check_put_refusal(code: &str) -> Vec<Violation> {
    match code {
        // Refusals that say nothing about the digest.
        "ImageAlreadyExistsException"
        | "ImageTagAlreadyExistsException"
        | "LayersNotFoundException"
        | "RepositoryNotFoundException"
        | "ReferencedImagesNotFoundException" => vec![],
        _ => vec![Violation::new(
            RuleId::StatePutDigest,
            "imageDigest",
            "the manifest's SHA-256 accepted as imageDigest",
            code,
        )],
    }
}
