//! The registry API (`/v2/...`, what `docker pull` speaks) on the same listener as the AWS
//! JSON API, answered from the same [`Registry`](crate::model::Registry) (spec
//! `registry-api.md`).
//!
//! Every request but a pre-signed blob download needs `Authorization: Basic` with a token
//! from GetAuthorizationToken: none is `401` with ECR's Basic challenge, an invalid or expired
//! one `403 DENIED`. Manifests are answered by `batch_get_image` with the `Accept` list as
//! `acceptedMediaTypes`, so the profile's choices hold for both APIs. Never panics: bad input
//! is a 4xx with the distribution error envelope.

use http::HeaderMap;

use crate::model::{
    ImageDigest, OpError, Profile, Registry, TokenKey, TokenRefusal, batch_get_image,
    manifest_request,
};
use crate::wire::registry::{
    API_VERSION, API_VERSION_HEADER, DIGEST_HEADER, ErrorCode, Reference, Route, RouteError,
    TagListBuilder, accepted_media_types, basic_credentials, encode_registry_error, query_value,
    route,
};

/// An answer of the registry API: status, headers, body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Answer {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

const JSON: &str = "application/json; charset=utf-8";

impl Answer {
    pub(super) fn new(status: u16, content_type: &str, body: Vec<u8>) -> Self {
        Self {
            status,
            headers: vec![
                ("content-type", content_type.to_owned()),
                (API_VERSION_HEADER, API_VERSION.to_owned()),
            ],
            body,
        }
    }

    pub(super) fn error(status: u16, code: ErrorCode, message: &str) -> Self {
        Self::new(status, JSON, encode_registry_error(code, message))
    }

    pub(super) fn with(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// This answer, if every header value can be sent; else a `500`, never an answer with a
    /// header dropped (a stored value that is no HTTP field value, from a registry built in
    /// code: PutImage refuses one).
    pub(super) fn sendable(self) -> Self {
        let unsendable = self
            .headers
            .iter()
            .find(|(_, value)| http::HeaderValue::from_str(value).is_err());
        match unsendable {
            None => self,
            Some((name, _)) => Self::error(
                500,
                ErrorCode::Unsupported,
                &format!("the stored {name} cannot be sent as an HTTP header value"),
            ),
        }
    }
}

/// How the registry API answers: the endpoint's state and choices, for one request.
pub(super) struct Pull<'a> {
    pub registry: &'a Registry,
    pub profile: &'a Profile,
    pub blob_redirect: bool,
    pub now: f64,
    pub key: &'a TokenKey,
}

impl Pull<'_> {
    /// Answers one request under `/v2/`; a `HEAD` gets the headers of the `GET`, no body.
    pub fn answer(&self, method: &str, uri: &str, headers: &HeaderMap) -> Answer {
        let answer = self.answer_get(method, uri, headers).sendable();
        match method {
            "HEAD" => Answer {
                body: Vec::new(),
                ..answer
            },
            _ => answer,
        }
    }

    fn answer_get(&self, method: &str, uri: &str, headers: &HeaderMap) -> Answer {
        let route = match route(uri) {
            Ok(route) => route,
            Err(e @ RouteError::Unknown) => {
                return Answer::error(404, ErrorCode::Unsupported, &e.to_string());
            }
            Err(e) => return Answer::error(400, ErrorCode::NameInvalid, &e.to_string()),
        };
        let head = match method {
            "GET" => false,
            "HEAD" => true,
            _ => {
                return Answer::error(
                    405,
                    ErrorCode::Unsupported,
                    "the registry API does not take this method here",
                );
            }
        };
        if let Route::Blob { name, digest } = &route
            && presigned(self.key, uri, name, digest, self.now)
        {
            return self.blob(name, digest, head, false);
        }
        if let Some(refused) = self.authenticate(headers) {
            return refused;
        }
        match &route {
            Route::Ping => Answer::new(200, JSON, b"{}".to_vec()),
            Route::Catalog => self.catalog(),
            Route::Manifest { name, reference } => self.manifest(name, reference, headers, head),
            Route::Blob { name, digest } => self.blob(name, digest, head, self.blob_redirect),
            Route::Tags { name, n, last } => self.tags(name, n.as_deref(), last.as_deref()),
            Route::UploadStart { .. } | Route::Upload { .. } => {
                Answer::error(405, ErrorCode::Unsupported, "uploads are the push path's")
            }
        }
    }

    /// `None` when the request carries a valid token; else the refusal.
    pub(super) fn authenticate(&self, headers: &HeaderMap) -> Option<Answer> {
        let Some((user, password)) = basic_credentials(headers) else {
            let realm = format!(
                "https://{}.dkr.ecr.{}.amazonaws.com/",
                self.registry.account, self.registry.region
            );
            let challenge = format!("Basic realm=\"{realm}\",service=\"ecr.amazonaws.com\"");
            return Some(
                Answer::new(
                    401,
                    "text/plain; charset=utf-8",
                    b"Not Authorized\n".to_vec(),
                )
                .with("www-authenticate", challenge),
            );
        };
        let refusal = match user.as_str() {
            "AWS" => self
                .registry
                .check_registry_password(&password, self.now, self.key)
                .err(),
            _ => Some(TokenRefusal::Invalid),
        }?;
        let message = match refusal {
            TokenRefusal::Expired => {
                "Your authorization token has expired. Reauthenticate and try again."
            }
            _ => "Your authorization token is invalid.",
        };
        Some(Answer::error(403, ErrorCode::Denied, message))
    }

    fn manifest(
        &self,
        name: &str,
        reference: &Reference,
        headers: &HeaderMap,
        head: bool,
    ) -> Answer {
        if let Some(refused) = check_name(name) {
            return refused;
        }
        if let Reference::Digest(d) = reference
            && !ImageDigest::is_well_formed(d)
        {
            return Answer::error(400, ErrorCode::DigestInvalid, "invalid digest");
        }
        let accepted = match accepted_media_types(headers) {
            Ok(accepted) => accepted,
            Err(e) => return Answer::error(400, ErrorCode::Unsupported, &e.to_string()),
        };
        let request = manifest_request(name, reference, &accepted);
        let answer = batch_get_image(self.registry, &request).answer(self.profile);
        let batch = match answer {
            Ok(batch) => batch,
            Err(e) => return op_error(&e),
        };
        let image = batch.images.unwrap_or_default().into_iter().next();
        let Some(image) = image else {
            let reason = batch
                .failures
                .unwrap_or_default()
                .into_iter()
                .find_map(|f| f.failure_reason)
                .unwrap_or_else(|| "Requested image not found".into());
            return Answer::error(404, ErrorCode::ManifestUnknown, &reason);
        };
        let body = image.image_manifest.unwrap_or_default().into_bytes();
        let media_type = image.image_manifest_media_type.unwrap_or_default();
        let digest = ImageDigest::of(&body).to_string();
        let length = body.len();
        let answer = Answer::new(200, &media_type, body).with(DIGEST_HEADER, digest);
        match head {
            true => answer.with("content-length", length.to_string()),
            false => answer,
        }
    }

    fn blob(&self, name: &str, digest: &str, head: bool, redirect: bool) -> Answer {
        if let Some(refused) = check_name(name) {
            return refused;
        }
        if !ImageDigest::is_well_formed(digest) {
            return Answer::error(400, ErrorCode::DigestInvalid, "invalid digest");
        }
        let blob = match self.registry.blob(name, digest) {
            Ok(Some(blob)) => blob,
            Ok(None) => {
                return Answer::error(404, ErrorCode::BlobUnknown, "blob unknown to registry");
            }
            Err(e) => return op_error(&e),
        };
        if redirect && !head {
            let expires = (self.now + BLOB_URL_LIFETIME_SECONDS).floor() as i64;
            let location = format!(
                "/v2/{name}/blobs/{digest}?expires={expires}&download={}",
                self.key.sign(&download_message(name, digest, expires))
            );
            return Answer::new(307, "text/plain; charset=utf-8", Vec::new())
                .with("location", location);
        }
        let answer = Answer::new(200, "application/octet-stream", blob.bytes().to_vec())
            .with(DIGEST_HEADER, digest);
        match head {
            true => answer.with("content-length", blob.size().to_string()),
            false => answer,
        }
    }

    fn tags(&self, name: &str, n: Option<&str>, last: Option<&str>) -> Answer {
        if let Some(refused) = check_name(name) {
            return refused;
        }
        let n = match n.map(str::parse::<i64>).transpose() {
            Ok(n) => n,
            Err(_) => return Answer::error(400, ErrorCode::Unsupported, "n must be a number"),
        };
        let page = match self.registry.tags_page(name, n, last) {
            Ok(page) => page,
            Err(e) => return op_error(&e),
        };
        let list = TagListBuilder::default()
            .name(page.name)
            .tags(page.tags)
            .build();
        let body = list
            .ok()
            .and_then(|l| serde_json::to_vec(&l).ok())
            .unwrap_or_default();
        let answer = Answer::new(200, JSON, body);
        let Some(next) = page.next else {
            return answer;
        };
        let size = n.map(|n| format!("&n={n}")).unwrap_or_default();
        answer.with(
            "link",
            format!("</v2/{name}/tags/list?last={next}{size}>; rel=\"next\""),
        )
    }

    fn catalog(&self) -> Answer {
        let mut names: Vec<&str> = self
            .registry
            .repositories()
            .filter(|r| r.registry_id == self.registry.account)
            .map(|r| r.name.as_str())
            .collect();
        names.sort_unstable();
        let body = serde_json::json!({ "repositories": names });
        Answer::new(200, JSON, serde_json::to_vec(&body).unwrap_or_default())
    }
}

/// `400 NAME_INVALID` for a name ECR would refuse.
pub(super) fn check_name(name: &str) -> Option<Answer> {
    crate::model::RepositoryName::parse(name)
        .err()
        .map(|e| Answer::error(400, ErrorCode::NameInvalid, &e.to_string()))
}

/// A whole-request error of the model, as the registry API says it.
pub(super) fn op_error(e: &OpError) -> Answer {
    match e.code {
        "RepositoryNotFoundException" => Answer::error(404, ErrorCode::NameUnknown, &e.message),
        "ServerException" => Answer::error(500, ErrorCode::Unsupported, &e.message),
        _ => Answer::error(400, ErrorCode::Unsupported, &e.message),
    }
}

/// How long a pre-signed blob URL is valid: ECR's redirects are S3 pre-signed URLs whose
/// lifetime it does not document, so the same as a registry token (12 hours,
/// [`TOKEN_LIFETIME_SECONDS`](crate::model::TOKEN_LIFETIME_SECONDS)): a URL never outlives
/// the login that obtained it by more than the login itself does.
const BLOB_URL_LIFETIME_SECONDS: f64 = crate::model::TOKEN_LIFETIME_SECONDS;

/// What a pre-signed blob URL's mac covers: the repository, the digest and the expiry.
fn download_message(name: &str, digest: &str, expires: i64) -> String {
    format!("ecr-contract blob download\n{name}\n{digest}\n{expires}")
}

/// Whether `uri` is a pre-signed download URL of `name` and `digest` signed with `key`,
/// unexpired at `now`.
fn presigned(key: &TokenKey, uri: &str, name: &str, digest: &str, now: f64) -> bool {
    let query = uri.split_once('?').map_or("", |(_, q)| q);
    let expires = query_value(query, "expires").and_then(|e| e.parse::<i64>().ok());
    let (Some(expires), Some(signature)) = (expires, query_value(query, "download")) else {
        return false;
    };
    (expires as f64) > now && key.verify(&download_message(name, digest, expires), &signature)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_with_a_header_that_cannot_be_sent_becomes_a_500_not_an_empty_200() {
        let answer = Answer::new(200, "application/x\u{1}weird", b"{}".to_vec()).sendable();
        assert_eq!(answer.status, 500);
        assert!(
            answer
                .headers
                .iter()
                .all(|(_, v)| http::HeaderValue::from_str(v).is_ok())
        );
        let fine = Answer::new(200, JSON, b"{}".to_vec());
        assert_eq!(fine.clone().sendable(), fine);
    }
}
