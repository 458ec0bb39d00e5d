//! What a correct server may answer to one BatchGetImage request: a set of outcomes, never a
//! single guess where the spec allows several.
//!
//! Each expectation carries its *cause*, the semantic reason the model expects it; the oracle
//! maps causes to rule ids.

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::wire;

use super::manifest::{Format, StoredManifest};
use super::names::{ImageTag, RegistryId, RepositoryName};

/// Every modelled `ImageFailureCode`.
pub const FAILURE_CODES: [&str; 11] = [
    "InvalidImageDigest",
    "InvalidImageTag",
    "ImageTagDoesNotMatchDigest",
    "ImageNotFound",
    "MissingDigestAndTag",
    "ImageReferencedByManifestList",
    "KmsError",
    "UpstreamAccessDenied",
    "UpstreamTooManyRequests",
    "UpstreamUnavailable",
    "ImageInaccessible",
];

/// The acceptable answers to one request: a whole-request error, a 200 answer, or either.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Expected {
    /// The acceptable 200 answers, if a 200 is acceptable.
    pub success: Option<ExpectedBatch>,
    /// The acceptable errors, if an error is acceptable.
    pub error: Option<ExpectedError>,
}

/// Why the whole request fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[non_exhaustive]
pub enum RequestCause {
    /// `registryId` is not twelve digits.
    RegistryId,
    /// `repositoryName` is too short, too long or badly formed.
    RepositoryName,
    /// `imageIds` is empty or has more than 100 ids.
    ImageIdsCount,
    /// A tag is empty or longer than 300 characters.
    TagLength,
    /// `acceptedMediaTypes` is empty or has more than 100 entries.
    MediaTypesCount,
    /// A required member is missing, has the wrong JSON type, or the body is not JSON.
    Malformed,
    /// A malformed digest, which the server may refuse as a whole.
    InvalidDigest,
    /// The repository does not exist in the resolved registry.
    RepositoryNotFound,
    /// Another account's registry, in which the caller's repository is not found.
    ForeignRegistry,
}

/// An acceptable whole-request error.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ExpectedError {
    /// Acceptable error names.
    pub codes: Vec<&'static str>,
    /// Why.
    pub cause: RequestCause,
    /// The message the model gives.
    pub message: String,
}

/// The acceptable 200 answers: an expectation per requested id, in request order.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ExpectedBatch {
    /// The registry the repository was found in.
    pub registry_id: RegistryId,
    /// The requested repository.
    pub repository_name: RepositoryName,
    /// One per requested id, repetitions included.
    pub ids: Vec<IdExpectation>,
    /// Limits the request sits exactly at (100 ids, a 300-character tag, ...): a server that
    /// refuses it broke the rule of that limit.
    pub at_limits: Vec<RequestCause>,
}

/// What may answer one requested id.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct IdExpectation {
    /// The id exactly as sent.
    pub requested: wire::ImageIdentifier,
    /// What answers it.
    pub answer: IdAnswer,
}

/// StoredImage entries or a failure.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub enum IdAnswer {
    /// One or more image entries (and, where `or_fails` says so, a failure instead).
    Found(ExpectedImage),
    /// Exactly one failure.
    Fails(ExpectedFailure),
}

/// Why an id fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[non_exhaustive]
pub enum FailureCause {
    /// Neither tag nor digest.
    MissingDigestAndTag,
    /// A digest that does not match the digest pattern.
    InvalidDigest,
    /// A tag with characters outside `[a-zA-Z0-9-_.]`.
    UnusualTag,
    /// No such tag.
    TagNotFound,
    /// No such tag, but one that differs only in letter case exists.
    TagCase,
    /// No such digest.
    DigestNotFound,
    /// The tag exists and points at another digest.
    TagDigestMismatch,
    /// Tag and digest given, and the tag does not exist.
    TagAndDigestNotFound,
    /// The digest differs from a stored one only in the case of its hex.
    DigestHexCase,
    /// No acceptable media type could be served.
    NoAcceptableManifest,
}

/// An acceptable failure.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ExpectedFailure {
    /// Acceptable failure codes.
    pub codes: Vec<&'static str>,
    /// Why.
    pub cause: FailureCause,
    /// The reason the model gives.
    pub reason: &'static str,
}

/// How the id named the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[non_exhaustive]
pub enum Resolution {
    /// By tag alone.
    ByTag,
    /// By digest alone.
    ByDigest,
    /// By tag and digest, which agree.
    TagAndDigest,
}

/// The image entries that may answer an id.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ExpectedImage {
    /// How the id named the image.
    pub resolution: Resolution,
    /// The stored image.
    pub stored: Arc<StoredManifest>,
    /// The `imageTag` the entries may carry.
    pub tags: TagRule,
    /// Which manifests may come back.
    pub manifest: ManifestRule,
    /// A failure that is acceptable instead of the image, if any.
    pub or_fails: Option<ExpectedFailure>,
}

/// The `imageTag` of an answering entry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum TagRule {
    /// Exactly this tag (requests naming a tag).
    Exactly(String),
    /// No tag, or any of these (requests by digest alone: the image's tags now).
    AbsentOrAnyOf(BTreeSet<ImageTag>),
}

/// Why the manifest must come back as it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[non_exhaustive]
pub enum ManifestCause {
    /// Requested by digest: never translated.
    ByDigest,
    /// `acceptedMediaTypes` omitted: as stored.
    NoneListed,
    /// The stored type is accepted: as stored.
    StoredAccepted,
    /// The translation table of section 5 decides.
    Table,
    /// A list or index whose type is not accepted: as stored, or the id fails.
    ListNotAccepted,
    /// No accepted type is one the table knows: as stored, or the id fails.
    NothingKnown,
}

/// The manifests that may answer an id.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ManifestRule {
    /// Why.
    pub cause: ManifestCause,
    /// The stored bytes are acceptable.
    pub as_stored: bool,
    /// A failure is acceptable instead (see [`ExpectedImage::or_fails`]).
    pub may_fail: bool,
    /// Formats it may be translated to.
    pub translations: Vec<Format>,
    /// Accepted media types as sent, for the translated `imageManifestMediaType`.
    pub accepted: Vec<String>,
}

impl Expected {
    /// Only a whole-request error is acceptable.
    pub fn error(
        codes: Vec<&'static str>,
        cause: RequestCause,
        message: impl Into<String>,
    ) -> Self {
        Self {
            success: None,
            error: Some(ExpectedError {
                codes,
                cause,
                message: message.into(),
            }),
        }
    }
}

impl ExpectedFailure {
    /// A failure with one acceptable code.
    pub fn one(code: &'static str, cause: FailureCause, reason: &'static str) -> Self {
        Self {
            codes: vec![code],
            cause,
            reason,
        }
    }
}
