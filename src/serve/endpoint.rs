//! The embedded server's request handling, without HTTP: headers and body in, status and body
//! out. Shared by the HTTP server and the wiremock responder.

use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};

use http::HeaderMap;
use serde::Serialize;

use crate::model::{
    JoinedUpload, OpError, PreparedImage, PreparedPart, Profile, Registry, TokenKey,
    batch_get_image,
};
use crate::wire::{self, Decoded, Operation, Request, RequestError};

use super::auth::{process_key, verify};
use super::fault::{Fault, Faults, When};
use super::push::{self, Push, PushAs};
use super::registry_api::{self, Pull};
use crate::wire::Credentials;

/// An answer: HTTP status, body, and the request id to send as `x-amzn-RequestId`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointReply {
    /// HTTP status.
    pub status: u16,
    /// Headers besides `x-amzn-RequestId`: `Content-Type` always; the registry API's own
    /// (`Docker-Content-Digest`, `WWW-Authenticate`, `Location`, ...) on its answers.
    pub headers: Vec<(&'static str, String)>,
    /// The body: AWS JSON 1.1, or a registry API answer.
    pub body: Vec<u8>,
    /// The request id.
    pub request_id: String,
    /// How long to wait before sending it (a [`Fault::Delay`]).
    pub delay: Option<std::time::Duration>,
}

/// The reference model behind the AWS JSON 1.1 protocol.
#[derive(Debug)]
pub struct Endpoint {
    registry: RwLock<Registry>,
    profile: Profile,
    credentials: Option<Credentials>,
    clock: fn() -> f64,
    requests: AtomicU64,
    faults: Faults,
    blob_redirect: bool,
    push_as: PushAs,
    key: TokenKey,
}

fn system_clock() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

impl Endpoint {
    /// An endpoint over `registry`, answering by `profile`; with `credentials`, requests must
    /// be signed with them.
    pub fn new(registry: Registry, profile: Profile, credentials: Option<Credentials>) -> Self {
        Self {
            registry: RwLock::new(registry),
            profile,
            credentials,
            clock: system_clock,
            requests: AtomicU64::new(0),
            faults: Faults::default(),
            blob_redirect: false,
            push_as: PushAs::Ecr,
            key: process_key(),
        }
    }

    /// An endpoint over `registry` (built with [`Registry::builder`], say), answering by the
    /// default profile, without signature checks.
    pub fn from_registry(registry: Registry) -> Self {
        Self::new(registry, Profile::default(), None)
    }

    /// Answers registry-API blob requests with a `307` to a pre-signed URL, as ECR does,
    /// rather than with the bytes.
    pub fn with_blob_redirect(mut self, redirect: bool) -> Self {
        self.blob_redirect = redirect;
        self
    }

    /// Answers registry-API pushes as `push_as` says: ECR's quirks (the default) or the
    /// distribution spec's answers.
    pub fn with_push_as(mut self, push_as: PushAs) -> Self {
        self.push_as = push_as;
        self
    }

    /// Makes `fault` happen on the requests of `operation` that `when` picks, counted from now.
    ///
    /// ```
    /// use ecr_contract::serve::{Config, Fault, first};
    /// use ecr_contract::wire::Operation;
    /// let endpoint = Config::default().endpoint();
    /// // The first two BatchGetImage requests are throttled; the third is answered.
    /// endpoint.fault_on(Operation::BatchGetImage, first(2), Fault::Throttle);
    /// ```
    pub fn fault_on(&self, operation: Operation, when: When, fault: Fault) -> &Self {
        self.faults.add(Some(operation), when, fault);
        self
    }

    /// Makes `fault` happen on the requests of any operation that `when` picks.
    pub fn fault_on_any(&self, when: When, fault: Fault) -> &Self {
        self.faults.add(None, when, fault);
        self
    }

    /// Removes every fault.
    pub fn clear_faults(&self) {
        self.faults.clear();
    }

    /// How many requests of `operation` it has received, faulted or not: what a client's
    /// retries add up to.
    pub fn requests(&self, operation: Operation) -> u64 {
        self.faults.seen(operation)
    }

    /// A copy of the current state.
    pub fn registry(&self) -> Registry {
        self.registry
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Answers one request: under `/v2/` by the registry API, else by the AWS JSON API.
    /// Never panics on any input.
    pub fn handle(
        &self,
        method: &str,
        uri: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> EndpointReply {
        let n = self.requests.fetch_add(1, Ordering::Relaxed) + 1;
        let request_id = format!("00000000-0000-4000-8000-{n:012x}");
        if wire::registry::is_registry_path(uri) {
            let answer = self.registry_answer(method, uri, headers, body);
            return EndpointReply {
                status: answer.status,
                headers: answer.headers,
                body: answer.body,
                request_id,
                delay: None,
            };
        }
        let operation = headers
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .and_then(Operation::from_target);
        let fault = self.faults.next(operation);
        let answer = match fault.and_then(Fault::refusal) {
            Some(refusal) => Err(refusal),
            None => self.answer(method, uri, headers, body),
        };
        let (status, mut body) = match answer {
            Ok(body) => (200, body),
            Err(e) => (e.status(), wire::encode_error(e.code, &e.message)),
        };
        if fault == Some(Fault::Truncate) {
            body.truncate(body.len() / 2);
        }
        EndpointReply {
            status,
            headers: vec![("content-type", wire::CONTENT_TYPE.to_owned())],
            body,
            request_id,
            delay: match fault {
                Some(Fault::Delay(delay)) => Some(delay),
                _ => None,
            },
        }
    }

    fn answer(
        &self,
        method: &str,
        uri: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Vec<u8>, OpError> {
        let now = (self.clock)();
        if let Some(credentials) = &self.credentials {
            let time = std::time::Duration::try_from_secs_f64(now)
                .map_or(std::time::UNIX_EPOCH, |d| std::time::UNIX_EPOCH + d);
            verify(credentials, time, method, uri, headers, body)?;
        }
        let request = wire::decode_request(headers, body).map_err(refusal)?;
        match request {
            Request::BatchGetImage(r) => {
                let value = clean(r)?;
                let registry = self
                    .registry
                    .read()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                json(batch_get_image(&registry, &value).answer(&self.profile))
            }
            Request::CreateRepository(r) => json(self.write().create_repository(&clean(r)?, now)),
            Request::InitiateLayerUpload(r) => json(self.write().initiate_layer_upload(&clean(r)?)),
            // The heavy part of a write (copying a part, joining and digesting an upload,
            // reading a manifest) is done before taking the lock, so that it does not stall
            // every other request.
            Request::UploadLayerPart(r) => {
                let request = clean(r)?;
                let part = PreparedPart::of(&request);
                json(self.write().upload_prepared_part(&request, part))
            }
            Request::CompleteLayerUpload(r) => {
                let request = clean(r)?;
                let parts = self.read().upload_parts(&request);
                let joined = parts.map(|p| JoinedUpload::of(&p));
                json(self.write().complete_joined_upload(&request, joined))
            }
            Request::PutImage(r) => {
                let request = clean(r)?;
                let image = PreparedImage::of(&request);
                json(self.write().put_prepared_image(&request, image, now))
            }
            Request::BatchDeleteImage(r) => json(self.write().batch_delete_image(&clean(r)?)),
            Request::DeleteRepository(r) => json(self.write().delete_repository(&clean(r)?)),
            Request::DescribeRepositories(r) => json(self.read().describe_repositories(&clean(r)?)),
            Request::ListImages(r) => json(self.read().list_images(&clean(r)?)),
            Request::DescribeImages(r) => json(self.read().describe_images(&clean(r)?)),
            Request::BatchCheckLayerAvailability(r) => {
                json(self.read().batch_check_layer_availability(&clean(r)?))
            }
            Request::GetAuthorizationToken(r) => json(self.read().get_authorization_token(
                &clean(r)?,
                now,
                &self.key,
            )),
        }
    }

    /// A registry-API request: the push path's when [`push::takes`] it, else the pull path's.
    fn registry_answer(
        &self,
        method: &str,
        uri: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> registry_api::Answer {
        let now = (self.clock)();
        let registry = self.read();
        let pull = Pull {
            registry: &registry,
            profile: &self.profile,
            blob_redirect: self.blob_redirect,
            now,
            key: &self.key,
        };
        if !push::takes(method, uri) {
            return pull.answer(method, uri, headers);
        }
        let refused = pull.authenticate(headers);
        drop(registry);
        let push = Push {
            state: &self.registry,
            push_as: self.push_as,
            now,
        };
        let answer = match refused {
            Some(refused) => refused,
            None => push.answer(method, uri, headers, body).sendable(),
        };
        match method {
            "HEAD" => registry_api::Answer {
                body: Vec::new(),
                ..answer
            },
            _ => answer,
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Registry> {
        self.registry
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Registry> {
        self.registry
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The error a real endpoint gives for a request it cannot read.
fn refusal(e: RequestError) -> OpError {
    match e {
        RequestError::MissingTarget(_) | RequestError::UnknownOperation(_) => {
            OpError::new("UnknownOperationException", e.to_string())
        }
        RequestError::TooLarge(_) | RequestError::Body(_) => {
            OpError::new("SerializationException", e.to_string())
        }
    }
}

/// A request whose members all have their modelled JSON types; unknown members are ignored,
/// as AWS services do.
fn clean<T>(decoded: Decoded<T>) -> Result<T, OpError> {
    match decoded.shape_issues.first() {
        None => Ok(decoded.value),
        Some(issue) => Err(OpError::new(
            "SerializationException",
            format!(
                "{} must be {}, found {}",
                issue.path, issue.expected, issue.found
            ),
        )),
    }
}

fn json<T: Serialize>(output: Result<T, OpError>) -> Result<Vec<u8>, OpError> {
    output.map(|o| serde_json::to_vec(&o).unwrap_or_else(|_| b"{}".to_vec()))
}
