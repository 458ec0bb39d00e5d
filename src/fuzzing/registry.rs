//! The registry API's part of the `endpoint` target: arbitrary `/v2/...` requests (routes,
//! names, references, queries, `Accept` lines, credentials) into the same [`Endpoint`].
//!
//! It asserts that the endpoint never panics, never answers 5xx, and that every answer is a
//! registry answer: the version header, no body on HEAD, a distribution error envelope on
//! every error but the 401, and a `Docker-Content-Digest` that is the body's sha256.

use arbitrary::Arbitrary;
use http::{HeaderMap, HeaderValue};

use crate::model::ImageDigest;
use crate::serve::{Endpoint, EndpointReply};
use crate::wire::registry::{API_VERSION_HEADER, DIGEST_HEADER, parse_registry_error};

/// Paths a request may take instead of the one it drew.
const ROUTES: [&str; 6] = [
    "/v2/",
    "/v2/_catalog",
    "/v2/{name}/manifests/{reference}",
    "/v2/{name}/blobs/{reference}",
    "/v2/{name}/tags/list?n={query}&last={query}",
    "/v2/{name}/../{reference}",
];

/// Methods, the last ones unsupported.
const METHODS: [&str; 4] = ["GET", "HEAD", "PUT", "DELETE"];

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
}

/// Sends `request` (with `token`, the `Authorization` value of a valid token, when it asks
/// for it) and panics unless the answer is a well-formed registry answer.
pub(super) fn send(endpoint: &Endpoint, request: &RegistryRequest, token: &str, names: &[&str]) {
    let name = match names.get(usize::from(request.method >> 2) % (names.len() + 1)) {
        Some(name) => (*name).to_owned(),
        None => request.name.clone(),
    };
    let template = ROUTES[usize::from(request.route) % ROUTES.len()];
    let uri = template
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
    let reply = endpoint.handle(method, &uri, &headers, b"");
    assert_registry_answer(method, &uri, &reply);
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
        assert!(
            parse_registry_error(&reply.body).is_ok(),
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
