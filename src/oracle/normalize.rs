//! The one place where answers are compared: media types, digests, error names, multisets.

use crate::model::{Format, ImageDigest};

use crate::wire::CONTENT_TYPE;

/// Whether a `Content-Type` value is AWS JSON 1.1 (case-insensitive, parameters ignored).
pub fn is_aws_json(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .eq_ignore_ascii_case(CONTENT_TYPE)
}

/// Whether an answered digest names the requested one: exactly, or, for digests whose hex
/// case differs (spec: may), ignoring case.
pub fn digest_matches(answered: &str, requested: &str) -> bool {
    answered == requested || answered.eq_ignore_ascii_case(requested)
}

/// Whether `bytes` hash to `digest` (a `sha256:` digest, hex in either case).
pub fn is_digest_of(digest: &str, bytes: &str) -> bool {
    ImageDigest::of(bytes.as_bytes()).eq_ignoring_hex_case(digest)
}

/// The format an answered manifest claims: its `imageManifestMediaType`, else its own
/// `mediaType`, else schema 1 when it says `"schemaVersion": 1`.
pub fn claimed_format(media_type: Option<&str>, manifest: &str) -> Format {
    if let Some(t) = media_type {
        return Format::of(t);
    }
    let value: serde_json::Value = serde_json::from_str(manifest).unwrap_or_default();
    match (
        value.get("mediaType").and_then(|v| v.as_str()),
        value.get("schemaVersion").and_then(|v| v.as_i64()),
    ) {
        (Some(t), _) => Format::of(t),
        (None, Some(1)) => Format::S1,
        _ => Format::Other,
    }
}

/// Error names the oracle recognises: the modelled errors of BatchGetImage and the common
/// errors any AWS endpoint may answer (spec section 1).
pub const KNOWN_ERRORS: [&str; 16] = [
    "ServerException",
    "InvalidParameterException",
    "RepositoryNotFoundException",
    "LimitExceededException",
    "UnableToGetUpstreamImageException",
    "AccessDeniedException",
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "ThrottlingException",
    "ServiceUnavailableException",
    "UnknownOperationException",
    "SerializationException",
    "ValidationException",
    "ExpiredTokenException",
    "IncompleteSignatureException",
    "MissingAuthenticationTokenException",
];

/// The authentication errors an AWS endpoint refuses an unsigned or badly signed request
/// with (ROBUST-AUTH).
pub const AUTH_ERRORS: [&str; 5] = [
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "MissingAuthenticationTokenException",
    "AccessDeniedException",
    "IncompleteSignatureException",
];

/// Whether an answer is throttling, which a client retries before judging (spec section 1).
pub fn is_throttling(status: u16, code: Option<&str>) -> bool {
    status == 429
        || matches!(
            code,
            Some("ThrottlingException" | "ServiceUnavailableException")
        )
}
