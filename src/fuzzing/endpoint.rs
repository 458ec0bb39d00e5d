//! The `endpoint` target: a sequence of arbitrary requests of every operation into one
//! [`Endpoint`], as a client would send them. Structure-aware (each request is an `Arbitrary`
//! wire shape), steered towards the state it built (repository names from a pool, upload ids,
//! digests and tokens from earlier answers), with extreme integers and part sizes.
//!
//! Registry API requests (`/v2/...`) are among the steps, checked by [`registry`](super::registry),
//! and so are requests of any method, path, headers and body through the HTTP adapter, checked
//! by [`http`](super::http).
//!
//! It asserts that the endpoint never panics, that every answer is a well-formed AWS JSON 1.1
//! answer the decoder accepts (a clean success body for 200, an `__type`/`message` envelope
//! otherwise, 500 only for `ServerException`), and that the state stays bounded: at most
//! [`MAX_UPLOADS`] uploads per repository, each within ECR's part limits and never holding
//! more bytes than were sent.

use std::sync::{Arc, OnceLock};

use arbitrary::{Arbitrary, Unstructured};
use http::{HeaderMap, HeaderValue};
use serde_json::Value;

use crate::model::{MAX_PARTS, MAX_UPLOADS, MIN_PART_SIZE, PART_SIZE, Registry};
use crate::serve::{Endpoint, EndpointReply};
use crate::strategy::{build_registry, fixture};
use crate::wire::{self, CONTENT_TYPE, Decode, Operation};

/// The most requests one input sends.
const MAX_STEPS: usize = 32;

/// Repository names a step may use instead of the one it drew: the fixture's, a new one, and
/// invalid ones.
const NAMES: [&str; 6] = ["team/app", "ubuntu", "locked", "fuzz/new", "a", "UPPER"];

/// Integers a step may put in `partFirstByte`, `partLastByte` or `maxResults`.
const EXTREMES: [i64; 10] = [
    i64::MIN,
    i64::MIN + 1,
    -1,
    0,
    1,
    99,
    1000,
    1001,
    i64::MAX - 1,
    i64::MAX,
];

/// Part sizes at and around ECR's limits. Megabytes in a request make an execution slow, so
/// a step asks for one with a rare `u16` value, and an input gets one at most.
const PART_SIZES: [usize; 4] = [
    MIN_PART_SIZE - 1,
    MIN_PART_SIZE,
    PART_SIZE as usize,
    PART_SIZE as usize + 1,
];

/// One request of any operation.
#[derive(Debug, Arbitrary)]
enum AnyRequest {
    BatchGetImage(wire::BatchGetImageRequest),
    CreateRepository(wire::CreateRepositoryRequest),
    InitiateLayerUpload(wire::InitiateLayerUploadRequest),
    UploadLayerPart(wire::UploadLayerPartRequest),
    CompleteLayerUpload(wire::CompleteLayerUploadRequest),
    PutImage(wire::PutImageRequest),
    BatchDeleteImage(wire::BatchDeleteImageRequest),
    DeleteRepository(wire::DeleteRepositoryRequest),
    DescribeRepositories(wire::DescribeRepositoriesRequest),
    ListImages(wire::ListImagesRequest),
    DescribeImages(wire::DescribeImagesRequest),
    BatchCheckLayerAvailability(wire::BatchCheckLayerAvailabilityRequest),
    GetAuthorizationToken(wire::GetAuthorizationTokenRequest),
    /// Any bytes as the body of an operation, or of an unknown one.
    Raw(Option<u8>, Vec<u8>),
    /// A registry API request (`/v2/...`), checked by [`super::registry`].
    Registry(super::registry::RegistryRequest),
    /// Any request through the HTTP adapter, checked by [`super::http`].
    Http(super::http::HttpRequest),
}

/// One step: a request and how to steer it towards the state built so far.
#[derive(Debug, Arbitrary)]
struct Step {
    request: AnyRequest,
    /// A name from [`NAMES`] for `repositoryName` (see [`steered`]).
    name: u8,
    /// An upload id seen earlier for `uploadId`.
    upload: u8,
    /// A digest seen earlier for the digests the request names.
    digest: u8,
    /// A token seen earlier for `nextToken`.
    token: u8,
    /// Extreme values for the integer members.
    integers: [u8; 3],
    /// A part of one of [`PART_SIZES`] (for the top four values) for `layerPartBlob`.
    blob: u16,
}

/// What earlier answers named, for later steps to use.
#[derive(Debug, Default)]
struct Seen {
    uploads: Vec<String>,
    digests: Vec<String>,
    tokens: Vec<String>,
    part_bytes_sent: usize,
    big_part_sent: bool,
}

impl Seen {
    fn learn(&mut self, value: &Value) {
        match value {
            Value::Object(map) => {
                for (key, v) in map {
                    let list = match key.as_str() {
                        "uploadId" => Some(&mut self.uploads),
                        "imageDigest" | "layerDigest" => Some(&mut self.digests),
                        "nextToken" => Some(&mut self.tokens),
                        _ => None,
                    };
                    if let (Some(list), Some(s)) = (list, v.as_str())
                        && !list.iter().any(|x| x == s)
                    {
                        if list.len() == 16 {
                            list.remove(0);
                        }
                        list.push(s.to_owned());
                    }
                    self.learn(v);
                }
            }
            Value::Array(items) => items.iter().for_each(|v| self.learn(v)),
            _ => {}
        }
    }
}

/// The body of `fuzz/fuzz_targets/endpoint.rs`: see the module documentation.
pub fn endpoint(data: &[u8]) {
    static START: OnceLock<Registry> = OnceLock::new();
    let registry = START
        .get_or_init(|| build_registry(&fixture().calls()))
        .clone();
    let endpoint = Arc::new(Endpoint::from_registry(registry));
    let token = registry_token(&endpoint);
    let mut u = Unstructured::new(data);
    let mut seen = Seen::default();
    for _ in 0..MAX_STEPS {
        let Ok(step) = Step::arbitrary(&mut u) else {
            break;
        };
        if let AnyRequest::Registry(request) = &step.request {
            super::registry::send(&endpoint, request, &token, &NAMES);
            continue;
        }
        if let AnyRequest::Http(request) = &step.request {
            super::http::send(&endpoint, request);
            continue;
        }
        let (operation, body) = encode(&step, &mut seen);
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static(CONTENT_TYPE));
        if let Some(op) = operation
            && let Ok(target) = HeaderValue::from_str(&op.target())
        {
            headers.insert("x-amz-target", target);
        }
        let reply = endpoint.handle("POST", "/", &headers, &body);
        assert_well_formed(operation, &reply);
        if reply.status == 200 {
            seen.learn(&serde_json::from_slice(&reply.body).unwrap_or(Value::Null));
        }
        if u.is_empty() {
            break;
        }
    }
    assert_bounded(&endpoint.registry(), seen.part_bytes_sent);
}

/// The `Authorization` value of a token the endpoint's GetAuthorizationToken hands out now
/// (signed with the endpoint's key, so asked of the endpoint itself).
fn registry_token(endpoint: &Endpoint) -> String {
    let mut headers = HeaderMap::new();
    if let Ok(target) = HeaderValue::from_str(&Operation::GetAuthorizationToken.target()) {
        headers.insert("x-amz-target", target);
    }
    let reply = endpoint.handle("POST", "/", &headers, b"{}");
    let token = wire::decode_body::<wire::GetAuthorizationTokenResponse>(&reply.body)
        .ok()
        .and_then(|r| r.value.authorization_data)
        .and_then(|d| d.into_iter().next())
        .and_then(|d| d.authorization_token)
        .unwrap_or_default();
    format!("Basic {token}")
}

/// The operation and body a step sends, steered by its choices.
fn encode(step: &Step, seen: &mut Seen) -> (Option<Operation>, Vec<u8>) {
    use wire::Input;
    fn value<I: Input>(input: &I) -> (Option<Operation>, Value) {
        (
            Some(I::OPERATION),
            serde_json::to_value(input).unwrap_or(Value::Null),
        )
    }
    let (operation, mut body) = match &step.request {
        AnyRequest::BatchGetImage(r) => value(r),
        AnyRequest::CreateRepository(r) => value(r),
        AnyRequest::InitiateLayerUpload(r) => value(r),
        AnyRequest::UploadLayerPart(r) => value(r),
        AnyRequest::CompleteLayerUpload(r) => value(r),
        AnyRequest::PutImage(r) => value(r),
        AnyRequest::BatchDeleteImage(r) => value(r),
        AnyRequest::DeleteRepository(r) => value(r),
        AnyRequest::DescribeRepositories(r) => value(r),
        AnyRequest::ListImages(r) => value(r),
        AnyRequest::DescribeImages(r) => value(r),
        AnyRequest::BatchCheckLayerAvailability(r) => value(r),
        AnyRequest::GetAuthorizationToken(r) => value(r),
        AnyRequest::Registry(_) | AnyRequest::Http(_) => return (None, Vec::new()),
        AnyRequest::Raw(op, bytes) => {
            let op = op.and_then(|i| Operation::ALL.get(usize::from(i)).copied());
            return (op, bytes.clone());
        }
    };
    steer(step, seen, &mut body);
    let big = step.blob.checked_sub(u16::MAX - 3);
    if let Some(size) = big.and_then(|i| PART_SIZES.get(usize::from(i)))
        && !seen.big_part_sent
        && body.get("layerPartBlob").is_some()
    {
        seen.big_part_sent = true;
        body["layerPartBlob"] =
            serde_json::to_value(wire::Blob(vec![0x5a; *size])).unwrap_or_default();
    }
    if let Some(blob) = body.get("layerPartBlob").and_then(Value::as_str) {
        seen.part_bytes_sent += blob.len() / 4 * 3;
    }
    (operation, serde_json::to_vec(&body).unwrap_or_default())
}

/// Replaces members of `body` by the step's choices.
fn steer(step: &Step, seen: &Seen, body: &mut Value) {
    let Some(map) = body.as_object_mut() else {
        return;
    };
    let pick = |list: &[String], i: u8| steered(i, list.len()).map(|k| list[k].clone());
    if let Some(name) = steered(step.name, NAMES.len()).map(|k| NAMES[k]) {
        map.insert("repositoryName".into(), Value::from(name));
    }
    if let Some(id) = pick(&seen.uploads, step.upload) {
        map.insert("uploadId".into(), Value::from(id));
    }
    if let Some(token) = pick(&seen.tokens, step.token) {
        map.insert("nextToken".into(), Value::from(token));
    }
    if let Some(digest) = pick(&seen.digests, step.digest) {
        if map.contains_key("layerDigests") {
            map.insert("layerDigests".into(), Value::from(vec![digest.clone()]));
        }
        if map.contains_key("imageIds") {
            map.insert(
                "imageIds".into(),
                serde_json::json!([{"imageDigest": digest}]),
            );
        }
    }
    for (member, choice) in ["partFirstByte", "partLastByte", "maxResults"]
        .into_iter()
        .zip(step.integers)
    {
        if let Some(n) = steered(choice, EXTREMES.len()).map(|k| EXTREMES[k]) {
            map.insert(member.into(), Value::from(n));
        }
    }
}

/// For a choice byte of 128 or more, an index into a list of `len`; below, `None` (the drawn
/// value stays): half the steps are steered, half explore.
fn steered(choice: u8, len: usize) -> Option<usize> {
    (choice >= 128 && len > 0).then(|| usize::from(choice - 128) % len)
}

/// Panics unless `reply` is an AWS JSON 1.1 answer of `operation` the decoder accepts.
pub(super) fn assert_well_formed(operation: Option<Operation>, reply: &EndpointReply) {
    macro_rules! decode {
        ($($op:ident => $output:ty,)*) => {
            match operation {
                $(Some(Operation::$op) => check::<$output>(reply),)*
                _ => check::<wire::BatchGetImageResponse>(reply),
            }
        };
    }
    decode! {
        BatchGetImage => wire::BatchGetImageResponse,
        CreateRepository => wire::CreateRepositoryResponse,
        InitiateLayerUpload => wire::InitiateLayerUploadResponse,
        UploadLayerPart => wire::UploadLayerPartResponse,
        CompleteLayerUpload => wire::CompleteLayerUploadResponse,
        PutImage => wire::PutImageResponse,
        BatchDeleteImage => wire::BatchDeleteImageResponse,
        DeleteRepository => wire::DeleteRepositoryResponse,
        DescribeRepositories => wire::DescribeRepositoriesResponse,
        ListImages => wire::ListImagesResponse,
        DescribeImages => wire::DescribeImagesResponse,
        BatchCheckLayerAvailability => wire::BatchCheckLayerAvailabilityResponse,
        GetAuthorizationToken => wire::GetAuthorizationTokenResponse,
    }
}

fn check<O: Decode + std::fmt::Debug>(reply: &EndpointReply) {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static(CONTENT_TYPE));
    let text = || String::from_utf8_lossy(&reply.body).into_owned();
    match wire::parse_response::<O>(reply.status, &headers, &reply.body) {
        Ok(wire::Reply::Success(decoded)) => {
            assert_eq!(reply.status, 200, "a success with status {}", reply.status);
            assert!(
                decoded.is_clean(),
                "a success body with shape issues: {decoded:?}"
            );
        }
        Ok(wire::Reply::Error(e)) => {
            let code = e
                .code
                .as_deref()
                .unwrap_or_else(|| panic!("an error without __type: {}", text()));
            assert_eq!(
                e.code_source,
                Some(wire::CodeSource::BodyType),
                "{}",
                text()
            );
            assert!(
                e.message.is_some(),
                "an error without a message: {}",
                text()
            );
            let status = if code == "ServerException" { 500 } else { 400 };
            assert_eq!(reply.status, status, "{code} with status {}", reply.status);
        }
        Err(e) => panic!("an answer the decoder refuses ({e}): {}", text()),
    }
}

/// Panics unless the uploads in progress are within the model's bounds and hold no more
/// bytes than the parts sent.
fn assert_bounded(registry: &Registry, part_bytes_sent: usize) {
    let mut held = 0;
    for repository in registry.repositories() {
        assert!(
            repository.uploads.len() <= MAX_UPLOADS,
            "{} uploads",
            repository.uploads.len()
        );
        for upload in repository.uploads.values() {
            assert!(upload.parts.len() <= MAX_PARTS);
            assert!(upload.parts.iter().all(|p| p.size() as i64 <= PART_SIZE));
            held += upload.received();
        }
    }
    assert!(
        held <= part_bytes_sent,
        "{held} bytes held, {part_bytes_sent} sent"
    );
}
