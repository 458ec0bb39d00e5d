//! The `REG-*` rules (spec `registry-api.md`): registry-API answers judged against the
//! [`Expected`] the model gives for the BatchGetImage request they stand for, and against the
//! shapes the distribution API requires. `check` gathers the answers; what they mean is
//! decided here. No I/O, no clock.

use std::collections::BTreeSet;

use http::HeaderMap;

use crate::model::{
    Expected, FailureCause, Format, IdAnswer, ImageDigest, ManifestCause, RequestCause,
    TOKEN_LIFETIME_SECONDS,
};
use crate::wire::registry::{
    API_VERSION, API_VERSION_HEADER, DIGEST_HEADER, ErrorCode, parse_registry_error,
};
use crate::wire::{self, BatchGetImageRequest, BatchGetImageResponse, ImageIdentifier};

use super::check::{Observed, check};
use super::rules::RuleId;
use super::violation::Violation;

/// A registry-API answer as observed: status, headers and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullObserved {
    /// HTTP status.
    pub status: u16,
    /// Answer headers.
    pub headers: HeaderMap,
    /// Answer body.
    pub body: Vec<u8>,
}

impl PullObserved {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The media type of `Content-Type`, parameters dropped.
    fn media_type(&self) -> Option<&str> {
        self.header("content-type")
            .map(|v| v.split(';').next().unwrap_or_default().trim())
    }

    /// The first error code of a distribution error envelope, if the body is one.
    fn error_code(&self) -> Option<ErrorCode> {
        let envelope = parse_registry_error(&self.body).ok()?;
        envelope.errors().first().map(|e| e.code().clone())
    }
}

/// Whether an answer to `GET /v2/` without credentials comes from a registry API at all (a
/// challenge, the version header, or a 200): a server without one answers 404 or an AWS
/// error, and then no `REG-*` rule is exercised.
pub fn has_registry_api(unauthenticated_ping: &PullObserved) -> bool {
    let p = unauthenticated_ping;
    p.header(API_VERSION_HEADER).is_some()
        || p.header("www-authenticate").is_some()
        || p.status == 200
}

fn violation(
    rule: RuleId,
    expected: impl Into<String>,
    found: impl Into<String>,
) -> Vec<Violation> {
    vec![Violation::new(rule, "", expected, found)]
}

/// REG-AUTH-CHALLENGE: no credentials, `401` with ECR's Basic challenge and the version
/// header: `service="ecr.amazonaws.com"` and the registry's own URL as realm, which is
/// `https://<account>.dkr.ecr.<region>.amazonaws.com/` on ECR (the region is the server's,
/// which need not be the one the harness signs for); a server reached at `registry_url`, an
/// emulator or a proxy, may name that URL instead (section 1: a checker accepts either).
pub fn check_challenge(
    observed: &PullObserved,
    account: &str,
    registry_url: &str,
) -> Vec<Violation> {
    let found = observed.header("www-authenticate").unwrap_or("none");
    let version = observed.header(API_VERSION_HEADER) == Some(API_VERSION);
    let challenge = is_ecr_challenge(found, account, registry_url);
    match (observed.status, challenge, version) {
        (401, true, true) => vec![],
        (status, _, _) => violation(
            RuleId::RegAuthChallenge,
            format!(
                "HTTP 401, WWW-Authenticate: Basic realm=\"https://{account}.dkr.ecr.<region>.amazonaws.com/\" (or \"{}/\"),service=\"ecr.amazonaws.com\", {API_VERSION_HEADER}: {API_VERSION}",
                registry_url.trim_end_matches('/')
            ),
            format!(
                "HTTP {status}, WWW-Authenticate: {found}, {API_VERSION_HEADER}: {}",
                observed.header(API_VERSION_HEADER).unwrap_or("none")
            ),
        ),
    }
}

/// Whether `value` is ECR's Basic challenge for `account`, or one naming the registry's own
/// URL as realm, whatever the order and spacing of its parameters.
fn is_ecr_challenge(value: &str, account: &str, registry_url: &str) -> bool {
    let Some((scheme, params)) = value.trim().split_once(' ') else {
        return false;
    };
    let param = |key: &str| {
        params.split(',').find_map(|p| {
            let (k, v) = p.split_once('=')?;
            (k.trim().eq_ignore_ascii_case(key)).then(|| v.trim().trim_matches('"').to_owned())
        })
    };
    let realm = param("realm").unwrap_or_default();
    let host = realm
        .strip_prefix(&format!("https://{account}.dkr.ecr."))
        .and_then(|r| r.strip_suffix('/'))
        .and_then(|r| r.split_once('.'));
    let region_ok = host.is_some_and(|(region, domain)| {
        !region.is_empty()
            && region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && domain.starts_with("amazonaws.com")
    });
    let own = !registry_url.is_empty()
        && realm.trim_end_matches('/') == registry_url.trim_end_matches('/');
    scheme.eq_ignore_ascii_case("basic")
        && (region_ok || own)
        && param("service").as_deref() == Some("ecr.amazonaws.com")
}

/// REG-AUTH-TOKEN: GetAuthorizationToken's token is base64 of `AWS:<password>` and expires
/// 12 hours after it was asked for at `asked_at` (a minute either way for the clocks).
pub fn check_token(token: &str, expires_at: Option<f64>, asked_at: f64) -> Vec<Violation> {
    use base64::Engine as _;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(token)
        .ok()
        .and_then(|b| String::from_utf8(b).ok());
    let mut out = Vec::new();
    if !decoded
        .as_deref()
        .is_some_and(|t| t.starts_with("AWS:") && t.len() > 4)
    {
        out.extend(violation(
            RuleId::RegAuthToken,
            "authorizationToken: base64 of AWS:<password>",
            "another token",
        ));
    }
    let lifetime = expires_at.map(|e| e - asked_at);
    if !lifetime.is_some_and(|l| (l - TOKEN_LIFETIME_SECONDS).abs() <= 60.0) {
        out.extend(violation(
            RuleId::RegAuthToken,
            "expiresAt 12 hours after the request",
            match lifetime {
                Some(l) => format!("{:.0} seconds after it", l),
                None => "no expiresAt".to_owned(),
            },
        ));
    }
    out
}

/// REG-PING and REG-AUTH-TOKEN: `GET /v2/` with the GetAuthorizationToken token is `200`
/// with the version header.
pub fn check_ping(observed: &PullObserved) -> Vec<Violation> {
    let mut out = Vec::new();
    if matches!(observed.status, 401 | 403) {
        out.extend(violation(
            RuleId::RegAuthToken,
            "the token accepted",
            format!("HTTP {}", observed.status),
        ));
    }
    let version = observed.header(API_VERSION_HEADER);
    if observed.status != 200 || version != Some(API_VERSION) {
        out.extend(violation(
            RuleId::RegPing,
            format!("HTTP 200 with {API_VERSION_HEADER}: {API_VERSION}"),
            format!(
                "HTTP {} with {API_VERSION_HEADER}: {}",
                observed.status,
                version.unwrap_or("none")
            ),
        ));
    }
    out
}

/// REG-AUTH-DENIED: a token that was never valid gets `403` `DENIED` and no challenge.
pub fn check_denied(observed: &PullObserved) -> Vec<Violation> {
    let code = observed.error_code();
    let challenge = observed.header("www-authenticate");
    match (observed.status, &code, challenge) {
        (403, Some(ErrorCode::Denied), None) => vec![],
        (status, code, challenge) => violation(
            RuleId::RegAuthDenied,
            "HTTP 403 DENIED, no WWW-Authenticate",
            format!(
                "HTTP {status} {}{}",
                code.as_ref()
                    .map_or("(no distribution error)".into(), |c| c.to_string()),
                challenge.map_or(String::new(), |c| format!(", WWW-Authenticate: {c}"))
            ),
        ),
    }
}

/// Every rule a manifest GET can break: the answer judged as the BatchGetImage answer it
/// stands for (`request`, whose acceptable answers are `expected`).
pub fn check_manifest(
    expected: &Expected,
    request: &BatchGetImageRequest,
    observed: &PullObserved,
) -> Vec<Violation> {
    let mut out = check_digest_header(observed, &observed.body);
    match observed.status {
        200 => out.extend(check_manifest_body(expected, request, observed)),
        _ => out.extend(check_manifest_error(expected, request, observed)),
    }
    out
}

/// REG-DIGEST-HEADER: `Docker-Content-Digest`, where present, is the sha256 of `body`.
fn check_digest_header(observed: &PullObserved, body: &[u8]) -> Vec<Violation> {
    let Some(found) = observed.header(DIGEST_HEADER) else {
        return vec![];
    };
    let want = ImageDigest::of(body).to_string();
    match found == want {
        true => vec![],
        false => violation(RuleId::RegDigestHeader, want, found),
    }
}

/// A 200 answer as a BatchGetImage answer with one image, judged by the BatchGetImage
/// oracle; its violations filed under the `REG-*` rule they break here.
fn check_manifest_body(
    expected: &Expected,
    request: &BatchGetImageRequest,
    observed: &PullObserved,
) -> Vec<Violation> {
    let requested = request
        .image_ids
        .as_ref()
        .and_then(|ids| ids.first())
        .cloned()
        .unwrap_or_default();
    let Some(batch) = &expected.success else {
        return violation(
            RuleId::RegManifestAsBatchgetimage,
            "the error BatchGetImage answers",
            "HTTP 200 with a manifest",
        );
    };
    let image = wire::Image {
        registry_id: Some(batch.registry_id.to_string()),
        repository_name: Some(batch.repository_name.to_string()),
        image_id: Some(ImageIdentifier {
            image_digest: Some(ImageDigest::of(&observed.body).to_string()),
            image_tag: requested.image_tag.clone(),
        }),
        image_manifest: Some(String::from_utf8_lossy(&observed.body).into_owned()),
        image_manifest_media_type: observed.media_type().map(str::to_owned),
    };
    let answer = BatchGetImageResponse {
        images: Some(vec![image]),
        failures: Some(vec![]),
    };
    // By digest, an answer in another format than the stored one is a translation.
    let stored_format = batch.ids.first().and_then(|id| match &id.answer {
        IdAnswer::Found(image) => Some(image.stored.format),
        IdAnswer::Fails(_) => None,
    });
    let translated_by_digest = requested.image_tag.is_none()
        && stored_format.is_some_and(|f| observed.media_type().map(Format::of) != Some(f));
    // Without Accept, the stored manifest is a should row of its own (section 2): a format
    // other than the stored one keeps the should rule of BatchGetImage without
    // acceptedMediaTypes, never REG-ACCEPT-NEGOTIATION's must.
    let no_accept = request.accepted_media_types.is_none();
    check(expected, &Observed::from_answer(&Ok(answer)))
        .into_iter()
        .map(|v| {
            let rule = match v.rule {
                RuleId::ManNoTranslationByDigest => RuleId::RegAcceptByDigest,
                _ if translated_by_digest => RuleId::RegAcceptByDigest,
                RuleId::ManTranslation if no_accept => RuleId::ManTranslation,
                RuleId::ManAcceptedStored | RuleId::ManTranslation => RuleId::RegAcceptNegotiation,
                _ => RuleId::RegManifestAsBatchgetimage,
            };
            Violation {
                rule,
                level: rule.level(),
                via: Some(v.rule),
                ..v
            }
        })
        .collect()
}

/// Whether `digest` is a well-formed digest of the distribution API: `sha256:` and 64
/// lower-case hex digits, or `sha512:` and 128. `sha256:bad` is not, though BatchGetImage's
/// looser pattern takes it.
pub(crate) fn is_distribution_digest(digest: &str) -> bool {
    let hex = |h: &str, n: usize| {
        h.len() == n
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    match digest.split_once(':') {
        Some(("sha256", h)) => hex(h, 64),
        Some(("sha512", h)) => hex(h, 128),
        _ => false,
    }
}

/// What a non-200 answer to a manifest GET may be, by what BatchGetImage answers.
fn check_manifest_error(
    expected: &Expected,
    request: &BatchGetImageRequest,
    observed: &PullObserved,
) -> Vec<Violation> {
    let code = observed.error_code();
    let mut out = check_envelope(observed);
    let status = observed.status;
    // A malformed digest: `400` with a distribution error code, or `404` (section 2, may),
    // in a repository that exists.
    let malformed = request
        .image_ids
        .iter()
        .flatten()
        .filter_map(|id| id.image_digest.as_deref())
        .any(|d| !is_distribution_digest(d));
    let repository_found = expected
        .error
        .as_ref()
        .is_none_or(|e| e.cause != RequestCause::RepositoryNotFound);
    if malformed && repository_found && (status == 404 || (status == 400 && code.is_some())) {
        return out;
    }
    let found = format!(
        "HTTP {status} {}",
        code.as_ref()
            .map_or("(no distribution error)".into(), |c| c.to_string())
    );
    if let Some(error) = &expected.error
        && error.cause == RequestCause::RepositoryNotFound
    {
        if !(status == 404 && code == Some(ErrorCode::NameUnknown)) {
            out.extend(violation(
                RuleId::RegNameUnknown,
                "HTTP 404 NAME_UNKNOWN",
                found,
            ));
        }
        return out;
    }
    let answer = expected
        .success
        .as_ref()
        .and_then(|b| b.ids.first())
        .map(|id| &id.answer);
    let not_found = status == 404 && code == Some(ErrorCode::ManifestUnknown);
    match answer {
        Some(IdAnswer::Fails(f)) if is_not_found(f.cause) => {
            if !not_found {
                out.extend(violation(
                    RuleId::RegManifestUnknown,
                    "HTTP 404 MANIFEST_UNKNOWN",
                    found,
                ));
            }
        }
        Some(IdAnswer::Fails(_)) => {
            if !(400..500).contains(&status) {
                out.extend(violation(
                    RuleId::RegManifestAsBatchgetimage,
                    "a 4xx",
                    found,
                ));
            }
        }
        Some(IdAnswer::Found(image)) => {
            // By digest with the stored type not accepted: 404, 406 or 400 (may).
            let refusal_allowed = image.or_fails.is_some()
                && (not_found
                    || (image.manifest.cause == ManifestCause::ByDigest
                        && matches!(status, 400 | 406)));
            if !refusal_allowed {
                out.extend(violation(
                    RuleId::RegManifestAsBatchgetimage,
                    "HTTP 200 with the manifest BatchGetImage answers",
                    found,
                ));
            }
        }
        None => {
            if !(400..500).contains(&status) {
                out.extend(violation(
                    RuleId::RegManifestAsBatchgetimage,
                    "a 4xx",
                    found,
                ));
            }
        }
    }
    out
}

fn is_not_found(cause: FailureCause) -> bool {
    matches!(
        cause,
        FailureCause::TagNotFound
            | FailureCause::TagCase
            | FailureCause::DigestNotFound
            | FailureCause::DigestHexCase
    )
}

/// REG-ERROR-ENVELOPE: an error other than the 401 that carries a body is
/// `{"errors":[{"code","message"}]}` with a distribution error code. The row covers only
/// errors with a body: an error answered with none (a `404` with no body, as the blob row
/// allows) breaks nothing here.
fn check_envelope(observed: &PullObserved) -> Vec<Violation> {
    let no_body = observed.body.iter().all(u8::is_ascii_whitespace);
    if observed.status == 401 || observed.status < 400 || no_body {
        return vec![];
    }
    let ok = parse_registry_error(&observed.body)
        .is_ok_and(|e| !e.errors().is_empty() && e.errors().iter().all(|i| i.message().is_some()));
    match ok {
        true => vec![],
        false => {
            let body = String::from_utf8_lossy(&observed.body[..observed.body.len().min(200)]);
            violation(
                RuleId::RegErrorEnvelope,
                "{\"errors\":[{\"code\":<a distribution code>,\"message\":...}]}",
                body,
            )
        }
    }
}

/// REG-MANIFEST-HEAD (and REG-DIGEST-HEADER on the HEAD): `200`, no body, the GET's
/// `Content-Type`, its body's length as `Content-Length`, and `Docker-Content-Digest`.
pub fn check_head(get: &PullObserved, head: &PullObserved) -> Vec<Violation> {
    let mut out = check_digest_header(head, &get.body);
    let length = head.header("content-length");
    let want_length = get.body.len().to_string();
    let fine = head.status == 200
        && head.body.is_empty()
        && head.media_type().is_some()
        && head.media_type() == get.media_type()
        && length == Some(want_length.as_str())
        && head.header(DIGEST_HEADER).is_some();
    if !fine {
        out.extend(violation(
            RuleId::RegManifestHead,
            format!(
                "HTTP 200, empty body, Content-Type {}, Content-Length {want_length}, Docker-Content-Digest",
                get.media_type().unwrap_or("as the GET")
            ),
            format!(
                "HTTP {}, {} body bytes, Content-Type {}, Content-Length {}, Docker-Content-Digest {}",
                head.status,
                head.body.len(),
                head.media_type().unwrap_or("none"),
                length.unwrap_or("none"),
                head.header(DIGEST_HEADER).unwrap_or("none")
            ),
        ));
    }
    out
}

/// REG-BLOB-BYTES: the blob fetched (redirects followed) hashes to `digest`.
pub fn check_blob(digest: &str, observed: &PullObserved) -> Vec<Violation> {
    let found = ImageDigest::of(&observed.body).to_string();
    match (observed.status, found == digest) {
        (200, true) => vec![],
        (status, _) => violation(
            RuleId::RegBlobBytes,
            format!("HTTP 200 with bytes hashing to {digest}"),
            format!("HTTP {status} with bytes hashing to {found}"),
        ),
    }
}

/// REG-BLOB-UNKNOWN (and REG-ERROR-ENVELOPE when a body is sent): an unknown blob is `404`.
pub fn check_blob_unknown(observed: &PullObserved) -> Vec<Violation> {
    let mut out = Vec::new();
    if !observed.body.is_empty() {
        out.extend(check_envelope(observed));
    }
    if observed.status != 404 {
        out.extend(violation(
            RuleId::RegBlobUnknown,
            "HTTP 404",
            format!("HTTP {}", observed.status),
        ));
    }
    out
}

/// REG-BLOB-HEAD: HEAD of an uploaded blob is `200` with `Docker-Content-Digest: <digest>`.
pub fn check_blob_head(digest: &str, observed: &PullObserved) -> Vec<Violation> {
    let found = observed.header(DIGEST_HEADER);
    match (observed.status, found == Some(digest)) {
        (200, true) => vec![],
        (status, _) => violation(
            RuleId::RegBlobHead,
            format!("HTTP 200 with {DIGEST_HEADER}: {digest}"),
            format!(
                "HTTP {status} with {DIGEST_HEADER}: {}",
                found.unwrap_or("none")
            ),
        ),
    }
}

/// How many tags a page of `tags/list` holds without `n` (section 4).
pub const TAGS_DEFAULT_PAGE: usize = 100;

/// The largest `n` of `tags/list` (section 4): above it, a 4xx.
pub const TAGS_MAX_N: usize = 1000;

/// REG-TAGS-LIMITS: a `tags/list` page asked for with `n` (`None`: without) holds at most `n`
/// tags, or [`TAGS_DEFAULT_PAGE`] without; an `n` over [`TAGS_MAX_N`] is refused with a 4xx.
/// A page that is no tag list is REG-TAGS-LIST's.
pub fn check_tags_limit(n: Option<usize>, observed: &PullObserved) -> Vec<Violation> {
    if n.is_some_and(|n| n > TAGS_MAX_N) {
        return match (400..500).contains(&observed.status) {
            true => vec![],
            false => violation(
                RuleId::RegTagsLimits,
                format!("a 4xx for n above {TAGS_MAX_N}"),
                format!("HTTP {}", observed.status),
            ),
        };
    }
    let list: Option<wire::registry::TagList> = serde_json::from_slice(&observed.body).ok();
    let Some(list) = list.filter(|_| observed.status == 200) else {
        return vec![];
    };
    let most = n.unwrap_or(TAGS_DEFAULT_PAGE);
    match list.tags().len() <= most {
        true => vec![],
        false => violation(
            RuleId::RegTagsLimits,
            format!("at most {most} tags a page"),
            format!("{} tags", list.tags().len()),
        ),
    }
}

/// REG-TAGS-LIST: every page is `200` `{"name","tags"}` for `name`, and the pages (followed
/// by their `Link rel="next"`) hold exactly `tags`.
pub fn check_tags(name: &str, tags: &BTreeSet<String>, pages: &[PullObserved]) -> Vec<Violation> {
    let mut seen = Vec::new();
    for page in pages {
        let list: Option<wire::registry::TagList> = serde_json::from_slice(&page.body).ok();
        match (page.status, list) {
            (200, Some(list)) if list.name() == name => seen.extend(list.tags().iter().cloned()),
            (status, _) => {
                let body = String::from_utf8_lossy(&page.body[..page.body.len().min(200)]);
                return violation(
                    RuleId::RegTagsList,
                    format!("HTTP 200 {{\"name\":\"{name}\",\"tags\":[...]}}"),
                    format!("HTTP {status} {body}"),
                );
            }
        }
    }
    let found: BTreeSet<String> = seen.iter().cloned().collect();
    match found == *tags && found.len() == seen.len() {
        true => vec![],
        false => violation(
            RuleId::RegTagsList,
            format!("the tags {tags:?}, each once"),
            format!("{seen:?}"),
        ),
    }
}

/// REG-SAME-STATE: right after a PutImage of `manifest` (a new tag, or a tag moved to it),
/// the registry API answers it by tag; `observed` is that GET.
pub fn check_visible_after_put(manifest: &str, observed: &PullObserved) -> Vec<Violation> {
    match observed.status == 200 && observed.body == manifest.as_bytes() {
        true => vec![],
        false => violation(
            RuleId::RegSameState,
            "HTTP 200 with the manifest just pushed",
            format!(
                "HTTP {} with {} body bytes",
                observed.status,
                observed.body.len()
            ),
        ),
    }
}

/// REG-SAME-STATE: right after BatchDeleteImage (by tag or by digest), the registry API no
/// longer answers the tag or digest deleted.
pub fn check_gone_after_delete(observed: &PullObserved) -> Vec<Violation> {
    match observed.status {
        404 => vec![],
        status => violation(
            RuleId::RegSameState,
            "HTTP 404 for the image just deleted",
            format!("HTTP {status}"),
        ),
    }
}
