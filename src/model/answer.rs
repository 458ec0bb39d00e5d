//! One concrete answer out of the acceptable set: what the embedded server says, chosen by a
//! [`Profile`] wherever the spec allows several outcomes.

use crate::wire;

use super::error::OpError;
use super::expected::*;
use super::manifest::{Format, translate};
use super::request::failure;

/// The choices a server makes where the spec allows several outcomes. The default is the
/// embedded server's documented behaviour.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Profile {
    /// The `imageTag` of entries answering a request by digest alone.
    pub digest_tags: DigestTags,
    /// Whether an id whose cell allows "as stored, or the id fails" fails.
    pub fail_untranslatable: bool,
    /// Whether a translated manifest reports the digest of the translated bytes (else the
    /// stored image's digest).
    pub digest_of_translation: bool,
    /// Whether a malformed digest fails the whole request (else the id fails).
    pub reject_invalid_digest: bool,
    /// Whether a tag/digest disagreement fails with `ImageNotFound` (else
    /// `ImageTagDoesNotMatchDigest`).
    pub mismatch_as_not_found: bool,
    /// Whether a repeated id is answered once (else once per repetition).
    pub dedupe_ids: bool,
}

/// The `imageTag` of entries answering a request by digest alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[non_exhaustive]
pub enum DigestTags {
    /// One entry with no tag, echoing the request.
    #[default]
    None,
    /// One entry with the image's first tag (in sorted order).
    First,
    /// One entry per tag (one entry with no tag for an untagged image).
    Each,
}

impl Expected {
    /// The answer a server following `profile` gives: an error or a BatchGetImage response.
    pub fn answer(&self, profile: &Profile) -> Result<wire::BatchGetImageResponse, OpError> {
        match (&self.success, &self.error) {
            (Some(batch), Some(_)) if !profile.reject_invalid_digest => {
                Ok(answer_batch(batch, profile))
            }
            (Some(batch), None) => Ok(answer_batch(batch, profile)),
            (_, Some(error)) => error_of(error),
            (None, None) => Err(OpError::new(
                "ServerException",
                "the model expects no answer",
            )),
        }
    }
}

fn error_of<T>(error: &ExpectedError) -> Result<T, OpError> {
    Err(OpError::new(error.codes[0], error.message.clone()))
}

fn answer_batch(batch: &ExpectedBatch, profile: &Profile) -> wire::BatchGetImageResponse {
    let mut images = Vec::new();
    let mut failures = Vec::new();
    let mut seen: Vec<&wire::ImageIdentifier> = Vec::new();
    for id in &batch.ids {
        if profile.dedupe_ids && seen.contains(&&id.requested) {
            continue;
        }
        seen.push(&id.requested);
        match &id.answer {
            IdAnswer::Fails(f) => failures.push(failure_of(&id.requested, f, profile)),
            IdAnswer::Found(e) => match entries(batch, &id.requested, e, profile) {
                Some(mut entries) => images.append(&mut entries),
                None => {
                    let f = e
                        .or_fails
                        .as_ref()
                        .map(|f| failure_of(&id.requested, f, profile));
                    failures.extend(f);
                }
            },
        }
    }
    wire::BatchGetImageResponse {
        images: Some(images),
        failures: Some(failures),
    }
}

fn failure_of(
    id: &wire::ImageIdentifier,
    f: &ExpectedFailure,
    profile: &Profile,
) -> wire::ImageFailure {
    let code = match f.cause {
        FailureCause::TagDigestMismatch if profile.mismatch_as_not_found => "ImageNotFound",
        FailureCause::NoAcceptableManifest => "ImageNotFound",
        _ => f.codes[0],
    };
    failure(id, code, f.reason)
}

/// The entries answering one id, or `None` when the profile makes it fail.
fn entries(
    batch: &ExpectedBatch,
    requested: &wire::ImageIdentifier,
    e: &ExpectedImage,
    profile: &Profile,
) -> Option<Vec<wire::Image>> {
    let (manifest, media_type, digest) = manifest_of(batch, requested, e, profile)?;
    let tags: Vec<Option<String>> = match &e.tags {
        TagRule::Exactly(tag) => vec![Some(tag.clone())],
        TagRule::AbsentOrAnyOf(tags) => match profile.digest_tags {
            DigestTags::None => vec![None],
            DigestTags::First => vec![tags.iter().next().map(ToString::to_string)],
            DigestTags::Each if tags.is_empty() => vec![None],
            DigestTags::Each => tags.iter().map(|t| Some(t.to_string())).collect(),
        },
    };
    let entry = |tag: Option<String>| wire::Image {
        registry_id: Some(batch.registry_id.to_string()),
        repository_name: Some(batch.repository_name.to_string()),
        image_id: Some(wire::ImageIdentifier {
            image_digest: Some(digest.clone()),
            image_tag: tag,
        }),
        image_manifest: Some(manifest.clone()),
        image_manifest_media_type: Some(media_type.clone()),
    };
    Some(tags.into_iter().map(entry).collect())
}

/// The manifest, media type and digest of the answer; `None` when it fails instead.
fn manifest_of(
    batch: &ExpectedBatch,
    requested: &wire::ImageIdentifier,
    e: &ExpectedImage,
    profile: &Profile,
) -> Option<(String, String, String)> {
    let stored = &e.stored;
    if e.or_fails
        .as_ref()
        .is_some_and(|f| f.cause == FailureCause::DigestHexCase)
    {
        return None;
    }
    let rule = &e.manifest;
    let target = rule
        .translations
        .iter()
        .copied()
        .find(|f| *f != Format::S1 || !rule.as_stored);
    let Some(target) = target else {
        if rule.may_fail && profile.fail_untranslatable {
            return None;
        }
        return Some((
            stored.bytes.clone(),
            stored.media_type.to_string(),
            stored.digest.to_string(),
        ));
    };
    let tag = requested.image_tag.as_deref().unwrap_or_default();
    let bytes = translate(
        &stored.contents,
        stored.format,
        target,
        batch.repository_name.as_str(),
        tag,
    )?;
    let media_type = rule
        .accepted
        .iter()
        .find(|t| Format::of(t) == target)
        .cloned()
        .or_else(|| target.media_type().map(str::to_owned))
        .unwrap_or_default();
    let digest = match profile.digest_of_translation {
        true => super::names::ImageDigest::of(bytes.as_bytes()).to_string(),
        false => stored.digest.to_string(),
    };
    Some((bytes, media_type, digest))
}
