//! The HTTP adapter's part of the `endpoint` target: arbitrary methods, paths, header names
//! and values (invalid ones included) and bodies through the router `serve::spawn` serves,
//! driven in-process (no socket) on the [`Endpoint`] the other steps use.
//!
//! It asserts that the adapter never panics and that every answer is well formed: an
//! `x-amzn-requestid`, and for a non-HEAD request a body of the API its path names: a
//! registry answer under `/v2/` (see [`registry`](super::registry)), else an AWS JSON 1.1
//! answer of the operation `X-Amz-Target` names (see [`endpoint`](super::endpoint)).

use std::sync::Arc;

use arbitrary::Arbitrary;
use axum::body::Body;
use http::{HeaderName, HeaderValue, Method, Request, Response};
use tower::ServiceExt;

use crate::serve::{BODY_TIMEOUT, Endpoint, EndpointReply, router};
use crate::wire::registry::{API_VERSION_HEADER, DIGEST_HEADER, is_registry_path};
use crate::wire::{CONTENT_TYPE, Operation};

/// Methods a request may use instead of the one it drew.
const METHODS: [&str; 7] = ["POST", "GET", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS"];

/// Paths a request may take instead of the one it drew.
const PATHS: [&str; 7] = [
    "/",
    "/v2/",
    "/v2/_catalog?n=1",
    "/v2/team/app/manifests/v1",
    "/v2/team/app/tags/list",
    "/v2/ubuntu/blobs/sha256:0000000000000000000000000000000000000000000000000000000000000000",
    "/?x-amz-target=a",
];

/// The headers of an answer the checks read, by name.
const CHECKED_HEADERS: [&str; 3] = ["content-type", API_VERSION_HEADER, DIGEST_HEADER];

/// One request as a client could put it on the wire.
#[derive(Debug, Arbitrary)]
pub(super) struct HttpRequest {
    /// An index into [`METHODS`]; past it, `custom_method`.
    method: u8,
    custom_method: String,
    /// Below 128, `custom_path`; else an index into [`PATHS`].
    path: u8,
    custom_path: String,
    /// An operation's `X-Amz-Target` and the JSON content type, set after `headers`.
    target: Option<u8>,
    /// Any names and values, valid or not.
    headers: Vec<(Vec<u8>, Vec<u8>)>,
    body: Vec<u8>,
}

/// Sends `request` through the router over `endpoint` and panics unless the answer is well
/// formed.
pub(super) fn send(endpoint: &Arc<Endpoint>, request: &HttpRequest) {
    let Some(built) = build(request) else {
        return;
    };
    let method = built.method().clone();
    let uri = built
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let operation = built
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(Operation::from_target);
    let (reply, request_id) = block_on(async {
        let app = router(Arc::clone(endpoint), BODY_TIMEOUT);
        let response = app.oneshot(built).await.unwrap_or_else(|e| match e {});
        answered(response).await
    });
    assert!(request_id, "{method} {uri}: no x-amzn-requestid");
    if method == Method::HEAD {
        return;
    }
    if is_registry_path(&uri) {
        super::registry::assert_registry_answer(method.as_str(), &uri, &reply);
    } else {
        super::endpoint::assert_well_formed(operation, &reply);
    }
}

/// The request `request` describes, or `None` when its method or path could not be put on
/// the wire at all (hyper answers those `400` before any router sees them).
fn build(request: &HttpRequest) -> Option<Request<Body>> {
    let method = match METHODS.get(usize::from(request.method)) {
        Some(name) => Method::from_bytes(name.as_bytes()).ok()?,
        None => Method::from_bytes(request.custom_method.as_bytes()).ok()?,
    };
    let path = match request.path.checked_sub(128) {
        Some(i) => PATHS[usize::from(i) % PATHS.len()],
        None => request.custom_path.as_str(),
    };
    let mut built = Request::builder()
        .method(method)
        .uri(path)
        .body(Body::from(request.body.clone()))
        .ok()?;
    let headers = built.headers_mut();
    for (name, value) in &request.headers {
        if let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(name), HeaderValue::from_bytes(value))
        {
            headers.append(name, value);
        }
    }
    if let Some(i) = request.target {
        let operation = Operation::ALL[usize::from(i) % Operation::ALL.len()];
        if let Ok(target) = HeaderValue::from_str(&operation.target()) {
            headers.insert("x-amz-target", target);
            headers.insert("content-type", HeaderValue::from_static(CONTENT_TYPE));
        }
    }
    Some(built)
}

/// `response` as an [`EndpointReply`] (with the headers the checks read), and whether it
/// carries a request id.
async fn answered(response: Response<Body>) -> (EndpointReply, bool) {
    let (parts, body) = response.into_parts();
    let headers = CHECKED_HEADERS
        .iter()
        .filter_map(|name| {
            let value = parts.headers.get(*name)?.to_str().ok()?;
            Some((*name, value.to_owned()))
        })
        .collect();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_else(|e| panic!("an answer body that cannot be read: {e}"));
    let reply = EndpointReply {
        status: parts.status.as_u16(),
        headers,
        body: body.to_vec(),
        request_id: String::new(),
        delay: None,
    };
    (reply, parts.headers.contains_key("x-amzn-requestid"))
}

thread_local! {
    /// This thread's runtime for driving the router: one per fuzzing thread, not one per
    /// input.
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap_or_else(|e| panic!("a runtime: {e}"));
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    RUNTIME.with(|runtime| runtime.block_on(future))
}
