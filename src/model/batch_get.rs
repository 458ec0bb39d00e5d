//! `batch_get_image`: the acceptable answers to a BatchGetImage request (spec sections 2-6).

use std::sync::Arc;

use crate::wire;

use super::error::OpError;
use super::expected::*;
use super::lookup::{
    Agreement, Lookup, REASON_INVALID_DIGEST, REASON_INVALID_TAG, REASON_MISMATCH, REASON_MISSING,
    REASON_NOT_FOUND,
};
use super::manifest::{Format, StoredManifest};
use super::names::{ImageDigest, ImageTag};
use super::registry::{Registry, StoredImage, StoredRepository};
use super::request::{limits_reached, validate};

/// The acceptable answers of a correct server to `request`, given the state `registry`.
pub fn batch_get_image(registry: &Registry, request: &wire::BatchGetImageRequest) -> Expected {
    let valid = match validate(request) {
        Ok(valid) => valid,
        Err((cause, e)) => {
            let mut codes = codes_for(cause);
            if looked_up_first_may_not_find(registry, request, cause) {
                codes.push("RepositoryNotFoundException");
            }
            return Expected::error(codes, cause, e.message);
        }
    };
    let registry_id = valid
        .registry_id
        .clone()
        .unwrap_or_else(|| registry.account.clone());
    let Some(repository) =
        registry.repository(registry_id.as_str(), valid.repository_name.as_str())
    else {
        let message =
            OpError::repository_not_found(valid.repository_name.as_str(), registry_id.as_str())
                .message;
        // The order of checks is only "may" (section 2), and a malformed digest may fail the
        // whole request (section 4, "any" state): a server that checks digests before it looks
        // the repository up answers InvalidParameterException.
        let digest_first = valid.image_ids.iter().any(|id| {
            id.image_digest
                .as_deref()
                .is_some_and(|d| !ImageDigest::is_well_formed(d))
        });
        let mut expected = match registry_id == registry.account {
            true => Expected::error(
                vec!["RepositoryNotFoundException"],
                RequestCause::RepositoryNotFound,
                message,
            ),
            false => {
                let cause = match registry
                    .repository(registry.account.as_str(), valid.repository_name.as_str())
                {
                    Some(_) => RequestCause::ForeignRegistry,
                    None => RequestCause::RepositoryNotFound,
                };
                Expected::error(
                    vec!["RepositoryNotFoundException", "AccessDeniedException"],
                    cause,
                    message,
                )
            }
        };
        if let (true, Some(error)) = (digest_first, &mut expected.error) {
            error.codes.push("InvalidParameterException");
        }
        return expected;
    };
    let ids: Vec<IdExpectation> = valid
        .image_ids
        .iter()
        .map(|id| IdExpectation {
            requested: id.clone(),
            answer: expect_id(repository, id, valid.accepted),
        })
        .collect();
    let any_invalid_digest = ids
        .iter()
        .any(|e| matches!(&e.answer, IdAnswer::Fails(f) if f.cause == FailureCause::InvalidDigest));
    let error = any_invalid_digest.then(|| ExpectedError {
        codes: vec!["InvalidParameterException"],
        cause: RequestCause::InvalidDigest,
        message: format!("Invalid parameter at 'imageDigest' failed to satisfy constraint: '{REASON_INVALID_DIGEST}'"),
    });
    let at_limits = limits_reached(&valid);
    let success = ExpectedBatch {
        registry_id,
        repository_name: valid.repository_name,
        ids,
        at_limits,
    };
    Expected {
        success: Some(success),
        error,
    }
}

/// The acceptable answers to a request body as sent: a body that is not a JSON object, or
/// whose members have the wrong JSON types, is malformed (spec section 2, last row).
pub fn batch_get_image_body(registry: &Registry, body: &[u8]) -> Expected {
    match wire::decode_body::<wire::BatchGetImageRequest>(body) {
        Ok(decoded) if decoded.shape_issues.is_empty() => batch_get_image(registry, &decoded.value),
        // Clients must not send `null` (section 1), and how a server reads one is not pinned
        // down: as the member's absence, or as a member of the wrong type. Both are accepted.
        Ok(decoded) if decoded.shape_issues.iter().all(|i| i.found == "null") => {
            let mut expected = batch_get_image(registry, &decoded.value);
            let error = expected.error.get_or_insert_with(|| ExpectedError {
                codes: vec![],
                cause: RequestCause::Malformed,
                message: format!("{} is null", decoded.shape_issues[0].path),
            });
            for code in codes_for(RequestCause::Malformed) {
                if !error.codes.contains(&code) {
                    error.codes.push(code);
                }
            }
            expected
        }
        Ok(decoded) => {
            let issue = &decoded.shape_issues[0];
            let message = format!(
                "{} must be {}, found {}",
                issue.path, issue.expected, issue.found
            );
            Expected::error(
                codes_for(RequestCause::Malformed),
                RequestCause::Malformed,
                message,
            )
        }
        Err(e) => Expected::error(
            codes_for(RequestCause::Malformed),
            RequestCause::Malformed,
            e.to_string(),
        ),
    }
}

/// Acceptable error names for a whole-request validation failure.
/// Whether a server that looks the repository up before validating the other members (the
/// order of checks is a may, section 2) answers RepositoryNotFoundException here: a member
/// other than the registry and the name is invalid, both of those are valid, and the
/// repository is not in the caller's registry.
fn looked_up_first_may_not_find(
    registry: &Registry,
    request: &wire::BatchGetImageRequest,
    cause: RequestCause,
) -> bool {
    let members = matches!(
        cause,
        RequestCause::ImageIdsCount | RequestCause::TagLength | RequestCause::MediaTypesCount
    );
    let registry_id = match request.registry_id.as_deref() {
        None => Some(registry.account.as_str()),
        Some(id) => super::names::RegistryId::parse(id).ok().map(|_| id),
    };
    let name = request
        .repository_name
        .as_deref()
        .filter(|n| super::names::RepositoryName::parse(n).is_ok());
    match (members, registry_id, name) {
        (true, Some(id), Some(name)) => registry.repository(id, name).is_none(),
        _ => false,
    }
}

fn codes_for(cause: RequestCause) -> Vec<&'static str> {
    match cause {
        RequestCause::Malformed => vec![
            "InvalidParameterException",
            "SerializationException",
            "ValidationException",
        ],
        _ => vec!["InvalidParameterException"],
    }
}

fn expect_id(
    repository: &StoredRepository,
    id: &wire::ImageIdentifier,
    accepted: Option<&[String]>,
) -> IdAnswer {
    let fails = |code, cause, reason| IdAnswer::Fails(ExpectedFailure::one(code, cause, reason));
    let not_found = |cause| fails("ImageNotFound", cause, REASON_NOT_FOUND);
    let tag = id.image_tag.as_deref().unwrap_or_default();
    match Lookup::of(repository, id) {
        Lookup::MissingBoth => fails(
            "MissingDigestAndTag",
            FailureCause::MissingDigestAndTag,
            REASON_MISSING,
        ),
        // Both "any" rows hold when a malformed digest comes with an unusual tag: a server
        // may check either member first.
        Lookup::InvalidDigest if unusual(tag) => IdAnswer::Fails(ExpectedFailure {
            codes: vec!["InvalidImageDigest", "InvalidImageTag", "ImageNotFound"],
            cause: FailureCause::InvalidDigest,
            reason: REASON_INVALID_DIGEST,
        }),
        Lookup::InvalidDigest => fails(
            "InvalidImageDigest",
            FailureCause::InvalidDigest,
            REASON_INVALID_DIGEST,
        ),
        Lookup::Tag {
            image: Some(image), ..
        } => found(image, Resolution::ByTag, tag, accepted),
        Lookup::Tag {
            unusual_characters: true,
            ..
        } => IdAnswer::Fails(ExpectedFailure {
            codes: vec!["InvalidImageTag", "ImageNotFound"],
            cause: FailureCause::UnusualTag,
            reason: REASON_INVALID_TAG,
        }),
        Lookup::Tag {
            case_variant_exists: true,
            ..
        } => not_found(FailureCause::TagCase),
        Lookup::Tag { .. } => not_found(FailureCause::TagNotFound),
        Lookup::Digest {
            image: Some(image), ..
        } => found(image, Resolution::ByDigest, tag, accepted),
        Lookup::Digest {
            hex_case_variant: Some(image),
            ..
        } => {
            let mut answer = found(image, Resolution::ByDigest, tag, accepted);
            if let IdAnswer::Found(e) = &mut answer {
                let reason = REASON_NOT_FOUND;
                e.or_fails = Some(ExpectedFailure::one(
                    "ImageNotFound",
                    FailureCause::DigestHexCase,
                    reason,
                ));
            }
            answer
        }
        Lookup::Digest { .. } => not_found(FailureCause::DigestNotFound),
        Lookup::TagAndDigest {
            tagged: Some(image),
            agrees: Agreement::Exactly,
        } => found(image, Resolution::TagAndDigest, tag, accepted),
        // "A digest with upper-case hex may match or not" (section 4), with a tag as without.
        Lookup::TagAndDigest {
            tagged: Some(image),
            agrees: Agreement::IgnoringHexCase,
        } => {
            let mut answer = found(image, Resolution::TagAndDigest, tag, accepted);
            if let IdAnswer::Found(e) = &mut answer {
                e.or_fails = Some(ExpectedFailure {
                    codes: vec!["ImageTagDoesNotMatchDigest", "ImageNotFound"],
                    cause: FailureCause::DigestHexCase,
                    reason: REASON_MISMATCH,
                });
            }
            answer
        }
        Lookup::TagAndDigest {
            tagged: Some(_),
            agrees: Agreement::No,
        } => IdAnswer::Fails(ExpectedFailure {
            codes: vec!["ImageTagDoesNotMatchDigest", "ImageNotFound"],
            cause: FailureCause::TagDigestMismatch,
            reason: REASON_MISMATCH,
        }),
        // The row "T with characters outside [a-zA-Z0-9-_.] | any" holds with a digest too:
        // such a tag is never stored, so the id also fails as "T and D | T absent".
        Lookup::TagAndDigest { tagged: None, .. } if unusual(tag) => {
            IdAnswer::Fails(ExpectedFailure {
                codes: vec!["ImageNotFound", "InvalidImageTag"],
                cause: FailureCause::TagAndDigestNotFound,
                reason: REASON_NOT_FOUND,
            })
        }
        Lookup::TagAndDigest { tagged: None, .. } => not_found(FailureCause::TagAndDigestNotFound),
    }
}

/// Whether a sent tag has characters outside `[a-zA-Z0-9-_.]`.
fn unusual(tag: &str) -> bool {
    !tag.is_empty() && !ImageTag::has_plain_characters(tag)
}

fn found(
    image: &StoredImage,
    resolution: Resolution,
    tag: &str,
    accepted: Option<&[String]>,
) -> IdAnswer {
    let stored: Arc<StoredManifest> = Arc::clone(&image.manifest);
    let tags = match resolution {
        Resolution::ByDigest => TagRule::AbsentOrAnyOf(image.tags.clone()),
        Resolution::ByTag | Resolution::TagAndDigest => TagRule::Exactly(tag.to_owned()),
    };
    let manifest = negotiate(&stored, resolution, accepted);
    let or_fails = manifest.may_fail.then(|| ExpectedFailure {
        codes: FAILURE_CODES.to_vec(),
        cause: FailureCause::NoAcceptableManifest,
        reason: REASON_NOT_FOUND,
    });
    IdAnswer::Found(ExpectedImage {
        resolution,
        stored,
        tags,
        manifest,
        or_fails,
    })
}

/// The media-type negotiation of section 5.
pub(crate) fn negotiate(
    stored: &StoredManifest,
    resolution: Resolution,
    accepted: Option<&[String]>,
) -> ManifestRule {
    let rule = |cause, may_fail, translations: Vec<Format>| ManifestRule {
        cause,
        as_stored: true,
        may_fail,
        translations,
        accepted: accepted.map(<[String]>::to_vec).unwrap_or_default(),
    };
    let Some(accepted) = accepted else {
        let cause = match resolution {
            Resolution::ByTag => ManifestCause::NoneListed,
            _ => ManifestCause::ByDigest,
        };
        return rule(cause, false, vec![]);
    };
    let formats: Vec<Format> = accepted.iter().map(|t| Format::of(t)).collect();
    let stored_accepted = accepted.iter().any(|t| t == stored.media_type.as_str())
        || (stored.format != Format::Other && formats.contains(&stored.format));
    if stored_accepted {
        return rule(ManifestCause::StoredAccepted, false, vec![]);
    }
    // "Requested by digest (with or without a tag): no translation ever; the stored manifest
    // comes back as stored, or the id fails."
    if resolution != Resolution::ByTag {
        return rule(ManifestCause::ByDigest, true, vec![]);
    }
    if stored.format.is_list() {
        return rule(ManifestCause::ListNotAccepted, true, vec![]);
    }
    let cells: Vec<Cell> = formats
        .iter()
        .filter_map(|f| cell(*f, stored.format))
        .collect();
    if cells.is_empty() {
        return rule(ManifestCause::NothingKnown, true, vec![]);
    }
    let mut translations: Vec<Format> = cells.iter().filter_map(|c| c.translate).collect();
    translations.sort_by_key(|f| *f as u8);
    translations.dedup();
    ManifestRule {
        as_stored: cells.iter().any(|c| c.as_stored),
        may_fail: cells.iter().any(|c| c.may_fail),
        ..rule(ManifestCause::Table, false, translations)
    }
}

/// One cell of the table: what may answer when the client accepts `accept` and the image is
/// stored as `stored`. The union of the cells of every accepted type is acceptable.
struct Cell {
    as_stored: bool,
    may_fail: bool,
    translate: Option<Format>,
}

fn cell(accept: Format, stored: Format) -> Option<Cell> {
    let cell = |as_stored, may_fail, translate| {
        Some(Cell {
            as_stored,
            may_fail,
            translate,
        })
    };
    match (accept, stored) {
        (Format::S1, Format::S2) => cell(false, false, Some(Format::S1)),
        // Current docs: no translation (as stored, or the id fails); older docs: to S1.
        (Format::S1, Format::Oci) => cell(true, true, Some(Format::S1)),
        // The client falls back to the stored S1.
        (Format::S2, Format::S1) => cell(true, false, None),
        (Format::S2, Format::Oci) => cell(false, false, Some(Format::S2)),
        (Format::Oci, Format::S1) => cell(true, true, None),
        (Format::Oci, Format::S2) => cell(false, false, Some(Format::Oci)),
        // An image of a type the table does not know: as stored, or the id fails.
        (Format::S1 | Format::S2 | Format::Oci, _) => cell(true, true, None),
        _ => None,
    }
}
