//! The registry API's part of the `endpoint` target: arbitrary `/v2/...` requests (routes,
//! names, references, queries, `Accept` lines, credentials) into the same [`Endpoint`], pushes
//! included (upload starts, chunks with any `Content-Range`, extreme ones among them, into an
//! upload started for the purpose, completions, manifests with any body and `Content-Type`).
//!
//! It asserts that the endpoint never panics, never answers 5xx, and that every answer is a
//! registry answer: the version header, no body on HEAD, a distribution error envelope on
//! every error but the 401 (its codes the distribution spec's, or ECR's `TAG_INVALID`), and a
//! `Docker-Content-Digest` that is the body's sha256.

use arbitrary::Arbitrary;
use http::{HeaderMap, HeaderValue};

use crate::model::ImageDigest;
use crate::serve::{Endpoint, EndpointReply};
use crate::wire::registry::{
    API_VERSION_HEADER, DIGEST_HEADER, ErrorCode, TAG_INVALID, registry_error_codes,
};

/// Paths a request may take instead of the one it drew; `{upload}` is the location of an
/// upload started just before.
const ROUTES: [&str; 10] = [
    "/v2/",
    "/v2/_catalog",
    "/v2/{name}/manifests/{reference}",
    "/v2/{name}/blobs/{reference}",
    "/v2/{name}/tags/list?n={query}&last={query}",
    "/v2/{name}/../{reference}",
    "/v2/{name}/blobs/uploads/?digest={query}",
    "/v2/{name}/blobs/uploads/?mount={reference}&from={query}",
    "{upload}?digest={query}",
    "/v2/{name}/blobs/uploads/{reference}",
];

/// Methods: the pull path's, then the push path's.
const METHODS: [&str; 6] = ["GET", "HEAD", "PUT", "DELETE", "POST", "PATCH"];

/// One registry API request.
#[derive(Debug, Arbitrary)]
pub(super) struct RegistryRequest {
    method: u8,
    route: u8,
    name: String,
    reference: String,
    query: String,
    accept: Vec<String>,
    /// 0: no credentials; 1: the token GetAuthorizationToken hands out; else `credentials`.
    auth: u8,
    credentials: String,
    /// The request body: a chunk, a blob, a manifest.
    body: Vec<u8>,
    /// 0: no `Content-Range`; 1: `range` as drawn; 2: the body's own range from `range.0`;
    /// else `range_text`.
    range_mode: u8,
    range: (u64, u64),
    range_text: String,
    content_type: String,
}

/// Sends `request` (with `token`, the `Authorization` value of a valid token, when it asks
/// for it) and panics unless the answer is a well-formed registry answer.
pub(super) fn send(endpoint: &Endpoint, request: &RegistryRequest, token: &str, names: &[&str]) {
    let name = match names.get(usize::from(request.method >> 2) % (names.len() + 1)) {
        Some(name) => (*name).to_owned(),
        None => request.name.clone(),
    };
    let template = ROUTES[usize::from(request.route) % ROUTES.len()];
    let upload = match template.contains("{upload}") {
        true => start_upload(endpoint, &name, token),
        false => String::new(),
    };
    let uri = template
        .replace("{upload}", &upload)
        .replace("{name}", &name)
        .replace("{reference}", &request.reference)
        .replace("{query}", &request.query);
    let method = METHODS[usize::from(request.method) % METHODS.len()];
    let mut headers = HeaderMap::new();
    for line in &request.accept {
        if let Ok(value) = HeaderValue::from_str(line) {
            headers.append(http::header::ACCEPT, value);
        }
    }
    let authorization = match request.auth {
        0 => None,
        1 => Some(token.to_owned()),
        _ => Some(request.credentials.clone()),
    };
    if let Some(value) = authorization.and_then(|a| HeaderValue::from_str(&a).ok()) {
        headers.insert(http::header::AUTHORIZATION, value);
    }
    let (first, last) = request.range;
    let range = match request.range_mode {
        0 => None,
        1 => Some(format!("{first}-{last}")),
        2 => Some(format!(
            "{first}-{}",
            first
                .saturating_add(request.body.len() as u64)
                .saturating_sub(1)
        )),
        _ => Some(request.range_text.clone()),
    };
    if let Some(value) = range.and_then(|r| HeaderValue::from_str(&r).ok()) {
        headers.insert(http::header::CONTENT_RANGE, value);
    }
    if let Ok(value) = HeaderValue::from_str(&request.content_type) {
        headers.insert(http::header::CONTENT_TYPE, value);
    }
    let reply = endpoint.handle(method, &uri, &headers, &request.body);
    assert_registry_answer(method, &uri, &reply);
}

/// The location of an upload started in `name` with `token`, or a path that names none when
/// the start is refused (an absent repository, say).
fn start_upload(endpoint: &Endpoint, name: &str, token: &str) -> String {
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_str(token) {
        headers.insert(http::header::AUTHORIZATION, value);
    }
    let uri = format!("/v2/{name}/blobs/uploads/");
    let reply = endpoint.handle("POST", &uri, &headers, b"");
    assert_registry_answer("POST", &uri, &reply);
    reply
        .headers
        .iter()
        .find(|(n, _)| *n == "location")
        .map_or_else(
            || format!("/v2/{name}/blobs/uploads/none"),
            |(_, v)| v.clone(),
        )
}

/// Panics unless `reply` is a well-formed registry answer to `method` on `uri` (any answer,
/// outside `/v2/`).
pub(super) fn assert_registry_answer(method: &str, uri: &str, reply: &EndpointReply) {
    if !crate::wire::registry::is_registry_path(uri) {
        return;
    }
    let header = |name: &str| {
        reply
            .headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    };
    let text = || String::from_utf8_lossy(&reply.body).into_owned();
    assert!(
        reply.status < 500,
        "{method} {uri}: HTTP {}: {}",
        reply.status,
        text()
    );
    assert!(
        header(API_VERSION_HEADER).is_some(),
        "{method} {uri}: no {API_VERSION_HEADER}"
    );
    if method == "HEAD" {
        assert!(reply.body.is_empty(), "{method} {uri}: a body");
    }
    if reply.status >= 400 && reply.status != 401 && method != "HEAD" {
        let codes = registry_error_codes(&reply.body);
        let known = |code: &String| {
            code == TAG_INVALID
                || serde_json::from_value::<ErrorCode>(serde_json::Value::String(code.clone()))
                    .is_ok()
        };
        assert!(
            !codes.is_empty() && codes.iter().all(known),
            "{method} {uri}: HTTP {} without the error envelope: {}",
            reply.status,
            text()
        );
    }
    if let Some(digest) = header(DIGEST_HEADER)
        && method == "GET"
        && uri.contains("/manifests/")
    {
        assert_eq!(
            digest,
            ImageDigest::of(&reply.body).as_str(),
            "{method} {uri}"
        );
    }
}
